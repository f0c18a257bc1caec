/** Row shapes and their mapping to records, shared by the SQLite and PostgreSQL adapters (the same columns). */
import { resolve } from 'node:path';
import { keyRefScheme } from '../../ports/signer.js';
import type { KeyType } from '../../crypto/keys.js';
import { PkiError } from '../../errors.js';
import { SerialSetDigest, type AuditContent } from '../../domain/audit.js';
import type { AnchorRecord, AuditEvent, AuditRecord, CaHistory, CaRecord, ImportedEntry, NewCaHistory, CertificateRecord, CrlRecord, PublishedCrl, RotationPhase, RotationRecord, TargetRecord } from '../../ports.js';

export const toSec = (d: Date): number => Math.floor(d.getTime() / 1000);
export const fromSec = (s: number): Date => new Date(s * 1000);

export interface CaRow {
  id: number;
  name: string;
  parent_id: number | null;
  status: CaRecord['status'];
  subject: string;
  cert_der: Buffer | null;
  csr_der: Buffer | null;
  external_chain_pem: string | null;
  key_path: string;
  key_type: string;
  key_encrypted: number;
  serial: string | null;
  not_before: number | null;
  not_after: number | null;
  created_at: number;
  retired_at: number | null;
}

export interface CertRow {
  issuer_id: number;
  issuer_name: string;
  serial: string;
  subject: string;
  sans: string;
  not_before: number;
  not_after: number;
  profile: string;
  is_ca: number;
  der: Buffer;
  requested_by: string;
  source: string;
  created_at: number;
  reason: number | null;
  revoked_at: number | null;
  invalidity_date: number | null;
}

export interface CrlRow {
  issuer_id: number;
  crl_number: number;
  this_update: number;
  next_update: number;
  entries: number;
  pruned: number;
  reasons: number;
  der_size: number;
  pem_size: number;
  sha256: string;
  revocation_epoch: number;
  created_at: number;
}

export function crlFromRow(r: CrlRow): CrlRecord {
  return {
    issuerId: r.issuer_id,
    crlNumber: r.crl_number,
    thisUpdate: fromSec(r.this_update),
    nextUpdate: fromSec(r.next_update),
    entries: r.entries,
    pruned: r.pruned,
    reasons: r.reasons === 1,
    derSize: r.der_size,
    pemSize: r.pem_size,
    sha256: r.sha256,
    revocationEpoch: r.revocation_epoch,
    createdAt: fromSec(r.created_at),
  };
}

export interface PublishedCrlRow {
  anchor_name: string;
  issuer_id: number;
  crl_id: string;
  crl_arn: string;
  crl_number: number;
  sha256: string;
  published_at: number;
}

export function publishedFromRow(r: PublishedCrlRow): PublishedCrl {
  return { anchorName: r.anchor_name, issuerId: r.issuer_id, crlId: r.crl_id, crlArn: r.crl_arn, crlNumber: r.crl_number, sha256: r.sha256, publishedAt: fromSec(r.published_at) };
}

export interface AnchorRow {
  name: string;
  arn: string;
  trust_anchor_id: string;
  region: string;
  ca_names: string;
  bundle_sha256: string;
  updated_at: number;
  target?: string;
  anchor_name?: string | null;
}

export function anchorFromRow(r: AnchorRow): AnchorRecord {
  return {
    name: r.name,
    arn: r.arn,
    trustAnchorId: r.trust_anchor_id,
    region: r.region,
    caNames: JSON.parse(r.ca_names) as string[],
    bundleSha256: r.bundle_sha256,
    updatedAt: fromSec(r.updated_at),
    target: r.target ?? '',
    anchorName: r.anchor_name ?? r.name,
  };
}

export interface TargetRow {
  name: string;
  region: string;
  account: string | null;
  aws_profile: string | null;
  role_arn: string | null;
  endpoint: string | null;
  created_at: number;
}

export function targetFromRow(r: TargetRow): TargetRecord {
  return { name: r.name, region: r.region, account: r.account, awsProfile: r.aws_profile, roleArn: r.role_arn, endpoint: r.endpoint, createdAt: fromSec(r.created_at) };
}

export interface RotationRow {
  id: number;
  anchor_name: string;
  old_ca_id: number;
  new_ca_id: number;
  anchor_change: number;
  bundle_before: string;
  phase: RotationPhase;
  started_at: number;
  switched_at: number | null;
  ended_at: number | null;
  updated_at: number;
}

export function rotationFromRow(r: RotationRow): RotationRecord {
  return {
    id: r.id,
    anchorName: r.anchor_name,
    oldCaId: r.old_ca_id,
    newCaId: r.new_ca_id,
    anchorChange: r.anchor_change === 1,
    bundleBefore: JSON.parse(r.bundle_before) as string[],
    phase: r.phase,
    startedAt: fromSec(r.started_at),
    switchedAt: r.switched_at === null ? null : fromSec(r.switched_at),
    endedAt: r.ended_at === null ? null : fromSec(r.ended_at),
    updatedAt: fromSec(r.updated_at),
  };
}

export function caFromRow(r: CaRow, baseDir: string): CaRecord {
  return {
    id: r.id,
    name: r.name,
    parentId: r.parent_id,
    status: r.status,
    subjectDn: r.subject,
    certDer: r.cert_der,
    csrDer: r.csr_der,
    externalChainPem: r.external_chain_pem,
    // Stored relative to the PKI directory (see migrations.ts storedKeyPath); handed out absolute. A key reference
    // that is a URI (file:, pkcs11:, store:) is handed to the key store as stored.
    keyPath: keyRefScheme(r.key_path) === 'file' && !/^(file|store):/i.test(r.key_path) ? resolve(baseDir, r.key_path) : r.key_path,
    keyType: r.key_type as KeyType,
    keyEncrypted: r.key_encrypted === 1,
    serial: r.serial,
    notBefore: r.not_before === null ? null : fromSec(r.not_before),
    notAfter: r.not_after === null ? null : fromSec(r.not_after),
    createdAt: fromSec(r.created_at),
    retiredAt: r.retired_at === null ? null : fromSec(r.retired_at),
  };
}

export function certFromRow(r: CertRow): CertificateRecord {
  return {
    issuerId: r.issuer_id,
    issuerName: r.issuer_name,
    serial: r.serial,
    subjectDn: r.subject,
    sans: JSON.parse(r.sans) as string[],
    notBefore: fromSec(r.not_before),
    notAfter: fromSec(r.not_after),
    profile: r.profile,
    isCa: r.is_ca === 1,
    der: r.der,
    requestedBy: r.requested_by,
    source: r.source,
    createdAt: fromSec(r.created_at),
    revocation: r.reason === null ? null : { reason: r.reason, revokedAt: fromSec(r.revoked_at!), invalidityDate: r.invalidity_date === null ? null : fromSec(r.invalidity_date) },
  };
}

export const CERT_SELECT = `SELECT c.issuer_id, ca.name AS issuer_name, c.serial, c.subject, c.sans, c.not_before, c.not_after, c.profile, c.is_ca, c.der,
  c.requested_by, c.source, c.created_at, r.reason, r.revoked_at, r.invalidity_date
  FROM certificate c JOIN ca ON ca.id = c.issuer_id LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial`;


/** A ca_history row (the same columns in every adapter). */
export interface CaHistoryRow {
  ca_id: number;
  tool: string;
  next_crl_number: number | null;
  crl_number_source: string | null;
  certificates: number;
  known_serials: number;
  revocations: number;
  imported_at: number;
}

export function caHistoryFromRow(r: CaHistoryRow): CaHistory {
  return {
    caId: r.ca_id,
    tool: r.tool,
    nextCrlNumber: r.next_crl_number,
    crlNumberSource: r.crl_number_source,
    certificates: r.certificates,
    knownSerials: r.known_serials,
    revocations: r.revocations,
    importedAt: fromSec(r.imported_at),
  };
}

/** An audit row as every adapter stores it (details as JSON text: kept verbatim for the hash chain). */
/** An audit row as the SQL adapters read it back (`SELECT * FROM audit`). */
export type AuditTableRow = AuditContent & { prev_hash: string; hash: string };

export function auditRecordFromRow(r: AuditContent & { hash: string }, prevHash: string): AuditRecord {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(r.details) as Record<string, unknown>;
  } catch {
    details = { unparseable: r.details };
  }
  return { seq: r.seq, at: new Date(r.at), atText: r.at, actor: r.actor, action: r.action, target: r.target, details, detailsText: r.details, prevHash, hash: r.hash };
}

/**
 * Why revoking `serial` (the `where`-prefixed item of a batch) is refused, if it is: not issued by this CA, already
 * revoked (`revoked`: when, why), or listed twice in the batch (`seen`: the serials before it; this one is added).
 */
export function revocationRefusal(where: string, serial: string, issued: boolean, revoked: { revokedAt: number; reason: number } | undefined, seen: Set<string>): PkiError | undefined {
  const twice = seen.has(serial);
  seen.add(serial);
  if (!issued) return new PkiError('NOT_FOUND_SERIAL', `${where}no certificate with serial ${serial} was issued by this CA`, { details: { serial } });
  if (revoked)
    return new PkiError('STATE_ALREADY_REVOKED', `${where}certificate ${serial} was already revoked at ${fromSec(revoked.revokedAt).toISOString()}`, {
      details: { serial, revokedAt: fromSec(revoked.revokedAt).toISOString(), reason: revoked.reason },
    });
  if (twice) return new PkiError('USAGE_DUPLICATE_SERIAL', `${where}serial ${serial} is listed twice`, { details: { serial } });
  return undefined;
}

/**
 * What an import with history records, counted as its entries go in: certificates, known serials (no DER) and
 * revocations, and the digests of the serials and revoked serials that its audit event keeps (pki audit verify checks
 * the rows against them).
 */
export class ImportTally {
  certificates = 0;
  knownSerials = 0;
  revocations = 0;
  private readonly serials = new SerialSetDigest();
  private readonly revoked = new SerialSetDigest();

  count(e: ImportedEntry): void {
    this.serials.add(e.cert.serial);
    if (e.cert.der.length) this.certificates++;
    else this.knownSerials++;
    if (e.revocation) {
      this.revoked.add(e.revocation.serial);
      this.revocations++;
    }
  }

  /** The refusal of an entry whose serial was already imported (the whole import is rolled back). */
  static duplicate(e: ImportedEntry): PkiError {
    return new PkiError('USAGE_DUPLICATE_SERIAL', `${e.where}: serial ${e.cert.serial} is listed twice; nothing was imported`, { details: { serial: e.cert.serial, where: e.where } });
  }

  /** The import's audit event: `audit` with the counts and digests. */
  auditEvent(audit: AuditEvent, history: NewCaHistory): AuditEvent {
    const { certificates, knownSerials, revocations } = this;
    return { ...audit, details: { ...audit.details, certificates, knownSerials, revocations, nextCrlNumber: history.nextCrlNumber, serialsDigest: this.serials.hex, revocationsDigest: this.revoked.hex } };
  }
}
