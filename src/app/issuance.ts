/**
 * The issuance core shared by CA creation and end-entity issuance: policy checks (profile + Roles Anywhere),
 * the validity window, signing, and durable recording with serial-collision retry.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { PkiError } from '../errors.js';
import { addDuration, describeDuration, type Duration } from '../domain/duration.js';
import { describeKey, type KeyType } from '../crypto/keys.js';
import { checkKey, checkNames, type Profile } from '../domain/profile.js';
import { previewSession } from '../domain/session.js';
import { newSerial } from '../domain/serial.js';
import type { NewCertificate } from '../ports.js';
import { buildCertificate, serialToHex, type CertificateFields } from '../x509/certificate.js';
import { formatSan, sanProblems, type San } from '../x509/extensions.js';
import { decodeNameDer, type Rdns } from '../x509/name.js';
import type { CsrData } from './csr-pool.js';
import { readPublicKeyInfo } from '../x509/spki.js';
import type { CaSigner, Workspace } from './workspace.js';

/** What a subject asks for, from a CSR or a generated key. */
export interface SubjectRequest {
  /** Where the request came from (CSR path, "generated key"), for messages and the audit log. */
  source: string;
  subjectDer: Buffer;
  subjectDn: string;
  /** The subject decoded (from the CSR's parser), when already known; decoded from subjectDer otherwise. */
  subject?: Rdns;
  spki: Buffer;
  /** keyIdentifier(spki), when already computed. */
  subjectKeyId?: Buffer;
  keyType?: KeyType;
  keyDescription: string;
  rsaBits?: number;
  sans: San[];
}

/** A request from a parsed CSR, with optional --subject / --san overrides. */
export function requestFromCsr(csr: CsrData, subjectOverride: { der: Buffer; dn: string } | undefined, sansOverride: San[] | undefined): SubjectRequest {
  const req: SubjectRequest = {
    source: csr.source,
    subjectDer: subjectOverride?.der ?? csr.subjectDer,
    subjectDn: subjectOverride?.dn ?? csr.subjectDn,
    spki: csr.spki,
    keyDescription: csr.keyDescription,
    sans: sansOverride ?? csr.sans,
  };
  if (csr.keyType) req.keyType = csr.keyType;
  if (csr.rsaBits) req.rsaBits = csr.rsaBits;
  if (csr.subject && !subjectOverride) req.subject = csr.subject;
  if (csr.subjectKeyId) req.subjectKeyId = csr.subjectKeyId;
  return req;
}

/** A request for a key generated here. */
export function generatedRequest(subjectDer: Buffer, subjectDn: string, publicKey: KeyObject, source: string, sans: San[] = []): SubjectRequest {
  const desc = describeKey(publicKey);
  const req: SubjectRequest = { source, subjectDer, subjectDn, spki: publicKey.export({ format: 'der', type: 'spki' }), keyDescription: desc.description, sans };
  if (desc.keyType) req.keyType = desc.keyType;
  if (desc.rsaBits) req.rsaBits = desc.rsaBits;
  return req;
}

/** A request for a key held by a key store (only its public key, as a DER SubjectPublicKeyInfo, is known here). */
export function generatedRequestFromSpki(subjectDer: Buffer, subjectDn: string, spki: Buffer, source: string, sans: San[] = []): SubjectRequest {
  // Read by pki's SPKI reader, so ML-DSA keys (which Node cannot import) are requests like any other.
  const desc = readPublicKeyInfo(spki);
  const req: SubjectRequest = { source, subjectDer, subjectDn, spki, keyDescription: desc.description, sans };
  if (desc.keyType) req.keyType = desc.keyType;
  if (desc.rsaBits) req.rsaBits = desc.rsaBits;
  return req;
}

/** The validity window for a new certificate, with every problem found. Years are calendar years. */
export function validityWindow(
  profile: Profile,
  requested: number | Duration | undefined,
  issuer: { name: string; notBefore: Date; notAfter: Date },
  now: Date,
): { notBefore: Date; notAfter: Date; problems: PkiError[] } {
  const problems: PkiError[] = [];
  const wanted = requested ?? profile.validity.defaultParts ?? profile.validity.default;
  const nowSec = Math.floor(now.getTime() / 1000);
  const start = new Date(nowSec * 1000);
  const notAfter = addDuration(start, wanted);
  const max = profile.validity.maxParts ?? profile.validity.max;
  if (notAfter.getTime() > addDuration(start, max).getTime())
    problems.push(
      new PkiError('POLICY_VALIDITY_TOO_LONG', `requested validity ${describeDuration(wanted)} exceeds profile ${profile.name}'s maximum of ${describeDuration(max)}`, {
        details: { requested: describeDuration(wanted), max: describeDuration(max), requestedSeconds: (notAfter.getTime() - start.getTime()) / 1000, maxSeconds: profile.validity.max },
      }),
    );
  const notBefore = new Date(Math.max(nowSec - profile.backdate, Math.floor(issuer.notBefore.getTime() / 1000)) * 1000);
  if (issuer.notAfter.getTime() <= now.getTime())
    problems.push(new PkiError('STATE_CA_EXPIRED', `CA ${issuer.name} expired at ${issuer.notAfter.toISOString()}`, { details: { ca: issuer.name } }));
  else if (issuer.notBefore.getTime() > now.getTime())
    problems.push(new PkiError('STATE_CA_NOT_YET_VALID', `CA ${issuer.name} is not valid before ${issuer.notBefore.toISOString()}`, { details: { ca: issuer.name } }));
  else if (notAfter.getTime() > issuer.notAfter.getTime())
    problems.push(
      new PkiError('POLICY_VALIDITY_EXCEEDS_ISSUER', `the certificate would expire at ${notAfter.toISOString()}, after its issuer CA ${issuer.name} (${issuer.notAfter.toISOString()})`, {
        details: { notAfter: notAfter.toISOString(), issuerNotAfter: issuer.notAfter.toISOString(), input: 'validity' },
        hint: 'ask for a shorter input.validity, or rotate the CA',
      }),
    );
  return { notBefore, notAfter, problems };
}

export interface PlanOptions {
  /** input.validity (calendar years as parsed by parseValidity), or undefined for the profile's default. */
  validitySeconds: number | Duration | undefined;
  ca: boolean;
  pathLen?: number;
  /** Where serials come from (a batch draws them in blocks, {@link serialSource}); newSerial by default. */
  serial?: () => Buffer;
}

/** Checks a request against the profile and the issuer; returns the certificate fields or all problems. */
export function planCertificate(
  ws: Workspace,
  issuer: { name: string; notBefore: Date; notAfter: Date; subject?: Rdns },
  profile: Profile,
  req: SubjectRequest,
  opts: PlanOptions,
): { fields?: CertificateFields; problems: PkiError[]; warnings: string[] } {
  const problems: PkiError[] = [];
  const warnings: string[] = [];
  problems.push(...checkKey(profile, req.keyType, req.keyDescription, req.rsaBits, req.source));
  for (const san of req.sans) for (const m of sanProblems(san)) problems.push(new PkiError('POLICY_BAD_SAN', `${req.source}: SAN ${m}`, { details: { file: req.source } }));
  let subject: Rdns = [];
  if (req.subject) subject = req.subject;
  else
    try {
      subject = decodeNameDer(req.subjectDer);
    } catch (e) {
      problems.push(e instanceof PkiError ? e : new PkiError('CRYPTO_BAD_DER', `the subject cannot be decoded: ${(e as Error).message}`));
    }
  problems.push(...checkNames(profile, req.subjectDn, req.sans, req.subjectDer.length === 2, subject).map((p) => withSource(p, req.source)));
  const window = validityWindow(profile, opts.validitySeconds, issuer, ws.now);
  problems.push(...window.problems);
  if (profile.kind === 'leaf' && profile.rolesAnywhere && profile.droppedSessionTags !== 'ignore' && req.subjectDer.length > 2) {
    // Values STS would refuse are dropped by Roles Anywhere without an error (reference §6.2): say so now.
    const preview = previewSession({ serialHex: '00', subject, issuer: issuer.subject ?? [], sans: req.sans, sanDirectoryNames: [] });
    for (const d of preview.dropped) {
      const message = `${req.source}: session tag ${d.tag}="${d.value}" would be dropped by Roles Anywhere: ${d.reason}`;
      if (profile.droppedSessionTags === 'refuse')
        problems.push(new PkiError('POLICY_SESSION_TAG_DROPPED', message, { details: { file: req.source, tag: d.tag }, hint: `profile ${profile.name} has droppedSessionTags: refuse` }));
      else warnings.push(message);
    }
  }
  if (problems.length) return { problems, warnings };
  const fields: CertificateFields = {
    serial: opts.serial ? opts.serial() : newSerial(ws.deps.randomBytes),
    notBefore: window.notBefore,
    notAfter: window.notAfter,
    subject: req.subjectDer,
    spki: req.spki,
    ca: opts.ca,
    keyUsage: profile.keyUsage,
    extendedKeyUsage: profile.extendedKeyUsage,
    sans: req.sans,
    crlDistributionPoints: profile.crlDistributionPoints,
  };
  if (opts.pathLen !== undefined) fields.pathLen = opts.pathLen;
  if (req.subjectKeyId) fields.subjectKeyId = req.subjectKeyId;
  return { fields, problems, warnings };
}

function withSource(p: PkiError, source: string): PkiError {
  return source.startsWith('--') || p.message.startsWith(source) ? p : new PkiError(p.code, `${source}: ${p.message}`, { details: { ...p.details, file: source }, ...(p.hint ? { hint: p.hint } : {}) });
}

export interface IssuedCertificate {
  record: NewCertificate;
  der: Buffer;
  fields: CertificateFields;
}

/** Signs one planned certificate (through the issuer's {@link Signer}) into a store record. */
export async function signPlanned(ws: Workspace, signer: CaSigner['issuer'], fields: CertificateFields, req: SubjectRequest, profile: Profile): Promise<IssuedCertificate> {
  return issuedRecord(ws, await buildCertificate(signer, fields), fields, req, profile);
}

function issuedRecord(ws: Workspace, der: Buffer, fields: CertificateFields, req: SubjectRequest, profile: Profile): IssuedCertificate {
  return {
    der,
    fields,
    record: {
      serial: serialToHex(fields.serial),
      subjectDn: req.subjectDn,
      sans: fields.sans.map(formatSan),
      notBefore: fields.notBefore,
      notAfter: fields.notAfter,
      profile: profile.name,
      der,
      isCa: fields.ca,
      requestedBy: ws.deps.actor,
      source: req.source,
    },
  };
}

/**
 * Records signed certificates in one transaction. A serial that already exists for the issuer (astronomically
 * unlikely with 126 random bits, but checked) is re-signed with a fresh serial and recorded again.
 */
export async function recordIssued(ws: Workspace, signer: CaSigner, issued: IssuedCertificate[], requests: SubjectRequest[], profile: Profile): Promise<void> {
  let pending = issued.map((c, i) => ({ c, i }));
  for (let attempt = 0; pending.length; attempt++) {
    if (attempt === 5) throw new PkiError('STATE_SERIAL_COLLISION', 'serial numbers kept colliding with existing ones; is the random source broken?');
    const { collisions } = await ws.store.recordIssued(signer.ca.id, pending.map((p) => p.c.record), ws.deps.actor, ws.now);
    const next: typeof pending = [];
    for (const k of collisions) {
      const { i } = pending[k]!;
      const old = issued[i]!;
      const fields = { ...old.fields, serial: newSerial(ws.deps.randomBytes) };
      issued[i] = await signPlanned(ws, signer.issuer, fields, requests[i]!, profile);
      next.push({ c: issued[i]!, i });
    }
    pending = next;
  }
}

export function sha256Fingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}
