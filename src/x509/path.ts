/**
 * Certification path validation as IAM Roles Anywhere performs it (reference §1.1, §1.5, §3.4): every certificate of
 * the trust-anchor bundle is a trust anchor; the path is built from the leaf through the given intermediates; each
 * link's name chaining and signature, each certificate's validity, each issuer's CA flag, keyCertSign and pathLen
 * (self-issued intermediates not counted), unknown critical extensions, and revocation by the CRLs given for a
 * certificate's issuer (signature, cRLSign, thisUpdate/nextUpdate). Used by `pki verify` and by the emulator's
 * CreateSession, so both judge alike.
 *
 * Name constraints (directoryName, dNSName, rfc822Name, URI) and certificate policies (§6.1 policy tree) are
 * enforced; a CRL's issuingDistributionPoint limits what it covers; indirect CRLs (cRLIssuer, certificateIssuer) are
 * read, and delta CRLs override the complete CRL for what they list. Not processed: IP address constraints. PKITS cases that depend on them are reported as disagreements.
 */
import { verifyWith } from '../crypto/keys.js';
import { hashForSignatureOid, isWeakSignatureOid, verifyCertificateSignature, type ParsedCertificate } from './certificate.js';
import { walkCrlEntries, type DecodedCrl } from './crl.js';
import { children, decodeOid, readSingle, readTlv, type Tlv } from './der.js';
import { decodeNameDer, type Rdns } from './name.js';
import { nameConstraintsOf, violation, type Constraints } from './name-constraints.js';
import { checkPolicies, DEFAULT_POLICY_INPUTS, type PolicyInputs } from './policy.js';
import { OID } from './oids.js';

/** RFC 5280 §7.1 name matching (simplified RFC 4518): same attributes in the same RDNs, values compared after
 * trimming, collapsing inner spaces and case-folding. */
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
  const norm = (v: string) => v.trim().replace(/\s+/g, ' ').toLowerCase();
  return x.length === y.length && x.every((rdn, i) => rdn.length === y[i]!.length && rdn.every((attr, j) => attr.oid === y[i]![j]!.oid && norm(attr.value) === norm(y[i]![j]!.value)));
}

const DELTA = '2.5.29.27'; // deltaCRLIndicator
const isDelta = (crl: DecodedCrl) => crl.extensions.some((e) => e.oid === DELTA);

/** CRL extensions this validator understands. */
const KNOWN_CRL = new Set([OID.authorityKeyIdentifier, '2.5.29.20' /* cRLNumber */, '2.5.29.28' /* issuingDistributionPoint */, DELTA, '2.5.29.46' /* freshestCRL */]);

export interface PathFailure {
  /** Stable name of the check that failed. */
  check: 'chain' | 'name-constraints' | 'policy' | 'signature' | 'validity' | 'ca' | 'key-usage' | 'path-length' | 'critical-extension' | 'weak-signature' | 'crl' | 'revoked' | 'chain-length';
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
  /** At most this many intermediates (Roles Anywhere: 5). */
  maxIntermediates?: number;
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

function certChecks(c: ParsedCertificate, opts: PathOptions): { ok: false; failure: PathFailure } | undefined {
  if (c.notBefore.getTime() > opts.at.getTime() || c.notAfter.getTime() < opts.at.getTime())
    return fail('validity', c, `not valid at ${opts.at.toISOString()} (${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()})`);
  if (opts.rejectWeakSignatures && isWeakSignatureOid(c.signatureAlgorithm)) return fail('weak-signature', c, `signed with ${c.signatureAlgorithmName}`);
  const unknown = c.extensions.find((e) => e.critical && !KNOWN.has(e.oid));
  if (unknown) return fail('critical-extension', c, `unrecognised critical extension ${unknown.oid}`);
  return undefined;
}

function issuerChecks(issuer: ParsedCertificate, below: number): { ok: false; failure: PathFailure } | undefined {
  if (!issuer.basicConstraints?.ca) return fail('ca', issuer, 'issues certificates but is not a CA (basicConstraints CA:TRUE missing)');
  if (issuer.keyUsage && !issuer.keyUsage.includes('keyCertSign')) return fail('key-usage', issuer, 'keyUsage lacks keyCertSign');
  if (issuer.basicConstraints.pathLen !== undefined && below > issuer.basicConstraints.pathLen)
    return fail('path-length', issuer, `pathLen ${issuer.basicConstraints.pathLen}, but ${below} intermediate CA(s) below it`);
  return undefined;
}

/** Whether `cert` (issued by `issuer`) is revoked by one of `crls`; a failure when the issuer's CRLs cannot be used. */
/** A DistributionPointName as comparable strings: directory names normalised, other GeneralNames as DER. */
function dpNames(dpn: Tlv, issuerDer: Buffer): string[] {
  const dn = (rdns: Rdns) => 'dn:' + rdns.map((rdn) => rdn.map((a) => `${a.oid}=${a.value.trim().replace(/\s+/g, ' ').toLowerCase()}`).join('+')).join(',');
  if (dpn.tag === 0xa0) return children(dpn).map((g) => (g.tag === 0xa4 ? dn(decodeNameDer(children(g)[0]!.raw)) : g.raw.toString('hex')));
  if (dpn.tag === 0xa1) {
    const rdn = decodeNameDer(Buffer.concat([Buffer.from([0x30, dpn.raw.length]), Buffer.from([0x31]), dpn.raw.subarray(1)]));
    return [dn([...decodeNameDer(issuerDer), ...rdn])];
  }
  return [];
}

const ALL_REASONS = 0x7f80; // ReasonFlags bits 1-8 (keyCompromise .. aACompromise) over the first two octets

/**
 * What a CRL covers for `cert`, per its issuingDistributionPoint (RFC 5280 §5.2.5, §6.3.3): nothing when its scope
 * (user, CA or attribute certificates only) or its distribution point does not match; else the reasons it covers.
 */
function crlCoverage(crl: DecodedCrl, cert: ParsedCertificate): number {
  const idp = crl.extensions.find((e) => e.oid === '2.5.29.28');
  if (!idp) return ALL_REASONS;
  let dp: Tlv | undefined;
  let reasons = ALL_REASONS;
  for (const f of children(readSingle(idp.value))) {
    const on = f.content.length > 0 && f.content[0] !== 0;
    if (f.tag === 0xa0) dp = children(f)[0];
    else if (f.tag === 0x81 && on && cert.basicConstraints?.ca) return 0;
    else if (f.tag === 0x82 && on && !cert.basicConstraints?.ca) return 0;
    else if (f.tag === 0x83) reasons = ((f.content[1] ?? 0) << 8) | (f.content[2] ?? 0);
    else if (f.tag === 0x85 && on) return 0;
  }
  if (!dp) return reasons & ALL_REASONS;
  const wanted = new Set(dpNames(dp, crl.issuerDer));
  const certDps = cert.extensions.find((e) => e.oid === OID.crlDistributionPoints);
  if (!certDps) return 0;
  for (const point of children(readSingle(certDps.value))) {
    const name = children(point).find((x) => x.tag === 0xa0);
    const dpn = name ? children(name)[0] : undefined;
    if (dpn && dpNames(dpn, cert.issuerDer).some((n) => wanted.has(n))) return reasons & ALL_REASONS;
  }
  return 0;
}

/** Whether the CRL's issuingDistributionPoint says indirectCRL. */
function isIndirect(crl: DecodedCrl): boolean {
  const idp = crl.extensions.find((e) => e.oid === '2.5.29.28');
  return !!idp && children(readSingle(idp.value)).some((f) => f.tag === 0x84 && f.content[0] !== 0);
}

/** The cRLIssuer directory names of the certificate's distribution points. */
function crlIssuersOf(cert: ParsedCertificate): Buffer[] {
  const dps = cert.extensions.find((e) => e.oid === OID.crlDistributionPoints);
  if (!dps) return [];
  const out: Buffer[] = [];
  for (const point of children(readSingle(dps.value)))
    for (const f of children(point)) if (f.tag === 0xa2) for (const g of children(f)) if (g.tag === 0xa4) out.push(children(g)[0]!.raw);
  return out;
}

/**
 * The reason code `cert` is listed with on `crl` (0 when none is given), or undefined. On an indirect CRL an entry's certificateIssuer extension names the issuer of
 * the entries from there on (the CRL issuer before the first one).
 */
function listed(crl: DecodedCrl, cert: ParsedCertificate): number | undefined {
  const serial = cert.serial.toString('hex'); // raw content octets: 00ff (255) is not ff (-1)
  if (!isIndirect(crl)) {
    let found: number | undefined;
    walkCrlEntries(crl, 'CRL', (e) => {
      if (e.serialHex === serial) found = e.reason ?? 0;
    });
    return found;
  }
  let issuerDer = crl.issuerDer;
  let p = crl.entriesStart;
  while (p < crl.entriesEnd) {
    const entry = readTlv(crl.der, p, crl.entriesEnd);
    const [sn, , exts] = children(entry);
    for (const e of exts ? children(exts) : []) {
      const parts = children(e);
      if (decodeOid(parts[0]!) === '2.5.29.29') {
        const dir = children(readSingle(parts[parts.length - 1]!.content)).find((g) => g.tag === 0xa4);
        if (dir) issuerDer = children(dir)[0]!.raw;
      }
    }
    if (sn!.content.toString('hex') === serial && sameName(issuerDer, cert.issuerDer)) return 0;
    p = entry.end;
  }
  return undefined;
}

function revocation(cert: ParsedCertificate, issuer: ParsedCertificate, signers: ParsedCertificate[], crls: DecodedCrl[], opts: PathOptions): { ok: false; failure: PathFailure } | undefined {
  const at = opts.at;
  // The issuer's own CRLs, and indirect CRLs from a cRLIssuer named in the certificate's distribution points.
  const crlIssuers = crlIssuersOf(cert);
  const mine = crls.filter(
    (c) => (sameName(c.issuerDer, cert.issuerDer) || (isIndirect(c) && crlIssuers.some((n) => sameName(n, c.issuerDer)))) && crlCoverage(c, cert) !== 0,
  );
  if (!mine.length) return opts.crlCheck === 'all' ? fail('crl', cert, `no CRL from ${cert.issuerDn}`) : undefined;
  // The CRL's signer: a certificate of the CRL issuer's name (the certificate's issuer, one whose key rolled over, or
  // an indirect CRL issuer) with cRLSign.
  const usable = mine.filter((crl) => {
    if (crl.extensions.some((e) => e.critical && !KNOWN_CRL.has(e.oid))) return false;
    const hash = hashForSignatureOid(crl.signatureAlgorithm);
    const candidates = [issuer, ...signers].filter((s) => sameName(s.subjectDer, crl.issuerDer));
    return hash !== undefined && candidates.some((s) => (!s.keyUsage || s.keyUsage.includes('cRLSign')) && verifyWith(s.publicKey, hash, crl.tbs, crl.signature));
  });
  if (!usable.length) return fail('crl', cert, `no CRL for ${cert.issuerDn} has a valid signature by a cRLSign key of its issuer (or it has an unknown critical extension)`);
  const current = usable.filter((crl) => crl.thisUpdate.getTime() <= at.getTime() && (!crl.nextUpdate || crl.nextUpdate.getTime() >= at.getTime()));
  if (!current.length) return fail('crl', cert, `the CRL of ${cert.issuerDn} is not current at ${at.toISOString()}`);
  // Complete CRLs decide; a current delta CRL (deltaCRLIndicator) overrides them for what it lists.
  const complete = current.filter((crl) => !isDelta(crl));
  if (!complete.length) return fail('crl', cert, `only delta CRLs for ${cert.issuerDn}`);
  const covered = complete.reduce((m, crl) => m | crlCoverage(crl, cert), 0);
  if ((covered & ALL_REASONS) !== ALL_REASONS) return fail('crl', cert, `the CRLs of ${cert.issuerDn} cover only some revocation reasons`);
  for (const delta of current.filter(isDelta)) {
    const reason = listed(delta, cert);
    if (reason === 8) return undefined; // removeFromCRL: no longer revoked
    if (reason !== undefined) return fail('revoked', cert, `serial ${cert.serialHex} is on the delta CRL of ${delta.issuerDn}`);
  }
  for (const crl of complete) if (listed(crl, cert) !== undefined) return fail('revoked', cert, `serial ${cert.serialHex} is on the CRL of ${crl.issuerDn}`);
  return undefined;
}

/** Builds and checks the path leaf → ... → a trust anchor. */
export function validatePath(
  leaf: ParsedCertificate,
  intermediates: ParsedCertificate[],
  anchors: ParsedCertificate[],
  crls: DecodedCrl[],
  opts: PathOptions,
): { ok: true; path: ParsedCertificate[] } | { ok: false; failure: PathFailure; path?: ParsedCertificate[] } {
  if (opts.maxIntermediates !== undefined && intermediates.length > opts.maxIntermediates)
    return fail('chain-length', leaf, `${intermediates.length} intermediates; at most ${opts.maxIntermediates}`);
  const path = [leaf];
  let current = leaf;
  let below = 0; // non-self-issued intermediates below the next issuer
  for (let depth = 0; depth <= intermediates.length; depth++) {
    const bad = certChecks(current, opts);
    if (bad) return { ...bad, path };
    const named = (c: ParsedCertificate) => sameName(c.subjectDer, current.issuerDer);
    const anchor = anchors.find((a) => named(a) && verifyCertificateSignature(current, a.publicKey));
    const issuer = anchor ?? intermediates.find((c) => !path.includes(c) && named(c) && verifyCertificateSignature(current, c.publicKey));
    if (!issuer) {
      const byName = [...anchors, ...intermediates].find(named);
      return byName
        ? { ...fail('signature', current, `the signature does not verify with the key of ${byName.subjectDn}`), path }
        : { ...fail('chain', current, `no certificate of the bundle or the chain is its issuer (${current.issuerDn})`), path };
    }
    if (depth > 0 && !selfIssued(current)) below++;
    const issuerBad = issuerChecks(issuer, depth === 0 ? 0 : below);
    if (issuerBad) return { ...issuerBad, path };
    let revoked: ReturnType<typeof revocation>;
    try {
      revoked = revocation(current, issuer, [...anchors, ...intermediates], crls, opts);
    } catch (e) {
      revoked = fail('crl', current, `a malformed distribution point or CRL extension (${(e as Error).message})`);
    }
    if (revoked) return { ...revoked, path };
    path.push(issuer);
    if (anchor) {
      if (anchor.notBefore.getTime() > opts.at.getTime() || anchor.notAfter.getTime() < opts.at.getTime())
        return { ...fail('validity', anchor, `the trust anchor is not valid at ${opts.at.toISOString()}`), path };
      // Name constraints, from the certificate below the anchor down to the leaf.
      // The trust anchor's own constraints apply too (RFC 5280 leaves this open; openssl and x509-limbo apply them).
      let anchorNc: Constraints | undefined;
      try {
        anchorNc = nameConstraintsOf(anchor);
      } catch (e) {
        return { ...fail('name-constraints', anchor, (e as Error).message), path };
      }
      const sets: Constraints[] = anchorNc ? [anchorNc] : [];
      for (let i = path.length - 2; i >= 0; i--) {
        const c = path[i]!;
        const v = sets.length ? violation(c, sets, i === 0 || !selfIssued(c)) : undefined;
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
    current = issuer;
  }
  return { ...fail('chain', current, 'no path to a trust anchor'), path };
}
