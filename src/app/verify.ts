/** `pki verify`: RFC 5280 path validation as IAM Roles Anywhere performs it, offline. */
import { PkiError } from '../errors.js';
import type { Deps } from '../ports.js';
import type { CrlDocument, InputDocument } from './documents.js';
import { parseCertificate, readCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { decodeCrl } from '../x509/crl.js';
import { validatePath, type PathFailure } from '../x509/path.js';
import { leafRefusal } from './lint.js';
import { decodePemBlocks } from '../asn1/pem.js';

function certificates(doc: InputDocument, flag: string): ParsedCertificate[] {
  const { name: file, data } = doc;
  if (data[0] === 0x30) return [parseCertificate(data, file)];
  const certs = decodePemBlocks(data, file).filter((b) => b.label === 'CERTIFICATE').map((b) => parseCertificate(b.der, file));
  if (!certs.length) throw new PkiError('CRYPTO_BAD_PEM', `${flag} ${file}: no CERTIFICATE`, { details: { file } });
  return certs;
}

/** The Roles Anywhere leaf rules (reference §1.2), checked once the path is valid: `pki lint`'s leaf errors. */
function leafRules(leaf: ParsedCertificate, at: Date): PathFailure | undefined {
  const f = leafRefusal(leaf, at);
  return f && { check: f.code === 'RA_LEAF_NO_DIGITAL_SIGNATURE' ? 'key-usage' : 'ca', certificate: leaf.subjectDn || '(empty subject)', message: `${f.message} (${f.code})` };
}

export interface VerifyInput {
  /** The certificate to validate (PEM or DER). */
  cert: InputDocument;
  /** Intermediates (PEM bundle or one DER certificate). */
  chain?: InputDocument;
  /** The trust anchor's certificates: every one is a trust anchor. */
  anchorBundle: InputDocument;
  crls?: readonly CrlDocument[];
  at?: string;
  rfc5280?: boolean;
  allowWeakSignatures?: boolean;
}

export async function verifyCertificate(deps: Deps, input: VerifyInput) {
  let at = deps.now();
  if (input.at !== undefined) {
    at = new Date(input.at);
    if (Number.isNaN(at.getTime())) throw new PkiError('USAGE_BAD_TIME', `input.at "${input.at}" is not a date (e.g. 2027-01-01T00:00:00Z)`, { details: { input: 'at' } });
  }
  const leaf = readCertificate(input.cert.data, input.cert.name);
  const chain = input.chain ? certificates(input.chain, 'input.chain') : [];
  const anchors = certificates(input.anchorBundle, 'input.anchorBundle');
  // Every CRL of every --crl file (a PEM file may hold several, as openssl -CRLfile reads them).
  const crls = (input.crls ?? []).flatMap((f) => f.ders.map((der, i, all) => decodeCrl(der, all.length > 1 ? `${f.name} (CRL ${i + 1})` : f.name)));
  const roles = !input.rfc5280;
  const r = validatePath(leaf, chain, anchors, crls, { at, rejectWeakSignatures: !input.allowWeakSignatures, crlCheck: 'given', ...(roles ? { maxIntermediates: 5 } : {}) });
  const failure = r.ok ? (roles ? leafRules(leaf, at) : undefined) : r.failure;
  const path = (r.path ?? []).map((c) => c.subjectDn);
  return { valid: !failure, at: at.toISOString(), mode: roles ? 'roles-anywhere' : 'rfc5280', path, failure: failure ?? null, exitCode: failure ? 11 : 0 };
}
