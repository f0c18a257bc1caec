/**
 * Certification path validation as IAM Roles Anywhere performs it (reference §1.1, §1.5, §3.4): every certificate of
 * the trust-anchor bundle is a trust anchor; the path is built from the leaf through the given intermediates; each
 * link's name chaining and signature, each certificate's validity, each issuer's CA flag, keyCertSign and pathLen
 * (self-issued intermediates not counted), unknown critical extensions, and revocation by the CRLs given for a
 * certificate's issuer (signature, cRLSign, thisUpdate/nextUpdate). Used by `pki verify` and by the emulator's
 * CreateSession, so both judge alike.
 *
 * Name constraints (directoryName, dNSName, rfc822Name, URI, iPAddress; other forms refused when constrained) and
 * certificate policies (§6.1 policy tree) are enforced; a CRL's issuingDistributionPoint limits what it covers;
 * indirect CRLs (cRLIssuer, certificateIssuer) are read, and delta CRLs override the complete CRL for what they list.
 *
 * Path building backtracks: when a certificate has several candidate issuers (same name, consistent AKI/SKI, a
 * signature that verifies), each is tried until one complete path validates, within fixed bounds on the paths and
 * signature checks and partial paths tried (denial of service). Every certificate of a path, the trust anchor included, must also meet
 * the structural rules `openssl verify -x509_strict` enforces (RFC 5280 §4.2: critical basicConstraints on CAs,
 * keyUsage on CAs, no keyCertSign on end entities, non-critical AKI/SKI, SKI on CAs, AKI below the anchor, a
 * critical subjectAltName for an empty subject) — this validator is never more lenient than openssl.
 */
import { isWeakSignatureOid, verifyCertificateSignature, type ParsedCertificate } from './certificate.js';
import { walkCrlEntries, type DecodedCrl } from './crl.js';
import { serialFromOctets } from '../domain/serial.js';
import { DerError, DerReader, children, decodeUnsignedInteger, readSingle, readTlv, seqOf, type Tlv } from '../asn1/der.js';
import { decodeExtensions } from './extensions.js';
import { PkiError } from '../errors.js';
import { decodeNameDer, normaliseValue, type Rdns } from './name.js';
import { nameConstraintsOf, violation, type Constraints } from './name-constraints.js';
import { checkPolicies, DEFAULT_POLICY_INPUTS, type PolicyInputs } from './policy.js';
import { OID } from '../asn1/oids.js';

/**
 * RFC 5280 §7.1 name matching (simplified RFC 4518): same RDNs in the same order, each RDN the same set of attributes
 * (a multi-valued RDN in any order), values compared after trimming and collapsing ASCII spaces and folding ASCII
 * case. Other Unicode spaces are not folded: a name that differs by a no-break space is another name, as in openssl.
 */
export function sameName(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  let x: Rdns;
  let y: Rdns;
  try {
    x = decodeNameDer(a);
    y = decodeNameDer(b);
  } catch {
    return false;
  }
  const rdnKey = (rdn: Rdns[number]) => rdn.map((attr) => `${attr.oid}=${normaliseValue(attr.value)}`).sort().join('+');
  return x.length === y.length && x.every((rdn, i) => rdn.length === y[i]!.length && rdnKey(rdn) === rdnKey(y[i]!));
}

const DELTA = '2.5.29.27'; // deltaCRLIndicator
const FRESHEST_CRL = '2.5.29.46';
const CERTIFICATE_ISSUER = '2.5.29.29';
const NAME_CONSTRAINTS = '2.5.29.30';
const ANY_EKU = '2.5.29.37.0';
const isDelta = (crl: DecodedCrl) => crl.extensions.some((e) => e.oid === DELTA);

/** CRL extensions this validator understands. */
const KNOWN_CRL = new Set([OID.authorityKeyIdentifier, '2.5.29.20' /* cRLNumber */, '2.5.29.28' /* issuingDistributionPoint */, DELTA, '2.5.29.46' /* freshestCRL */]);

export interface PathFailure {
  /** Stable name of the check that failed. */
  check: 'chain' | 'structure' | 'name-constraints' | 'policy' | 'signature' | 'validity' | 'ca' | 'key-usage' | 'path-length' | 'critical-extension' | 'weak-signature' | 'crl' | 'revoked' | 'chain-length';
  /** The certificate it failed on (subject). */
  certificate: string;
  message: string;
}

export interface PathOptions {
  at: Date;
  /**
   * 'given' (Roles Anywhere): a certificate is checked against the CRLs given for its issuer, if any. 'all'
   * (openssl -crl_check_all): every certificate below the anchor needs a current CRL from its issuer.
   */
  crlCheck?: 'given' | 'all';
  /** Refuse MD5 and SHA-1 signatures (Roles Anywhere); off for generic RFC 5280 validation. */
  rejectWeakSignatures: boolean;
  /** At most this many intermediates may be given (Roles Anywhere: X-Amz-X509-Chain holds at most 5). */
  maxIntermediates?: number;
  /** At most this many intermediates in the path built, self-issued ones not counted (openssl -verify_depth). */
  maxPathDepth?: number;
  /** RFC 5280 §6.1.1 policy inputs (default: any policy, nothing required). */
  policy?: PolicyInputs;
}

/** Extensions this validator understands (critical ones outside this set make the certificate invalid). */
const KNOWN = new Set([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.subjectAltName,
  OID.crlDistributionPoints,
  '2.5.29.32', // certificatePolicies
  '2.5.29.33', // policyMappings
  '2.5.29.36', // policyConstraints
  '2.5.29.54', // inhibitAnyPolicy
  '2.5.29.30', // nameConstraints
  '2.5.29.18', // issuerAltName
]);

const fail = (check: PathFailure['check'], c: ParsedCertificate, message: string): { ok: false; failure: PathFailure } => ({ ok: false, failure: { check, certificate: c.subjectDn || '(empty subject)', message } });
const selfIssued = (c: ParsedCertificate) => c.subjectDer.equals(c.issuerDer);

type Failed = { ok: false; failure: PathFailure };
type Role = 'leaf' | 'intermediate' | 'anchor';

/**
 * What `openssl verify -x509_strict` (OpenSSL 3, check_extensions) and RFC 5280 §4.2 require of every certificate of a
 * path, the trust anchor included; `role` says where the certificate stands.
 */
function structureProblem(c: ParsedCertificate, role: Role): string | undefined {
  const ext = (o: string) => c.extensions.find((e) => e.oid === o);
  const ca = c.basicConstraints?.ca === true;
  const bc = ext(OID.basicConstraints);
  const ku = c.keyUsage;
  const san = ext(OID.subjectAltName);
  if (c.publicKeyProblem) return c.publicKeyProblem;
  if (ca && bc && !bc.critical) return 'basicConstraints of a CA certificate is not critical (RFC 5280 §4.2.1.9)';
  if (ca && !ku) return 'a CA certificate without keyUsage (RFC 5280 §4.2.1.3)';
  if (ku && ku.length === 0) return 'keyUsage with no bit set (RFC 5280 §4.2.1.3: at least one)';
  if (!ca && ext(NAME_CONSTRAINTS)) return 'nameConstraints in a certificate that is not a CA (RFC 5280 §4.2.1.10)';
  if (!ca && ku?.includes('keyCertSign')) return 'keyUsage keyCertSign in a certificate that is not a CA (RFC 5280 §4.2.1.3)';
  if (c.basicConstraints?.pathLen !== undefined && (!ca || !ku?.includes('keyCertSign'))) return 'pathLenConstraint without CA:TRUE and keyCertSign (RFC 5280 §4.2.1.9)';
  if (c.issuer.length === 0) return 'empty issuer name (RFC 5280 §4.1.2.4)';
  if (c.subject.length === 0 && (ca || ku?.includes('cRLSign') || !san)) return 'empty subject name in a CA certificate or without subjectAltName (RFC 5280 §4.1.2.6)';
  if (c.subject.length === 0 && san && !san.critical) return 'empty subject with a non-critical subjectAltName (RFC 5280 §4.2.1.6)';
  if (ext(OID.authorityKeyIdentifier)?.critical) return 'authorityKeyIdentifier is critical (RFC 5280 §4.2.1.1)';
  if (ext(OID.subjectKeyIdentifier)?.critical) return 'subjectKeyIdentifier is critical (RFC 5280 §4.2.1.2)';
  if (c.version === 3 && ca && !c.subjectKeyId) return 'a CA certificate without subjectKeyIdentifier (RFC 5280 §4.2.1.2)';
  if (c.version === 3 && !(role === 'anchor' && selfIssued(c)) && !ext(OID.authorityKeyIdentifier)) return 'no authorityKeyIdentifier in a certificate that is not a self-signed trust anchor (RFC 5280 §4.2.1.1)';
  if (role === 'anchor' && selfIssued(c) && !akiMatches(c, c)) return 'the self-signed trust anchor\'s authorityKeyIdentifier does not identify itself';
  return undefined;
}

/**
 * Whether `child`'s authorityKeyIdentifier is consistent with `issuer` (as openssl's X509_check_akid): the key
 * identifier equals the issuer's SKI when both exist; authorityCertSerialNumber equals the issuer's serial and
 * authorityCertIssuer names the issuer's issuer.
 */
function akiMatches(child: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (child.authorityKeyId && issuer.subjectKeyId && !child.authorityKeyId.equals(issuer.subjectKeyId)) return false;
  const a = child.authorityCertIssuerSerial;
  if (a?.serial !== undefined && a.serial !== issuer.serialHex) return false;
  if (a?.issuer) {
    const dirs = children(readTlv(Buffer.concat([Buffer.from([0x30]), derLength(a.issuer.length), a.issuer]))).filter((g) => g.tag === 0xa4);
    if (!dirs.some((g) => sameName(directoryNameDer(g), issuer.issuerDer))) return false;
  }
  return true;
}

const derLength = (n: number): Buffer => (n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]));

function certChecks(c: ParsedCertificate, opts: PathOptions, role: Role): Failed | undefined {
  if (c.notBefore.getTime() > opts.at.getTime() || c.notAfter.getTime() < opts.at.getTime())
    return fail('validity', c, role === 'anchor' ? `the trust anchor is not valid at ${opts.at.toISOString()}` : `not valid at ${opts.at.toISOString()} (${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()})`);
  if (role !== 'anchor' && opts.rejectWeakSignatures && isWeakSignatureOid(c.signatureAlgorithm)) return fail('weak-signature', c, `signed with ${c.signatureAlgorithmName}`);
  const unknown = c.extensions.find((e) => e.critical && !KNOWN.has(e.oid));
  if (unknown) return fail('critical-extension', c, `unrecognised critical extension ${unknown.oid}`);
  const structure = structureProblem(c, role);
  if (structure) return fail('structure', c, structure);
  return undefined;
}

function issuerChecks(issuer: ParsedCertificate, below: number): Failed | undefined {
  if (!issuer.basicConstraints?.ca) return fail('ca', issuer, 'issues certificates but is not a CA (basicConstraints CA:TRUE missing)');
  if (issuer.keyUsage && !issuer.keyUsage.includes('keyCertSign')) return fail('key-usage', issuer, 'keyUsage lacks keyCertSign');
  if (issuer.basicConstraints.pathLen !== undefined && below > issuer.basicConstraints.pathLen)
    return fail('path-length', issuer, `pathLen ${issuer.basicConstraints.pathLen}, but ${below} intermediate CA(s) below it`);
  return undefined;
}

/** Whether `cert` (issued by `issuer`) is revoked by one of `crls`; a failure when the issuer's CRLs cannot be used. */
/** The Name DER inside a directoryName GeneralName ([4] EXPLICIT Name); malformed ones throw DerError. */
function directoryNameDer(g: Tlv): Buffer {
  const name = readSingle(g.content);
  if (name.tag !== 0x30) throw new DerError('directoryName does not hold a Name', g.start);
  decodeNameDer(name.raw);
  return name.raw;
}

/** The fields of an issuingDistributionPoint (RFC 5280 §5.2.5), read strictly. */
function idpFields(crl: DecodedCrl): { dp?: Tlv; onlyUser: boolean; onlyCa: boolean; reasons?: number; indirect: boolean; onlyAttribute: boolean } | undefined {
  const idp = crl.extensions.find((e) => e.oid === '2.5.29.28');
  if (!idp) return undefined;
  const r = DerReader.of(idp.value, 0x30, 'issuingDistributionPoint');
  const dpT = r.optional(0xa0);
  const flag = (tag: number) => {
    const t = r.optional(tag);
    if (!t) return false;
    // BOOLEAN DEFAULT FALSE, implicitly tagged: one octet FF.
    if (t.content.length !== 1 || t.content[0] !== 0xff) throw new DerError('issuingDistributionPoint flag is not a DER TRUE', t.start);
    return true;
  };
  const onlyUser = flag(0x81);
  const onlyCa = flag(0x82);
  const reasonsT = r.optional(0x83);
  const indirect = flag(0x84);
  const onlyAttribute = flag(0x85);
  r.end();
  if ([onlyUser, onlyCa, onlyAttribute].filter(Boolean).length > 1) throw new DerError('issuingDistributionPoint asserts more than one of onlyContainsUserCerts, onlyContainsCACerts, onlyContainsAttributeCerts', idp.value.length);
  const out: { dp?: Tlv; onlyUser: boolean; onlyCa: boolean; reasons?: number; indirect: boolean; onlyAttribute: boolean } = { onlyUser, onlyCa, indirect, onlyAttribute };
  if (dpT) {
    const inner = children(dpT);
    if (inner.length !== 1) throw new DerError('issuingDistributionPoint distributionPoint must hold one name', dpT.start);
    out.dp = inner[0]!;
  }
  if (reasonsT) out.reasons = ((reasonsT.content[1] ?? 0) << 8) | (reasonsT.content[2] ?? 0);
  return out;
}

/** A DistributionPointName as comparable strings: directory names normalised, other GeneralNames as DER. */
function dpNames(dpn: Tlv, issuerDer: Buffer): string[] {
  const dn = (rdns: Rdns) => 'dn:' + rdns.map((rdn) => rdn.map((a) => `${a.oid}=${normaliseValue(a.value)}`).sort().join('+')).join(',');
  if (dpn.tag === 0xa0) {
    const names = children(dpn);
    if (!names.length) throw new DerError('empty fullName', dpn.start);
    return names.map((g) => (g.tag === 0xa4 ? dn(decodeNameDer(directoryNameDer(g))) : g.raw.toString('hex')));
  }
  if (dpn.tag === 0xa1) {
    const rdn = decodeNameDer(Buffer.concat([Buffer.from([0x30]), derLength(dpn.raw.length), Buffer.from([0x31]), dpn.raw.subarray(1)]));
    return [dn([...decodeNameDer(issuerDer), ...rdn])];
  }
  throw new DerError(`DistributionPointName with tag 0x${dpn.tag.toString(16)}`, dpn.start);
}

const ALL_REASONS = 0x7f80; // ReasonFlags bits 1-8 (keyCompromise .. aACompromise) over the first two octets

/**
 * What a CRL covers for `cert`, per its issuingDistributionPoint (RFC 5280 §5.2.5, §6.3.3): nothing when its scope
 * (user, CA or attribute certificates only) or its distribution point does not match; else the reasons it covers.
 */
function crlCoverage(crl: DecodedCrl, cert: ParsedCertificate): number {
  const idp = idpFields(crl);
  if (!idp) return ALL_REASONS;
  if (idp.onlyAttribute || (idp.onlyCa && !cert.basicConstraints?.ca) || (idp.onlyUser && cert.basicConstraints?.ca)) return 0;
  const reasons = idp.reasons ?? ALL_REASONS;
  if (!idp.dp) return reasons & ALL_REASONS;
  const wanted = new Set(dpNames(idp.dp, crl.issuerDer));
  const certDps = cert.extensions.find((e) => e.oid === OID.crlDistributionPoints);
  if (!certDps) return 0;
  for (const point of seqOf(certDps.value)) {
    const name = children(point).find((x) => x.tag === 0xa0);
    const dpn = name ? children(name)[0] : undefined;
    if (dpn && dpNames(dpn, cert.issuerDer).some((n) => wanted.has(n))) return reasons & ALL_REASONS;
  }
  return 0;
}

/** Whether the CRL's issuingDistributionPoint says indirectCRL. */
function isIndirect(crl: DecodedCrl): boolean {
  return !!idpFields(crl)?.indirect;
}

/** The cRLIssuer directory names of the certificate's distribution points. */
function crlIssuersOf(cert: ParsedCertificate): Buffer[] {
  const dps = cert.extensions.find((e) => e.oid === OID.crlDistributionPoints);
  if (!dps) return [];
  const out: Buffer[] = [];
  for (const point of seqOf(dps.value)) {
    if (point.tag !== 0x30) throw new DerError('DistributionPoint is not a SEQUENCE', point.start);
    for (const f of children(point)) if (f.tag === 0xa2) for (const g of children(f)) if (g.tag === 0xa4) out.push(directoryNameDer(g));
  }
  return out;
}

/** Per CRL (decoded once): whether an entry carries a critical extension other than certificateIssuer. */
const criticalEntryExtensions = new WeakMap<DecodedCrl, boolean>();
function hasUnhandledCriticalEntryExtension(crl: DecodedCrl): boolean {
  let v = criticalEntryExtensions.get(crl);
  if (v === undefined) {
    v = false;
    let p = crl.entriesStart;
    while (p < crl.entriesEnd && !v) {
      const entry = readTlv(crl.der, p, crl.entriesEnd);
      const parts = children(entry);
      if (parts.length === 3) {
        for (const e of decodeExtensions(parts[2]!)) if (e.critical && e.oid !== CERTIFICATE_ISSUER) v = true;
      }
      p = entry.end;
    }
    criticalEntryExtensions.set(crl, v);
  }
  return v;
}

/**
 * The reason code `cert` is listed with on `crl` (0 when none is given), or undefined. On an indirect CRL an entry's
 * certificateIssuer extension names the issuer of the entries from there on (the CRL issuer before the first one).
 */
function listed(crl: DecodedCrl, cert: ParsedCertificate): number | undefined {
  const serial = cert.serialHex; // the canonical serial: 00 80 (128) equals 80 read unsigned; ff (-1) is "-01"
  if (!isIndirect(crl)) {
    let found: number | undefined;
    walkCrlEntries(crl, 'CRL', (e) => {
      if (e.serialHex === serial && found === undefined) found = e.reason ?? 0;
    });
    return found;
  }
  let issuerDer = crl.issuerDer;
  let p = crl.entriesStart;
  while (p < crl.entriesEnd) {
    const entry = readTlv(crl.der, p, crl.entriesEnd);
    const parts = children(entry);
    if (parts.length < 2 || parts.length > 3 || parts[0]!.tag !== 0x02) throw new DerError('malformed CRL entry', entry.start);
    let reason = 0;
    for (const e of parts[2] ? decodeExtensions(parts[2]) : []) {
      if (e.oid === CERTIFICATE_ISSUER) {
        const dir = seqOf(e.value).find((g) => g.tag === 0xa4);
        if (dir) issuerDer = directoryNameDer(dir);
      } else if (e.oid === OID.crlReason) {
        const en = readSingle(e.value);
        if (en.tag !== 0x0a || en.content.length !== 1) throw new DerError('bad reasonCode', en.start);
        reason = en.content[0]!;
      }
    }
    if (serialFromOctets(parts[0]!.content) === serial && sameName(issuerDer, cert.issuerDer)) return reason;
    p = entry.end;
  }
  return undefined;
}

/** RFC 5280 §5.2.4: the BaseCRLNumber a delta CRL refers to. */
function deltaBase(crl: DecodedCrl): bigint | undefined {
  const e = crl.extensions.find((x) => x.oid === DELTA);
  return e ? decodeUnsignedInteger(readSingle(e.value)) : undefined;
}

type Verdict = { ok: false; failure: PathFailure } | undefined;

function revocation(cert: ParsedCertificate, issuer: ParsedCertificate, signers: ParsedCertificate[], crls: DecodedCrl[], opts: PathOptions, checking: ParsedCertificate[] = [], memo?: Map<string, Verdict>): Verdict {
  const key = memo ? `${cert.der.toString('base64')}|${issuer.der.toString('base64')}` : '';
  if (memo?.has(key)) return memo.get(key);
  const v = revocationUncached(cert, issuer, signers, crls, opts, checking);
  memo?.set(key, v);
  return v;
}

function revocationUncached(cert: ParsedCertificate, issuer: ParsedCertificate, signers: ParsedCertificate[], crls: DecodedCrl[], opts: PathOptions, checking: ParsedCertificate[]): Verdict {
  const at = opts.at;
  // The issuer's own CRLs, and indirect CRLs from a cRLIssuer named in the certificate's distribution points.
  const crlIssuers = crlIssuersOf(cert);
  const fromIssuer = crls.filter((c) => sameName(c.issuerDer, cert.issuerDer) || (isIndirect(c) && crlIssuers.some((n) => sameName(n, c.issuerDer))));
  const mine = fromIssuer.filter((c) => crlCoverage(c, cert) !== 0);
  if (!mine.length) {
    // CRLs from this issuer were given but none covers this certificate (its scope or distribution point differs):
    // the status cannot be established, so the certificate is refused, as openssl refuses it ("different CRL scope").
    if (fromIssuer.length) return fail('crl', cert, `the CRLs given for ${cert.issuerDn} do not cover this certificate (issuingDistributionPoint scope)`);
    return opts.crlCheck === 'all' ? fail('crl', cert, `no CRL from ${cert.issuerDn}`) : undefined;
  }
  // The CRL's signer: a certificate of the CRL issuer's name (the certificate's issuer, one whose key rolled over, or
  // an indirect CRL issuer) with cRLSign. A signer other than the issuer itself (a separate CRL-signing key, RFC 5280
  // §6.3.3 (f)) must be valid now, issued by a certificate we hold, and not revoked by its own issuer's CRLs.
  const signerUsable = (s: ParsedCertificate): boolean => {
    if (s === issuer || s.der.equals(issuer.der)) return true;
    // A CRL that covers its own signer (PKITS 4.14.30): the signer's status is read from that CRL, not re-derived.
    if (checking.includes(s)) return true;
    if (checking.length >= 4 || s.notBefore.getTime() > at.getTime() || s.notAfter.getTime() < at.getTime()) return false;
    const up = signers.find((i) => i !== s && sameName(i.subjectDer, s.issuerDer) && verifyCertificateSignature(s, i.publicKey));
    return !!up && revocation(s, up, signers, crls, { ...opts, crlCheck: 'given' }, [...checking, s]) === undefined;
  };
  const usable = mine.filter((crl) => {
    if (crl.extensions.some((e) => e.critical && !KNOWN_CRL.has(e.oid))) return false;
    // RFC 5280 §5.2: AKI, CRL Number and freshestCRL are non-critical, and a conforming CRL always has a CRL Number;
    // an entry extension marked critical that is not certificateIssuer cannot be processed (§5.3).
    if (crl.extensions.some((e) => e.critical && (e.oid === OID.authorityKeyIdentifier || e.oid === OID.crlNumber || e.oid === FRESHEST_CRL)) || crl.crlNumber === undefined) return false;
    if (hasUnhandledCriticalEntryExtension(crl)) return false;
    const candidates = [issuer, ...signers].filter((s) => sameName(s.subjectDer, crl.issuerDer) && (!crl.authorityKeyId || !s.subjectKeyId || crl.authorityKeyId.equals(s.subjectKeyId)));
    return candidates.some((s) => (!s.keyUsage || s.keyUsage.includes('cRLSign')) && s.publicKey.verify(crl.signatureAlgorithm, crl.tbs, crl.signature) && signerUsable(s));
  });
  if (!usable.length) return fail('crl', cert, `no CRL for ${cert.issuerDn} has a valid signature by a cRLSign key of its issuer, a CRL Number, and no unknown or wrongly critical extension`);
  const current = usable.filter((crl) => crl.thisUpdate.getTime() <= at.getTime() && (!crl.nextUpdate || crl.nextUpdate.getTime() >= at.getTime()));
  if (!current.length) return fail('crl', cert, `the CRL of ${cert.issuerDn} is not current at ${at.toISOString()}`);
  const complete = current.filter((crl) => !isDelta(crl));
  if (!complete.length) return fail('crl', cert, `only delta CRLs for ${cert.issuerDn}`);
  const covered = complete.reduce((m, crl) => m | crlCoverage(crl, cert), 0);
  if ((covered & ALL_REASONS) !== ALL_REASONS) return fail('crl', cert, `the CRLs of ${cert.issuerDn} cover only some revocation reasons`);
  // A complete CRL's listing is final, except certificateHold (6), which only a delta's removeFromCRL (8) can lift.
  let held = false;
  for (const crl of complete) {
    const reason = listed(crl, cert);
    if (reason === 6) held = true;
    else if (reason !== undefined) return fail('revoked', cert, `serial ${cert.serialHex} is on the CRL of ${crl.issuerDn}`);
  }
  // A delta CRL (RFC 5280 §5.2.4) applies only to a complete CRL at least as new as its BaseCRLNumber, and only when it
  // is newer than that complete CRL.
  const newestComplete = complete.reduce((m, crl) => (crl.crlNumber! > m ? crl.crlNumber! : m), -1n);
  for (const delta of current.filter(isDelta)) {
    const base = deltaBase(delta);
    if (base === undefined || base > newestComplete || delta.crlNumber! <= newestComplete) continue;
    const reason = listed(delta, cert);
    if (reason === 8) held = false; // removeFromCRL lifts a hold, nothing else
    else if (reason !== undefined) return fail('revoked', cert, `serial ${cert.serialHex} is on the delta CRL of ${delta.issuerDn}`);
  }
  if (held) return fail('revoked', cert, `serial ${cert.serialHex} is on hold on the CRL of ${cert.issuerDn}`);
  return undefined;
}

/** Bounds on path building (x509-limbo's pathological cases): complete paths checked, signatures verified. */
const MAX_PATHS = 64;
const MAX_SIGNATURE_CHECKS = 1024;
/** Partial paths extended (cached signatures make extensions cheap, so they are bounded on their own). */
const MAX_EXTENSIONS = 4096;

/**
 * Builds and checks a path leaf → ... → a trust anchor, backtracking over candidate issuers; returns the first path
 * that validates, or the failure of the first path that came closest (a complete path's failure before a missing
 * or unverifiable issuer).
 */
export function validatePath(
  leaf: ParsedCertificate,
  intermediates: ParsedCertificate[],
  anchors: ParsedCertificate[],
  crls: DecodedCrl[],
  opts: PathOptions,
): { ok: true; path: ParsedCertificate[] } | { ok: false; failure: PathFailure; path?: ParsedCertificate[] } {
  if (opts.maxIntermediates !== undefined && intermediates.length > opts.maxIntermediates)
    return fail('chain-length', leaf, `${intermediates.length} intermediates; at most ${opts.maxIntermediates}`);
  const maxIntermediates = opts.maxPathDepth ?? intermediates.length;
  const signatures = new Map<ParsedCertificate, Map<ParsedCertificate, boolean>>();
  let signatureChecks = 0;
  let pathsChecked = 0;
  let extensions = 0;
  const verifies = (child: ParsedCertificate, parent: ParsedCertificate): boolean => {
    let row = signatures.get(child);
    if (!row) signatures.set(child, (row = new Map()));
    let ok = row.get(parent);
    if (ok === undefined) {
      if (signatureChecks++ >= MAX_SIGNATURE_CHECKS) return false;
      ok = verifyCertificateSignature(child, parent.publicKey);
      row.set(parent, ok);
    }
    return ok;
  };
  const standalone = new Map<ParsedCertificate, Failed | undefined>();
  // Revocation verdicts per (certificate, issuer): the same link recurs in many candidate paths.
  const revocations = new Map<string, Verdict>();
  const checked = (c: ParsedCertificate, role: Role): Failed | undefined => {
    if (role === 'anchor') return certChecks(c, opts, role);
    if (!standalone.has(c)) standalone.set(c, certChecks(c, opts, role));
    return standalone.get(c);
  };
  // The best failure so far: a complete path's (rank 3) beats a candidate's own defect (2), a signature that does not
  // verify (1) and a missing issuer (0).
  let best: { rank: number; result: { ok: false; failure: PathFailure; path?: ParsedCertificate[] } } | undefined;
  const note = (rank: number, result: { ok: false; failure: PathFailure; path?: ParsedCertificate[] }) => {
    if (!best || rank > best.rank) best = { rank, result };
  };
  const isAnchorCert = (c: ParsedCertificate) => anchors.some((a) => a.der.equals(c.der));

  const extend = (path: ParsedCertificate[]): { ok: true; path: ParsedCertificate[] } | undefined => {
    if (extensions++ >= MAX_EXTENSIONS) return undefined;
    const current = path[path.length - 1]!;
    const named = (c: ParsedCertificate) => sameName(c.subjectDer, current.issuerDer) && akiMatches(current, c);
    const anchorCandidates = anchors.filter(named);
    const depth = path.slice(1).filter((c) => !selfIssued(c)).length; // intermediates in the path so far (self-issued not counted)
    const intermediateCandidates = depth < maxIntermediates ? intermediates.filter((c) => named(c) && !path.includes(c) && !isAnchorCert(c)) : [];
    if (!anchorCandidates.length && !intermediateCandidates.length) {
      const byName = [...anchors, ...intermediates].find((c) => sameName(c.subjectDer, current.issuerDer));
      if (byName && !anchorCandidates.length && depth >= maxIntermediates && !anchors.some((a) => sameName(a.subjectDer, current.issuerDer)))
        note(0, { ...fail('chain-length', leaf, `no path to a trust anchor within ${maxIntermediates} intermediates`), path });
      else note(0, { ...fail('chain', current, `no certificate of the bundle or the chain is its issuer (${current.issuerDn})`), path });
      return undefined;
    }
    for (const anchor of anchorCandidates) {
      if (pathsChecked >= MAX_PATHS) return undefined;
      if (!verifies(current, anchor)) {
        note(1, { ...fail('signature', current, `the signature does not verify with the key of ${anchor.subjectDn}`), path });
        continue;
      }
      pathsChecked++;
      const full = [...path, anchor];
      const r = checkPath(full, [...anchors, ...intermediates], crls, opts, checked, revocations);
      if (r.ok) return r;
      note(3, r);
    }
    for (const c of intermediateCandidates) {
      if (pathsChecked >= MAX_PATHS) return undefined;
      if (!verifies(current, c)) {
        note(1, { ...fail('signature', current, `the signature does not verify with the key of ${c.subjectDn}`), path });
        continue;
      }
      const own = checked(c, 'intermediate');
      if (own) {
        note(2, { ...own, path: [...path, c] });
        continue;
      }
      const r = extend([...path, c]);
      if (r) return r;
    }
    return undefined;
  };

  const own = checked(leaf, 'leaf');
  if (own) return { ...own, path: [leaf] };
  const found = extend([leaf]);
  if (found) return found;
  return best?.result ?? { ...fail('chain', leaf, 'no path to a trust anchor'), path: [leaf] };
}

/** Checks one complete candidate path [leaf, ..., anchor] whose links' names and signatures already match. */
function checkPath(
  path: ParsedCertificate[],
  signers: ParsedCertificate[],
  crls: DecodedCrl[],
  opts: PathOptions,
  checked: (c: ParsedCertificate, role: Role) => Failed | undefined,
  memo: Map<string, Verdict>,
): { ok: true; path: ParsedCertificate[] } | { ok: false; failure: PathFailure; path: ParsedCertificate[] } {
  const anchor = path[path.length - 1]!;
  const leaf = path[0]!;
  const anchorBad = checked(anchor, 'anchor');
  if (anchorBad) return { ...anchorBad, path };
  let below = 0; // non-self-issued intermediates below the issuer being checked
  for (let i = 0; i < path.length - 1; i++) {
    const current = path[i]!;
    const issuer = path[i + 1]!;
    if (i > 0 && !selfIssued(current)) below++;
    const issuerBad = issuerChecks(issuer, i === 0 ? 0 : below);
    if (issuerBad) return { ...issuerBad, path };
    let revoked: ReturnType<typeof revocation>;
    try {
      revoked = revocation(current, issuer, signers, crls, opts, [], memo);
    } catch (e) {
      // Malformed input (a distribution point, a CRL extension) is a verdict; anything else is a defect here and must
      // not be mistaken for one (the emulator answers it with a 500).
      if (!(e instanceof DerError || e instanceof PkiError)) throw e;
      revoked = fail('crl', current, `a malformed distribution point or CRL extension (${(e as Error).message})`);
    }
    if (revoked) return { ...revoked, path };
  }
  // Extended key usage nests (as in Go's crypto/x509, NSS and Windows; RFC 5280 leaves EKU in CA certificates
  // undefined): a CA whose extKeyUsage lacks anyExtendedKeyUsage allows only the purposes it lists, so every purpose
  // of the leaf must appear in each such CA of the path.
  if (leaf.extendedKeyUsage?.length) {
    for (const ca of path.slice(1)) {
      const allowed = ca.extendedKeyUsage;
      if (!allowed || allowed.includes(ANY_EKU) || allowed.includes('anyExtendedKeyUsage')) continue;
      const missing = leaf.extendedKeyUsage.find((u) => !allowed.includes(u));
      if (missing) return { ...fail('key-usage', leaf, `extended key usage ${missing} is not allowed by ${ca.subjectDn || '(empty subject)'} (its extKeyUsage: ${allowed.join(', ')})`), path };
    }
  }
  // Name constraints, from the certificate below the anchor down to the leaf. The trust anchor's own constraints
  // apply too (RFC 5280 leaves this open; openssl and x509-limbo apply them). §6.1.3 (b)-(c): a self-issued
  // certificate that is not the leaf is not checked against them.
  let anchorNc: Constraints | undefined;
  try {
    anchorNc = nameConstraintsOf(anchor);
  } catch (e) {
    return { ...fail('name-constraints', anchor, (e as Error).message), path };
  }
  const sets: Constraints[] = anchorNc ? [anchorNc] : [];
  for (let i = path.length - 2; i >= 0; i--) {
    const c = path[i]!;
    const v = sets.length && (i === 0 || !selfIssued(c)) ? violation(c, sets, true) : undefined;
    if (v) return { ...fail('name-constraints', c, v), path };
    let nc: Constraints | undefined;
    try {
      nc = i > 0 ? nameConstraintsOf(c) : undefined;
    } catch (e) {
      return { ...fail('name-constraints', c, (e as Error).message), path };
    }
    if (nc) sets.push(nc);
  }
  const policy = checkPolicies(path.slice(0, -1).reverse(), opts.policy ?? DEFAULT_POLICY_INPUTS);
  if (policy) return { ...fail('policy', leaf, policy), path };
  return { ok: true, path };
}
