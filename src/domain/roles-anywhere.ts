/**
 * Every IAM Roles Anywhere limit and rule constant pki relies on, in one place (the reference's section numbers in
 * brackets). Lint, issuance, preview, CRL generation, rotation, credential signing and the emulator read them here;
 * nothing else in `src/` spells these numbers. Pure data: no I/O, no x509 imports.
 */
import type { KeyType } from '../crypto/keys.js';

/**
 * Key types Roles Anywhere documents as accepted (§1.1, §1.4: RSA, EC P-256/P-384, ML-DSA-44/65/87 since February
 * 2026; P-521 is UNCONFIRMED). ML-DSA is documented for the workload key (AWS4-X509-MLDSA request signatures); ML-DSA
 * CA keys, i.e. ML-DSA-signed certificates and CRLs, are UNCONFIRMED (`pki lint` warns RA_MLDSA_CERTIFICATE).
 */
export const ROLES_ANYWHERE_KEY_TYPES: readonly KeyType[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'];

/** Certificates in one trust anchor's CERTIFICATE_BUNDLE (§2.3, §8 quotas: "Certificates per trust anchor"). */
export const MAX_CAS_PER_ANCHOR = 2;

/** CRLs imported per trust anchor (§8 quotas); the two slots map onto the two bundle certificates (§3.4). */
export const MAX_CRLS_PER_ANCHOR = 2;

/** Certificates in X-Amz-X509-Chain (§1.5: "maximum depth of 5"): keep leaf + at most 5 intermediates. */
export const MAX_CHAIN_CERTIFICATES = 5;

/** ImportCrl's crlData: 1-300,000 bytes of PEM (§3.2). */
export const CRL_DATA_MAX_BYTES = 300_000;

/** Where pki starts warning about a CRL's size: this fraction of its budget. */
export const CRL_SIZE_WARNING_FRACTION = 0.8;

/** x509CertificateData in the current service model: at most 16,000 characters (§2.2; 8,000 in older models). */
export const BUNDLE_MAX_CHARS = 16_000;
/** The older model revision's x509CertificateData limit (§2.2), for portability checks. */
export const BUNDLE_MAX_CHARS_OLD_MODEL = 8_000;

/** STS session tags derived from a certificate (§6.2): key 1-128 characters. */
export const SESSION_TAG_KEY_MAX = 128;
/** STS session tag values: 0-256 characters. */
export const SESSION_TAG_VALUE_MAX = 256;
/** STS session tag characters: letters, spaces, digits and _ . : / = + - @ (§6.2). */
export const SESSION_TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/** At most this many session tags in one session. */
export const MAX_SESSION_TAGS = 50;

/** CreateSession's roleSessionName (§1.6, the STS model): 2-64 characters of [\w+=,.@-]. */
export const ROLE_SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/** SourceIdentity from a CN (§1.7): "CN=" + CN while the CN has at most this many characters ... */
export const SOURCE_IDENTITY_PREFIXED_CN_MAX = 61;
/** ... the bare CN up to this many; beyond it the service's behaviour is not documented. */
export const SOURCE_IDENTITY_MAX = 64;
