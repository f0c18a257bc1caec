/**
 * What every `pki import TOOL` shares: the old CA's certificate and key (checked, the key re-encrypted into this
 * PKI's key store), certificate files checked against the CA, the old CRL read for its number and entries, and the
 * one store transaction that records the CA with its whole history (all or nothing).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { PkiError, throwIfAny } from '../../errors.js';
import { KEY_TYPES, spkiMatches, type KeyType } from '../../crypto/keys.js';
import type { AdoptedKey } from '../../adapters/keys/file.js';
import { passphraseForNewKey, passphraseToUnlock, type PassphraseSource } from '../../crypto/passphrase.js';
import { readCrlFile, readInput } from '../../fs/files.js';
import type { CaHistory, CaRecord, Deps, ImportedEntry, NewCertificate, NewRevocation } from '../../ports.js';
import { readCertificate, verifyCertificateSignature, type ParsedCertificate } from '../../x509/certificate.js';
import { decodeCrl, walkCrlEntries, type CrlEntry } from '../../x509/crl.js';
import { formatSan, keyIdentifier } from '../../x509/extensions.js';
import { assertCaNameFree, caSummary, checkCaCertificate, checkCaName } from '../ca/index.js';
import { sha256Fingerprint } from '../issuance.js';
import { encodeCrlEntry } from '../../x509/crl.js';
import { caCertificate, caKeyStore, type Workspace } from '../workspace.js';

export interface ImportCommonInput extends PassphraseSource {
  dir?: string;
  name: string;
  keyPassphraseFile?: string;
  noPassphrase?: boolean;
}

/** The old CA, checked: its certificate satisfies the CA rules and the key is the certificate's. */
export interface LegacyCa {
  cert: ParsedCertificate;
  certFile: string;
  /** The key, read and held by the key store until the import commits. */
  key: AdoptedKey;
  keyType: KeyType;
  parent: CaRecord | undefined;
}

/** Most problems listed in one error (a million bad lines are counted, not all listed). */
export const MAX_LISTED_PROBLEMS = 100;

/** Collects problems up to MAX_LISTED_PROBLEMS and counts the rest. */
export class Problems {
  readonly list: PkiError[] = [];
  count = 0;
  add(e: PkiError): void {
    this.count++;
    if (this.list.length < MAX_LISTED_PROBLEMS) this.list.push(e);
  }
  throwIfAny(what: string): void {
    if (!this.count) return;
    const more = this.count > this.list.length ? ` (the first ${this.list.length} are listed)` : '';
    throwIfAny(this.list, `${what}: ${this.count} problem(s)${more}; nothing was imported`);
  }
}

export async function checkImportName(ws: Workspace, name: string): Promise<void> {
  checkCaName(name);
  await assertCaNameFree(ws, name);
}

/** The input fields that labels such as `input.cert` name, for `details.input` (other labels name none). */
export function inputFieldsOf(...labels: string[]): string[] {
  return [...new Set(labels.filter((l) => /^input\.[a-z][A-Za-z0-9]*$/.test(l)).map((l) => l.slice(6)))];
}

/** Reads and checks the old CA's certificate and key (`certFlag`, `keyFlag`: the input fields, as `input.cert`). */
export async function loadLegacyCa(ws: Workspace, deps: Deps, input: ImportCommonInput, certFile: string, certFlag: string, keyFile: string, keyFlag: string): Promise<LegacyCa> {
  const cert = readCertificate(readInput(certFile, certFlag), certFile);
  checkCaCertificate(cert, certFile, ws.now);
  const keyPem = readInput(keyFile, keyFlag);
  const text = keyPem.toString('latin1');
  const encrypted = text.includes('ENCRYPTED PRIVATE KEY') || /Proc-Type:\s*4,ENCRYPTED/.test(text);
  const pass = encrypted
    ? await passphraseToUnlock(deps, { ...(input.keyPassphraseFile ? { passphraseFile: input.keyPassphraseFile } : {}) }, `${keyFlag} ${keyFile}`, 'input.keyPassphraseFile')
    : undefined;
  const key = caKeyStore(ws).adopt(keyPem, keyFile, pass, input.name);
  if (!spkiMatches(key.spki, cert.publicKey))
    throw new PkiError('CRYPTO_KEY_MISMATCH', `${keyFlag} ${keyFile} is not the key of ${certFlag} ${certFile}; nothing was imported`, { details: { file: keyFile, cert: certFile, input: inputFieldsOf(keyFlag, certFlag) } });
  const keyType = key.keyType;
  if (!keyType) throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `${keyFlag} ${keyFile}: ${key.description} is not supported for a CA (use ${KEY_TYPES.join(', ')})`, { details: { file: keyFile, input: inputFieldsOf(keyFlag) } });
  let parent: CaRecord | undefined;
  if (!cert.subjectDer.equals(cert.issuerDer))
    for (const ca of await ws.store.listCas()) {
      if (ca.status !== 'active' || !ca.certDer) continue;
      const p = caCertificate(ca);
      if (p.subjectDer.equals(cert.issuerDer) && verifyCertificateSignature(cert, p.publicKey)) {
        parent = ca;
        break;
      }
    }
  return { cert, certFile, key, keyType, parent };
}

/** Whether `cert` was issued by the old CA (issuer name and signature). */
export function issuedBy(cert: ParsedCertificate, ca: ParsedCertificate): boolean {
  return cert.issuerDer.equals(ca.subjectDer) && verifyCertificateSignature(cert, ca.publicKey);
}

/** The store record of a certificate the old CA issued. */
export function importedCertificate(deps: Deps, cert: ParsedCertificate, tool: string, source: string): NewCertificate {
  return {
    serial: cert.serialHex,
    subjectDn: cert.subjectDn,
    sans: cert.sans.map(formatSan),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    profile: `imported:${tool}`,
    der: cert.der,
    isCa: cert.basicConstraints?.ca ?? false,
    requestedBy: deps.actor,
    source,
  };
}

/**
 * The store record of a serial known only from the old tool's records (no certificate file): an empty `der`; the
 * notBefore is unknown and recorded as the CA's own notBefore.
 */
export function knownSerial(deps: Deps, ca: ParsedCertificate, serial: string, subjectDn: string, notAfter: Date, tool: string, source: string): NewCertificate {
  return { serial, subjectDn, sans: [], notBefore: ca.notBefore, notAfter, profile: `imported:${tool}`, der: Buffer.alloc(0), isCa: false, requestedBy: deps.actor, source };
}

export function importedRevocation(serial: string, reason: number, revokedAt: Date, invalidityDate: Date | null): NewRevocation {
  const entryDer = encodeCrlEntry(serial, revokedAt, reason, invalidityDate);
  return { serial, reason, revokedAt, invalidityDate, entryDer, entryDerNoReason: reason ? encodeCrlEntry(serial, revokedAt, null, invalidityDate) : null };
}

/** The certificate files in a directory (non-recursive): `.pem`, `.crt`, `.cer`, `.der`. */
export function certificateFiles(dir: string, flag: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PkiError('NOT_FOUND_FILE', `${flag} ${dir}: no such directory; nothing was imported`, { details: { file: dir, flag } });
    if (code === 'ENOTDIR') throw new PkiError('USAGE_NOT_A_DIRECTORY', `${flag} ${dir} is not a directory`, { details: { file: dir, flag } });
    throw new PkiError('IO_READ_FAILED', `${flag} ${dir}: ${(e as Error).message}`, { details: { file: dir, flag }, cause: e });
  }
  return names
    .filter((n) => /\.(pem|crt|cer|der)$/i.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** A certificate file of the old CA, checked: where it is and when it expires. */
export interface CertificateFile {
  file: string;
  notAfter: Date;
}

/**
 * Indexes certificate files by serial. Every file must hold a certificate the old CA issued: one from another CA
 * (or two files with one serial) is a problem, named by file.
 */
export function indexCertificateFiles(files: string[], flag: string, ca: ParsedCertificate, problems: Problems): Map<string, CertificateFile> {
  const bySerial = new Map<string, CertificateFile>();
  for (const file of files) {
    let cert: ParsedCertificate;
    try {
      cert = readCertificate(readInput(file, flag), file);
    } catch (e) {
      if (!(e instanceof PkiError)) throw e;
      problems.add(e);
      continue;
    }
    if (!issuedBy(cert, ca)) {
      problems.add(new PkiError('CRYPTO_CHAIN_MISMATCH', `${file} (serial ${cert.serialHex}, issuer "${cert.issuerDn}") was not issued by the CA being imported ("${ca.subjectDn}")`, { details: { file, serial: cert.serialHex } }));
      continue;
    }
    const other = bySerial.get(cert.serialHex)?.file;
    if (other) {
      const same = fs.readFileSync(other).equals(fs.readFileSync(file));
      if (!same) problems.add(new PkiError('USAGE_DUPLICATE_SERIAL', `${file} and ${other} are two different certificates with serial ${cert.serialHex}`, { details: { file, serial: cert.serialHex } }));
      continue;
    }
    bySerial.set(cert.serialHex, { file, notAfter: cert.notAfter });
  }
  return bySerial;
}

/** An old CRL of the CA: its number and its entries by serial. */
export interface OldCrl {
  file: string;
  crlNumber: bigint | undefined;
  entries: Map<string, CrlEntry>;
}

export function readOldCrl(file: string, flag: string, ca: ParsedCertificate): OldCrl {
  const crl = decodeCrl(readCrlFile(file, flag), file);
  const keyId = ca.subjectKeyId ?? keyIdentifier(ca.spki);
  if (!crl.issuerDer.equals(ca.subjectDer) || (crl.authorityKeyId && !crl.authorityKeyId.equals(keyId)))
    throw new PkiError('CRYPTO_CHAIN_MISMATCH', `${flag} ${file} was issued by "${crl.issuerDn}", not by the CA being imported ("${ca.subjectDn}"); nothing was imported`, { details: { file, input: inputFieldsOf(flag) } });
  if (!ca.publicKey.verify(crl.signatureAlgorithm, crl.tbs, crl.signature))
    throw new PkiError('CRYPTO_BAD_CRL_SIGNATURE', `${flag} ${file}: its signature does not verify with the imported CA's key; nothing was imported`, { details: { file, input: inputFieldsOf(flag) } });
  const entries = new Map<string, CrlEntry>();
  walkCrlEntries(crl, file, (e) => entries.set(e.serialHex, e));
  return { file, crlNumber: crl.crlNumber, entries };
}

/** The lowest number pki's first CRL may carry, from the old tool's candidates (the largest wins). */
export function nextCrlNumberFrom(candidates: Array<{ next: bigint; source: string }>): { nextCrlNumber: number | null; crlNumberSource: string | null } {
  if (!candidates.length) return { nextCrlNumber: null, crlNumberSource: null };
  const best = candidates.reduce((a, b) => (b.next > a.next ? b : a));
  if (best.next > BigInt(Number.MAX_SAFE_INTEGER))
    throw new PkiError('USAGE_BAD_CRL_NUMBER', `${best.source}: CRL number ${best.next} is larger than pki supports (${Number.MAX_SAFE_INTEGER})`, { details: { source: best.source } });
  return { nextCrlNumber: Number(best.next), crlNumberSource: best.source };
}

/**
 * Writes the CA key into this PKI (re-encrypted) and records the CA with its history in one transaction; the key
 * file is removed again when the transaction fails, so nothing is left behind.
 */
export async function commitImport(
  ws: Workspace,
  deps: Deps,
  input: ImportCommonInput,
  legacy: LegacyCa,
  tool: string,
  entries: Iterable<ImportedEntry>,
  crl: { nextCrlNumber: number | null; crlNumberSource: string | null },
  auditDetails: Record<string, unknown>,
): Promise<ReturnType<typeof importSummary>> {
  const passphrase = input.noPassphrase ? undefined : await passphraseForNewKey(deps, input, `CA ${input.name}'s key`);
  const keyPath = legacy.key.persist(passphrase);
  try {
    const { ca, history } = await ws.store.importCaWithHistory(
      {
        name: input.name,
        parentId: legacy.parent?.id ?? null,
        status: 'active',
        subjectDn: legacy.cert.subjectDn,
        certDer: legacy.cert.der,
        csrDer: null,
        externalChainPem: null,
        keyPath,
        keyType: legacy.keyType,
        keyEncrypted: passphrase !== undefined,
        serial: legacy.cert.serialHex,
        notBefore: legacy.cert.notBefore,
        notAfter: legacy.cert.notAfter,
        createdAt: ws.now,
      },
      entries,
      { tool, ...crl },
      { action: 'ca.import-history', target: input.name, details: { tool, serial: legacy.cert.serialHex, sha256: sha256Fingerprint(legacy.cert.der), ...auditDetails } },
      deps.actor,
      ws.now,
    );
    if (passphrase === undefined) deps.stderr.write(`warning: input.noPassphrase: CA ${input.name}'s key ${keyPath} is stored UNENCRYPTED; anyone who can read it can issue certificates\n`);
    return importSummary(ca, legacy, history);
  } catch (e) {
    legacy.key.discard();
    throw e;
  }
}

export function importSummary(ca: CaRecord, legacy: LegacyCa, history: CaHistory) {
  return {
    ...caSummary(ca, legacy.parent?.name ?? null),
    tool: history.tool,
    certificates: history.certificates,
    knownSerials: history.knownSerials,
    revocations: history.revocations,
    nextCrlNumber: history.nextCrlNumber,
    crlNumberSource: history.crlNumberSource,
  };
}

/** Text summary shared by the import commands. */
export function importText(r: ReturnType<typeof importSummary>): string {
  return (
    `Imported CA ${r.name} from ${r.tool}\n` +
    `  subject        ${r.subject}\n` +
    `  certificates   ${r.certificates} with their certificate, ${r.knownSerials} known by serial only\n` +
    `  revocations    ${r.revocations}\n` +
    `  next CRL       ${r.nextCrlNumber === null ? 'unknown: pki crl generate needs --first-crl-number N or --previous OLD.crl' : `#${r.nextCrlNumber} or above (from ${r.crlNumberSource})`}\n` +
    `  key            ${r.keyFile} (${r.keyEncrypted ? 'encrypted' : 'NOT encrypted'})\n`
  );
}

