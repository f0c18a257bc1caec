/**
 * What the CA use cases share: the checks a new CA passes (its name, its profile's kind, distinct from every CA in the
 * store, the Roles Anywhere CA rules), the making of a self-signed CA and of a new CA's store row, the pathLen below a
 * parent, the unencrypted-key warning, and the summary a command returns.
 */
import { PkiError, throwIfAny } from '../../errors.js';
import type { KeyType, parseKeyType } from '../../crypto/keys.js';
import type { Duration } from '../../domain/duration.js';
import type { Profile } from '../../domain/profile.js';
import type { CaRecord, Deps, NewCa } from '../../ports.js';
import type { ParsedCertificate } from '../../x509/certificate.js';
import { readCsr } from '../../x509/csr.js';
import { keyIdentifier } from '../../x509/extensions.js';
import { encodeName, formatDn, type parseDn } from '../../x509/name.js';
import { generatedRequestFromSpki, planCertificate, sha256Fingerprint, signPlanned, type IssuedCertificate } from '../issuance.js';
import { lintCa } from '../lint.js';
import { caCertificate, caKeyStore, shownKeyRef, type NewKeySource, type Workspace } from '../workspace.js';
import { storeKind } from '../../adapters/store/url.js';
import { storeKeyRef } from '../../adapters/store/shared-keys.js';

/**
 * Refuses a CA that would duplicate one already in the store: the same certificate or the same key under another
 * name (STATE_CA_DUPLICATE: each would keep its own CRL numbering, two different CRL #1 for one issuer), or the same
 * subject (STATE_CA_SUBJECT_EXISTS: relying parties chain by name, and a CRL names its issuer by subject).
 * `exceptId`: the pending CA being completed.
 */
export async function assertDistinctCa(ws: Workspace, name: string, candidate: { subjectDn: string; subjectDer?: Buffer; spki?: Buffer; certDer?: Buffer }, exceptId?: number): Promise<void> {
  for (const other of await ws.store.listCas()) {
    if (other.id === exceptId) continue;
    const otherCert = other.certDer ? caCertificate(other) : undefined;
    const otherSpki = otherCert?.spki ?? (other.csrDer ? readCsr(other.csrDer, `CA ${other.name} CSR`).spki : undefined);
    if (candidate.certDer && other.certDer?.equals(candidate.certDer))
      throw new PkiError('STATE_CA_DUPLICATE', `this certificate is already CA ${other.name} in this PKI: it cannot also be CA ${name}`, {
        details: { ca: name, existing: other.name },
        hint: `use CA ${other.name}`,
      });
    if (candidate.spki && otherSpki?.equals(candidate.spki))
      throw new PkiError('STATE_CA_DUPLICATE', `this key is already the key of CA ${other.name} in this PKI: it cannot also be CA ${name}`, {
        details: { ca: name, existing: other.name },
        hint: `use CA ${other.name}; a new CA needs a new key`,
      });
    const sameSubject = candidate.subjectDer && otherCert ? otherCert.subjectDer.equals(candidate.subjectDer) : other.subjectDn === candidate.subjectDn;
    if (sameSubject)
      throw new PkiError('STATE_CA_SUBJECT_EXISTS', `CA ${other.name} already has the subject "${other.subjectDn}": CA ${name} needs a subject of its own`, {
        details: { ca: name, existing: other.name, subject: other.subjectDn },
        hint: 'add a generation to the name, e.g. "CN=Example Issuing CA 2"',
      });
  }
}

export const CA_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkCaName(name: string): void {
  if (!CA_NAME_PATTERN.test(name))
    throw new PkiError('USAGE_BAD_CA_NAME', `CA name "${name}" must be 1-64 letters, digits, . _ - (it names the key file)`, { details: { ca: name } });
}

/** Refuses a CA name that is taken (STATE_CA_EXISTS). */
export async function assertCaNameFree(ws: Workspace, name: string): Promise<void> {
  if (await ws.store.getCa(name)) throw new PkiError('STATE_CA_EXISTS', `a CA named "${name}" already exists`, { details: { ca: name } });
}

export function checkProfileKind(profile: Profile, kinds: Profile['kind'][], flag = 'input.profile'): void {
  if (!kinds.includes(profile.kind))
    throw new PkiError('USAGE_PROFILE_KIND', `${flag} ${profile.name} is a ${profile.kind} profile; this command needs ${kinds.join(' or ')}`, { details: { profile: profile.name, input: flag.slice(6) } });
}

/** Where a new CA key ends up: on a shared (PostgreSQL) store, in the store as store:NAME, not in the file written first. */
export function keyShown(ws: { config: { store: { url: string | null } } }, name: string, keyPath: string): string {
  const url = ws.config.store.url;
  return url && storeKind(url) === 'postgres' && !/^pkcs11:/i.test(keyPath) ? `${storeKeyRef(name)} (in the shared store)` : keyPath;
}

/** The warning names the input (`input.noPassphrase`); the commands show its flag on stderr (cli/output/flags.ts). */
export function warnUnencrypted(deps: Deps, what: string): void {
  deps.stderr.write(`warning: input.noPassphrase: ${what} is stored UNENCRYPTED; anyone who can read it can issue certificates\n`);
}

/** The store row of a CA whose certificate was just issued here (its key in `keyPath`). */
export function activeCa(name: string, parentId: number | null, issued: IssuedCertificate, keyPath: string, keyType: KeyType, keyEncrypted: boolean, at: Date): NewCa {
  const r = issued.record;
  return { name, parentId, status: 'active', subjectDn: r.subjectDn, certDer: issued.der, csrDer: null, externalChainPem: null, keyPath, keyType, keyEncrypted, serial: r.serial, notBefore: r.notBefore, notAfter: r.notAfter, createdAt: at };
}

/** A new key and its self-signed CA certificate (a root), planned and checked against `profile`. */
export async function selfSignedCa(ws: Workspace, name: string, profile: Profile, rdns: ReturnType<typeof parseDn>, keyType: ReturnType<typeof parseKeyType>, validitySeconds: Duration | undefined, source: string, keyDescription = `CA ${name} key`, keys?: NewKeySource) {
  const subjectDer = encodeName(rdns);
  const subjectDn = formatDn(rdns);
  const key = (keys ?? caKeyStore(ws)).generate(keyType, name, keyDescription);
  try {
    const req = generatedRequestFromSpki(subjectDer, subjectDn, key.signer.spki, source);
    const selfIssuer = { name, notBefore: new Date(0), notAfter: new Date(8.64e15) };
    const plan = planCertificate(ws, selfIssuer, profile, req, { validitySeconds, ca: true, ...(profile.pathLen === undefined ? {} : { pathLen: profile.pathLen }) });
    throwIfAny(plan.problems, `CA ${name}: ${plan.problems.length} problems`);
    const issuer = { name: subjectDer, keyId: keyIdentifier(req.spki), signer: key.signer };
    return { key, issued: await signPlanned(ws, issuer, plan.fields!, req, profile), subjectDn };
  } catch (e) {
    // A key made on a token exists from its generation on: a failed creation removes it.
    key.discard();
    throw e;
  }
}

/** Computes the pathLen for a new CA below `parentCert`, refusing what the parent's constraint forbids. */
export function childPathLen(parentName: string, parentCert: ParsedCertificate, requested: number | undefined): number | undefined {
  const parentLen = parentCert.basicConstraints?.pathLen;
  if (parentLen === undefined) return requested;
  if (parentLen === 0)
    throw new PkiError('POLICY_PATH_LEN', `CA ${parentName} has pathLen 0: it may not issue CA certificates`, { details: { ca: parentName } });
  if (requested !== undefined && requested >= parentLen)
    throw new PkiError('POLICY_PATH_LEN', `input.pathLen ${requested} must be below CA ${parentName}'s pathLen ${parentLen}`, { details: { ca: parentName, input: 'pathLen' } });
  return requested ?? parentLen - 1;
}

/** The `pki lint` findings for which a certificate cannot become one of our CAs, with the engine's error codes. */
const CA_REFUSALS: Record<string, string> = {
  RA_NOT_V3: 'POLICY_NOT_A_CA',
  RA_CA_NOT_CA: 'POLICY_NOT_A_CA',
  RA_CA_NO_KEY_CERT_SIGN: 'POLICY_NOT_A_CA',
  RA_WEAK_SIGNATURE: 'POLICY_WEAK_SIGNATURE',
  X509_EXPIRED: 'STATE_CA_EXPIRED',
};

/**
 * Roles Anywhere CA rules (reference §1.3) for a certificate about to become one of our CAs or go into a trust
 * anchor: the same rules `pki lint --as ca` reports (one rule set), the errors among them refused.
 */
export function checkCaCertificate(cert: ParsedCertificate, source: string, now: Date): void {
  const problems = lintCa(cert, now)
    .filter((f) => f.code in CA_REFUSALS)
    .map(
      (f) =>
        new PkiError(CA_REFUSALS[f.code]!, `${source}: ${f.message}${f.code === 'RA_CA_NOT_CA' ? ' (Roles Anywhere: "Incorrect basic constraints for CA certificate")' : ''}; ${f.fix}`, {
          details: { file: source, lint: f.code },
        }),
    );
  throwIfAny(problems, `${source}: ${problems.length} problems`);
}

export function caSummary(ca: CaRecord, parentName: string | null) {
  return {
    name: ca.name,
    status: ca.status,
    parent: parentName,
    subject: ca.subjectDn,
    keyType: ca.keyType,
    keyFile: shownKeyRef(ca.keyPath),
    keyEncrypted: ca.keyEncrypted,
    serial: ca.serial,
    notBefore: ca.notBefore?.toISOString() ?? null,
    notAfter: ca.notAfter?.toISOString() ?? null,
    sha256: ca.certDer ? sha256Fingerprint(ca.certDer) : null,
  };
}
