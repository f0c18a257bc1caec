/**
 * The emulator's CreateSession (`POST /sessions`, reference §4): it checks a request the way IAM Roles Anywhere is
 * documented to, recomputing the AWS4-X509 signature from the bytes it received with its own code (aws4-x509.ts: an
 * independent check of any client's signer, pki's included), then the certificate, its chain to an enabled trust
 * anchor and the anchor's enabled CRLs (with `pki verify`'s path validation, src/x509/path.ts), and the profile.
 * Revocation fails closed: an enabled CRL that cannot be decoded, or whose signer cannot be established for the
 * request, refuses it. An exception is not a verdict: it propagates, and the server answers 500. It answers 201 with the service's credentialSet shape; the credentials are well-formed but fake.
 *
 * Error messages are the service's where the reference gives them ("Invalid signature", "Certificate revoked",
 * "Untrusted Signing Certificate", ...). Where it does not (a disabled trust anchor, an overlong chain), the wording is
 * the emulator's own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { previewSession, type AttributeMappings } from '../domain/session.js';
import { verifyAws4X509 } from './aws4-x509.js';
import { leafRefusal } from '../app/lint.js';
import { parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { decodeCrl, walkCrlEntries, type DecodedCrl } from '../x509/crl.js';
import { sameName, validatePath } from '../x509/path.js';
import { decodePemBlocks } from '../asn1/pem.js';
import { mlDsaCertificateUse, ServiceError, validation, type MlDsaCertificates } from './rules.js';
import { MAX_CHAIN_CERTIFICATES, ROLE_SESSION_NAME } from '../domain/roles-anywhere.js';

const denied = (message: string): ServiceError => new ServiceError('AccessDeniedException', 403, message);

export interface SessionAnchor {
  trustAnchorArn: string;
  enabled: boolean;
  source: { sourceData: { x509CertificateData: string } };
}
export interface SessionCrl {
  crlArn: string;
  trustAnchorArn: string;
  enabled: boolean;
  /** base64 of the PEM bytes. */
  crlData: string;
}
export interface SessionProfile {
  profileArn: string;
  enabled: boolean;
  roleArns: string[];
  durationSeconds: number;
  acceptRoleSessionName: boolean;
  attributeMappings?: AttributeMappings;
}

/** What the emulator records for each session it grants (readable at /_emulator/sessions). */
export interface SessionRecord {
  at: string;
  trustAnchorArn: string;
  profileArn: string;
  roleArn: string;
  serial: string;
  roleSessionName: string;
  sourceIdentity: string;
  principalTags: Record<string, string>;
  dropped: Array<{ tag: string; value: string; reason: string }>;
  durationSeconds: number;
  accessKeyId: string;
}

export interface SessionContext {
  region: string;
  account: string;
  /** Largest accepted distance between X-Amz-Date and the emulator's clock. The service's is UNCONFIRMED. */
  clockSkewSeconds: number;
  /** A CRL past its nextUpdate: refuse every certificate of its issuer ('reject') or ignore the CRL. UNCONFIRMED. */
  expiredCrl: 'reject' | 'ignore';
  /** ML-DSA-signed certificates in the path (UNCONFIRMED; see rules.ts): refused with 'reject'. */
  mlDsaCertificates?: MlDsaCertificates;
  anchors(): SessionAnchor[];
  crls(): SessionCrl[];
  profiles(): SessionProfile[];
  now(): Date;
}

export interface SessionRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The query string as received (no leading "?"). */
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
  /** Header names and values as received, alternating (Node's IncomingMessage.rawHeaders). */
  rawHeaders: string[];
  raw: Buffer;
}

/** The one value of a header sent at most once; a header sent twice is refused (which copy was signed is ambiguous). */
const single = (req: SessionRequest, name: string): string | undefined => {
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === name) values.push(req.rawHeaders[i + 1]!);
  if (values.length > 1) throw validation(`${name} was sent ${values.length} times; send it once`);
  return values[0];
};

/** Tasks 1-4 of the signing process recomputed by the emulator's own code (aws4-x509.ts); any mismatch is the service's "Invalid signature". */
function checkSignature(req: SessionRequest, ctx: SessionContext, leaf: ParsedCertificate): void {
  const verdict = verifyAws4X509(
    { method: req.method, path: req.path, rawQuery: req.rawQuery, rawHeaders: req.rawHeaders, body: req.raw },
    { der: leaf.der, spki: leaf.spki },
    { region: ctx.region, now: ctx.now(), clockSkewSeconds: ctx.clockSkewSeconds },
  );
  if (!verdict.ok) throw denied('Invalid signature');
}

/**
 * The anchor's enabled CRLs, each decoded completely (header and every entry) from its stored crlData (PEM, or DER when
 * the emulator accepts DER). Fails closed: a CRL that cannot be decoded might list any certificate of the anchor, so
 * it refuses every CreateSession on that anchor until the CRL is replaced, disabled or deleted.
 */
function decodeEnabledCrls(crls: SessionCrl[]): Array<{ arn: string; crl: DecodedCrl }> {
  const out: Array<{ arn: string; crl: DecodedCrl }> = [];
  for (const c of crls) {
    if (!c.enabled) continue;
    let crl: DecodedCrl;
    try {
      const data = Buffer.from(c.crlData, 'base64');
      const text = data.toString('latin1');
      const blocks = text.includes('-----BEGIN X509 CRL-----') ? decodePemBlocks(text, 'crlData').filter((b) => b.label === 'X509 CRL') : undefined;
      if (blocks && blocks.length > 1) throw new Error(`it holds ${blocks.length} CRLs`);
      const der = blocks ? blocks[0]?.der : data[0] === 0x30 ? data : undefined;
      if (!der) throw new Error('neither a PEM "X509 CRL" block nor DER');
      crl = decodeCrl(der, 'crlData');
      walkCrlEntries(crl, 'crlData');
    } catch (e) {
      throw denied(`Revocation status unknown: the enabled CRL ${c.crlArn} of this trust anchor cannot be decoded (${(e as Error).message}); its certificates are refused until it is replaced, disabled or deleted`);
    }
    out.push({ arn: c.crlArn, crl });
  }
  return out;
}

const ISSUING_DISTRIBUTION_POINT = '2.5.29.28';

/**
 * Fails closed on a CRL whose signer cannot be established: every enabled CRL that could cover a certificate of the
 * request (its issuer issued the leaf or a certificate of X-Amz-X509-Chain, or it has an issuingDistributionPoint, as
 * indirect CRLs do) must verify with the key of a certificate of the anchor or the chain that bears the CRL's issuer
 * name (and cRLSign when it has a keyUsage). Otherwise a forged CRL next to a genuine older one would be silently
 * skipped in favour of the older one.
 */
function checkCrlSigners(crls: Array<{ arn: string; crl: DecodedCrl }>, presented: ParsedCertificate[], signers: ParsedCertificate[]): void {
  for (const { arn, crl } of crls) {
    const couldCover = crl.extensions.some((e) => e.oid === ISSUING_DISTRIBUTION_POINT) || presented.some((c) => sameName(c.issuerDer, crl.issuerDer));
    if (!couldCover) continue;
    const established = signers.some((s) => sameName(s.subjectDer, crl.issuerDer) && (!s.keyUsage || s.keyUsage.includes('cRLSign')) && s.publicKey.verify(crl.signatureAlgorithm, crl.tbs, crl.signature));
    if (!established)
      throw denied(`Revocation status unknown: the signature of the enabled CRL ${arn} (issuer ${crl.issuerDn}) does not verify with a cRLSign key of that issuer in the trust anchor or X-Amz-X509-Chain`);
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const accessKeyId = (): string => `ASIA${[...randomBytes(16)].map((b) => BASE32[b % 32]).join('')}`;

/** Handles POST /sessions; returns the 201 body and the session record. */
export function createSession(req: SessionRequest, ctx: SessionContext): { body: unknown; record: SessionRecord } {
  const x509 = single(req, 'x-amz-x509');
  let leaf: ParsedCertificate;
  try {
    leaf = parseCertificate(Buffer.from(x509 ?? '', 'base64'), 'X-Amz-X509');
  } catch {
    throw denied('Untrusted Signing Certificate');
  }
  checkSignature(req, ctx, leaf);
  // §1.2, the end-entity rules: the same ones pki lint and pki verify apply.
  if (leafRefusal(leaf, ctx.now())) throw denied('Untrusted certificate. Insufficient certificate');
  const chainHeader = single(req, 'x-amz-x509-chain');
  const chainParts = chainHeader ? chainHeader.split(',').map((s) => s.trim()) : [];
  if (chainParts.length > MAX_CHAIN_CERTIFICATES) throw validation(`X-Amz-X509-Chain holds ${chainParts.length} certificates; the maximum depth is ${MAX_CHAIN_CERTIFICATES}`);
  let chain: ParsedCertificate[];
  try {
    chain = chainParts.map((b) => parseCertificate(Buffer.from(b, 'base64'), 'X-Amz-X509-Chain'));
  } catch {
    throw denied('Untrusted Signing Certificate');
  }
  const taArn = req.query.get('trustAnchorArn');
  const profileArn = req.query.get('profileArn');
  const roleArn = req.query.get('roleArn');
  if (!taArn || !profileArn || !roleArn) throw validation('trustAnchorArn, profileArn and roleArn are required');
  const anchor = ctx.anchors().find((a) => a.trustAnchorArn === taArn);
  if (!anchor) throw new ServiceError('ResourceNotFoundException', 404, "Specified Trust Anchor wasn't found.");
  if (!anchor.enabled) throw denied('Trust anchor is disabled');
  const anchorCerts = decodePemBlocks(anchor.source.sourceData.x509CertificateData, 'trust anchor').map((b) => parseCertificate(b.der, 'trust anchor'));
  const now = ctx.now();
  // The same path validation as `pki verify` (src/x509/path.ts): Roles Anywhere's rules, the anchor's enabled CRLs.
  // Fail closed on the anchor's enabled CRLs: one that cannot be decoded, or whose signer cannot be established for
  // this request, refuses the request (a verdict of "unknown", never "not revoked").
  const enabled = decodeEnabledCrls(ctx.crls().filter((c) => c.trustAnchorArn === taArn));
  checkCrlSigners(enabled, [leaf, ...chain], [...anchorCerts, ...chain]);
  const crls = enabled.map((e) => e.crl).filter((c) => ctx.expiredCrl === 'reject' || !c.nextUpdate || c.nextUpdate.getTime() >= now.getTime());
  // An exception here is a defect, not a verdict: it reaches the server as a 500 with a request id.
  const verdict = validatePath(leaf, chain, anchorCerts, crls, { at: now, rejectWeakSignatures: true, crlCheck: 'given', maxIntermediates: 5 });
  if (!verdict.ok) throw denied(verdict.failure.check === 'revoked' ? 'Certificate revoked' : 'Untrusted Signing Certificate');
  // An ML-DSA workload key is documented; a path signed with ML-DSA (an ML-DSA CA) is UNCONFIRMED (--mldsa-certificates).
  if ((ctx.mlDsaCertificates ?? 'reject') === 'reject' && verdict.path.some((c, i) => mlDsaCertificateUse(c, i > 0))) throw denied('Untrusted Signing Certificate');
  const profile = ctx.profiles().find((p) => p.profileArn === profileArn);
  if (!profile || !profile.enabled) throw denied('Invalid or empty profile provided.');
  if (!profile.roleArns.includes(roleArn)) throw denied("Requested Role isn't one of those listed in the Profile.");
  let body: Record<string, unknown> = {};
  try {
    body = req.raw.length ? (JSON.parse(req.raw.toString('utf8')) as Record<string, unknown>) : {};
  } catch {
    throw validation('Request body is not valid JSON');
  }
  const requested = body.durationSeconds;
  if (requested !== undefined && (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 900 || requested > 43200))
    throw validation("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200");
  const roleSessionName = body.roleSessionName;
  if (roleSessionName !== undefined) {
    if (!profile.acceptRoleSessionName) throw denied('Not authorized to set roleSessionName.');
    if (typeof roleSessionName !== 'string' || !ROLE_SESSION_NAME.test(roleSessionName))
      throw validation("1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: 2-64 characters of [\\w+=,.@-]");
  }
  const duration = Math.min(profile.durationSeconds, (requested as number | undefined) ?? profile.durationSeconds);
  const preview = previewSession(leaf, profile.attributeMappings);
  const sessionName = (roleSessionName as string | undefined) ?? preview.roleSessionName;
  const roleName = roleArn.split('/').pop()!;
  const creds = {
    accessKeyId: accessKeyId(),
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(240).toString('base64')}`,
    expiration: new Date(now.getTime() + duration * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const record: SessionRecord = {
    at: now.toISOString(),
    trustAnchorArn: taArn,
    profileArn,
    roleArn,
    serial: leaf.serialHex,
    roleSessionName: sessionName,
    sourceIdentity: preview.sourceIdentity,
    principalTags: preview.tags,
    dropped: preview.dropped,
    durationSeconds: duration,
    accessKeyId: creds.accessKeyId,
  };
  return {
    record,
    body: {
      credentialSet: [
        {
          assumedRoleUser: { arn: `arn:aws:sts::${ctx.account}:assumed-role/${roleName}/${sessionName}`, assumedRoleId: `AROA${[...randomBytes(17)].map((b) => BASE32[b % 32]).join('')}:${sessionName}` },
          credentials: creds,
          packedPolicySize: Math.min(100, Object.keys(preview.tags).length * 2),
          roleArn,
          sourceIdentity: preview.sourceIdentity,
        },
      ],
      subjectArn: `arn:aws:rolesanywhere:${ctx.region}:${ctx.account}:subject/${randomUUID()}`,
    },
  };
}
