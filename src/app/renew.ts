/**
 * `pki renew`: re-issues a workload certificate this PKI issued, with the same subject (the exact DER), SANs and
 * profile, a new serial and a new validity window, for a new key: from a CSR (the workload keeps its key: key
 * rotation, preferred) or a key generated here. Refuses a revoked certificate, a CA certificate and a certificate
 * the CA did not issue or has no record of. Optionally revokes the old certificate (`--revoke-old superseded`).
 */
import { dirname } from 'node:path';
import { PkiError, throwIfAny } from '../errors.js';
import { parseKeyType } from '../crypto/keys.js';
import type { PassphraseSource } from '../crypto/passphrase.js';
import { parseValidity } from '../domain/duration.js';
import { normaliseSerial, parseReason, reasonName } from '../domain/serial.js';
import { checkOutput, probeWritableDir, writeFileAtomic, writePrivateKeyFile } from '../fs/files.js';
import { loadProfile } from '../profile/load.js';
import { parseCertificate, readCertificate, verifyCertificateSignature } from '../x509/certificate.js';
import { readCsr } from '../x509/csr.js';
import { toPem } from '../asn1/pem.js';
import { csrData } from './csr-pool.js';
import { generatedRequestFromSpki, planCertificate, recordIssued, requestFromCsr, sha256Fingerprint, signPlanned, type SubjectRequest } from './issuance.js';
import { newRevocation } from './revoke.js';
import type { InputDocument } from './documents.js';
import { assertIssuing } from './rotation-state.js';
import { caCertificate, generateWorkloadKey, getCa, unlockCa, withWorkspace, type Workspace } from './workspace.js';

export interface RenewInput extends PassphraseSource {
  dir?: string;
  ca: string;
  /** The certificate to renew (PEM or DER), or its serial (the certificate is taken from the store). */
  cert?: InputDocument;
  serial?: string;
  /** The profile, when the one recorded for the certificate cannot be found by name (a file given at issuance). */
  profile?: string;
  /** A CSR for the new key (its subject and SANs are not used: the old certificate's are). */
  csr?: InputDocument;
  /** Generate the new key here and write it there (PKCS#8, 0600). */
  keyOut?: string;
  /** Type of a generated key (default: the old certificate's key type). */
  keyType?: string;
  out: string;
  validity?: string;
  /** Revoke the old certificate with this reason once the new one is recorded and written (e.g. superseded). */
  revokeOld?: string;
  force?: boolean;
}

export async function renewCertificate(deps: Workspace['deps'], input: RenewInput) {
  if (!!input.cert === !!input.serial) throw new PkiError('USAGE_MISSING_INPUT', 'give the certificate to renew: input.cert FILE or input.serial HEX (one of them)', { details: { input: ['cert', 'serial'] } });
  if (input.csr && input.keyOut) throw new PkiError('USAGE_CONFLICT', 'input.csr and input.keyOut exclude each other: give input.csr for a key the workload made, or input.keyOut to generate one here', { details: { input: ['csr', 'keyOut'] } });
  if (!input.csr && !input.keyOut) throw new PkiError('USAGE_MISSING_INPUT', 'give input.csr FILE (the workload\'s new key) or input.keyOut FILE (a key generated here)', { details: { input: ['csr', 'keyOut'] } });
  if (input.keyType && input.csr) throw new PkiError('USAGE_CONFLICT', 'input.keyType applies to generated keys, not to input.csr', { details: { input: ['keyType', 'csr'] } });
  const reason = input.revokeOld === undefined ? undefined : parseReason(input.revokeOld, 'input.revokeOld');
  const validitySeconds = input.validity === undefined ? undefined : parseValidity(input.validity, 'input.validity');
  const force = input.force ?? false;
  if (input.keyOut && input.keyOut === input.out) throw new PkiError('USAGE_CONFLICT', `input.keyOut ${input.keyOut} is also input.out`, { details: { input: ['keyOut', 'out'] } });
  for (const [path, flag] of [[input.out, 'input.out'], [input.keyOut, 'input.keyOut']] as const) {
    if (!path) continue;
    checkOutput(path, flag, force);
    probeWritableDir(dirname(path), flag);
  }
  const askedSerial = input.serial === undefined ? undefined : normaliseSerial(input.serial);
  const fromFile = input.cert === undefined ? undefined : readCertificate(input.cert.data, input.cert.name);
  const csr = input.csr ? readCsr(input.csr.data, input.csr.name) : undefined;
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    let old = fromFile;
    if (!old) {
      const [row] = await ws.store.getCertificates(askedSerial!, ca.id);
      if (!row) throw new PkiError('NOT_FOUND_SERIAL', `input.serial ${askedSerial}: no certificate with this serial was issued by CA ${ca.name}`, { details: { serial: askedSerial, ca: ca.name } });
      old = parseCertificate(row.der, `serial ${askedSerial}`);
    }
    const what = input.cert ? `input.cert ${input.cert.name}` : `input.serial ${askedSerial}`;
    if (!ca.certDer || !verifyCertificateSignature(old, caCertificate(ca).publicKey))
      throw new PkiError('NOT_FOUND_SERIAL', `${what} was not issued by CA ${ca.name} (its signature does not verify with ${ca.name}'s key)`, {
        details: { file: input.cert?.name ?? null, ca: ca.name, serial: old.serialHex },
        hint: 'renew a certificate with the CA that issued it (pki inspect shows its issuer)',
      });
    const [record] = await ws.store.getCertificates(old.serialHex, ca.id);
    if (!record || !record.der.equals(old.der))
      throw new PkiError('NOT_FOUND_SERIAL', `${what}: serial ${old.serialHex} is not on record for CA ${ca.name}`, {
        details: { file: input.cert?.name ?? null, ca: ca.name, serial: old.serialHex },
        hint: 'only certificates issued by this PKI can be renewed; import the CA\'s history first or issue a new certificate',
      });
    if (record.isCa) throw new PkiError('USAGE_NOT_A_LEAF', `${what} (serial ${old.serialHex}) is a CA certificate: renew workload certificates only`, { details: { serial: old.serialHex } });
    if (record.revocation)
      throw new PkiError('STATE_CERTIFICATE_REVOKED', `${what}: serial ${old.serialHex} was revoked on ${record.revocation.revokedAt.toISOString()} (${reasonName(record.revocation.reason)}); a revoked certificate is not renewed`, {
        details: { file: input.cert?.name ?? null, serial: old.serialHex, ca: ca.name },
        hint: `issue a new certificate with pki issue --ca ${ca.name}`,
      });
    await assertIssuing(ws, ca);
    let profile;
    try {
      profile = loadProfile(input.profile ?? record.profile, ws.config.profilesDir, ws.deps.cwd);
    } catch (e) {
      if (e instanceof PkiError && e.code === 'NOT_FOUND_PROFILE' && input.profile === undefined)
        throw new PkiError(e.code, `serial ${old.serialHex} was issued with profile ${record.profile}, which is not found now: ${e.message}`, {
          details: { ...e.details, input: 'profile' },
          hint: 'pass input.profile NAME_OR_FILE (the profile it was issued with, e.g. the file given to pki issue --profile)',
        });
      throw e;
    }
    if (profile.kind !== 'leaf') throw new PkiError('USAGE_PROFILE_KIND', `serial ${old.serialHex} was issued with profile ${profile.name}, a ${profile.kind} profile`, { details: { profile: profile.name } });
    const subject = { der: old.subjectDer, dn: old.subjectDn };
    let req: SubjectRequest;
    let generated: ReturnType<typeof generateWorkloadKey> | undefined;
    if (csr) {
      req = requestFromCsr(csrData(csr), subject, old.sans);
      if (csr.spki.equals(old.spki)) deps.stderr.write(`warning: ${input.csr!.name} holds the key of the old certificate: the key is not rotated\n`);
    } else {
      generated = generateWorkloadKey(parseKeyType(input.keyType ?? old.publicKey.keyType, 'input.keyType'), deps.randomBytes);
      req = generatedRequestFromSpki(subject.der, subject.dn, generated.signer.spki, `renewal of ${old.serialHex}`, old.sans);
    }
    const signer = await unlockCa(ws, ca, input);
    const plan = planCertificate(ws, { name: signer.ca.name, notBefore: signer.cert.notBefore, notAfter: signer.cert.notAfter, subject: signer.cert.subject }, profile, req, { validitySeconds, ca: false });
    throwIfAny(plan.problems, `renewal of ${old.serialHex}: ${plan.problems.length} problems`);
    for (const w of plan.warnings) deps.stderr.write(`warning: ${w}\n`);
    const issued = [await signPlanned(ws, signer.issuer, plan.fields!, req, profile)];
    await recordIssued(ws, signer, issued, [req], profile);
    // Recorded. The key is written after the record (never before: --force over the old key would lose it if
    // recording failed), then the certificate: a watcher (pki credential serve) sees the pair complete.
    const cert = issued[0]!;
    const serial = cert.record.serial;
    const after = (what: string, write: () => void, hint: string): void => {
      try {
        write();
      } catch (e) {
        const err = e as PkiError;
        // The file it could not write is an input (input.out, input.keyOut): keep it named for the CLI.
        const field = /^input\.([a-z][A-Za-z0-9]*)\b/.exec(err.message)?.[1];
        throw new PkiError(err.code, `certificate ${serial} (renewal of ${old.serialHex}) is issued and recorded, but ${what}: ${err.message}`, { details: { ...err.details, serial, ca: ca.name, ...(field ? { input: field } : {}) }, hint, cause: e });
      }
    };
    if (generated && input.keyOut) {
      const keyOut = input.keyOut;
      after('its key could not be written', () => writePrivateKeyFile(keyOut, generated.privateKeyPem(), 'input.keyOut', force), `fix the cause and renew again (pki revoke --ca ${ca.name} --serial ${serial} --reason superseded for this one)`);
    }
    after('the certificate file could not be written', () => writeFileAtomic(input.out, toPem('CERTIFICATE', cert.der), { force, flag: 'input.out' }), `pki show ${serial} --ca ${ca.name} --pem --out ${input.out} --force`);
    let revokedOld: string | null = null;
    if (reason !== undefined) {
      try {
        await ws.store.revoke(ca.id, [newRevocation(old.serialHex, reason, ws.now, null)], deps.actor, ws.now);
      } catch (e) {
        const err = e as PkiError;
        throw new PkiError(err.code ?? 'INTERNAL', `certificate ${serial} is issued and written, but revoking the old one (${old.serialHex}) failed: ${err.message}`, {
          details: { serial, oldSerial: old.serialHex },
          hint: `pki revoke --ca ${ca.name} --serial ${old.serialHex} --reason ${reasonName(reason)}`,
          cause: e,
        });
      }
      revokedOld = reasonName(reason);
    }
    return {
      serial,
      oldSerial: old.serialHex,
      issuer: ca.name,
      subject: cert.record.subjectDn,
      sans: cert.record.sans,
      profile: profile.name,
      notBefore: cert.record.notBefore.toISOString(),
      notAfter: cert.record.notAfter.toISOString(),
      sha256: sha256Fingerprint(cert.der),
      out: input.out,
      keyOut: input.keyOut ?? null,
      revokedOld,
    };
  });
}
