/** `pki ca create` (an intermediate, or with `root` a new self-signed root) and `pki ca csr` (a pending CA). */
import { PkiError, throwIfAny } from '../../errors.js';
import { parseKeyType } from '../../crypto/keys.js';
import { passphraseForNewKey, type PassphraseSource } from '../../crypto/passphrase.js';
import { parseValidity } from '../../domain/duration.js';
import { checkOutput, writeFileAtomic } from '../../fs/files.js';
import { loadProfile } from '../../profile/load.js';
import type { Deps } from '../../ports.js';
import { buildCsr } from '../../x509/csr.js';
import { encodeBasicConstraints, encodeExtension, encodeKeyUsage } from '../../x509/extensions.js';
import { encodeName, formatDn, parseDn } from '../../x509/name.js';
import { OID } from '../../asn1/oids.js';
import { toPem } from '../../asn1/pem.js';
import { generatedRequestFromSpki, planCertificate, signPlanned } from '../issuance.js';
import { assertIssuing } from '../rotation-state.js';
import { getCa, newKeySource, unlockCa, withWorkspace, type Workspace } from '../workspace.js';
import { activeCa, assertCaNameFree, assertDistinctCa, caSummary, checkCaName, checkProfileKind, childPathLen, keyShown, selfSignedCa, warnUnencrypted } from './shared.js';

export interface CreateCaInput extends PassphraseSource {
  dir?: string;
  name: string;
  /** The signing CA; absent with `root` (a new self-signed root, e.g. for a root rotation). */
  parent?: string;
  root?: boolean;
  subject: string;
  keyType?: string;
  validity?: string;
  pathLen?: number;
  profile?: string;
  noPassphrase?: boolean;
  newPassphraseFile?: string;
  /** A pkcs11: URI naming the token on which the new key is generated (default: an encrypted key file). */
  keyStore?: string;
}

/** `pki ca create`: a new intermediate CA signed by `parent`, key encrypted at rest. */
export async function createCa(deps: Deps, input: CreateCaInput) {
  checkCaName(input.name);
  return withWorkspace(input.dir, deps, async (ws) => {
    await assertCaNameFree(ws, input.name);
    if (input.root) {
      if (input.parent !== undefined) throw new PkiError('USAGE_CONFLICT', 'input.root makes a self-signed CA: it takes no input.parent', { details: { input: ['root', 'parent'] } });
      return createRootCa(ws, input);
    }
    if (input.parent === undefined) throw new PkiError('USAGE_MISSING_PARENT', `CA ${input.name}: pass input.parent CA (an intermediate) or input.root (a new self-signed root)`, { details: { input: ['parent', 'root'] } });
    const parent = await getCa(ws, input.parent, 'input.parent');
    await assertIssuing(ws, parent);
    const rdns = parseDn(input.subject);
    await assertDistinctCa(ws, input.name, { subjectDn: formatDn(rdns), subjectDer: encodeName(rdns) });
    const keyType = parseKeyType(input.keyType);
    const validitySeconds = input.validity === undefined ? undefined : parseValidity(input.validity, 'input.validity');
    const profile = loadProfile(input.profile ?? 'intermediate-ca', ws.config.profilesDir, deps.cwd);
    checkProfileKind(profile, ['intermediate-ca']);
    const signer = await unlockCa(ws, parent, input);
    const pathLen = childPathLen(parent.name, signer.cert, input.pathLen ?? profile.pathLen);
    const subjectDer = encodeName(rdns);
    const subjectDn = formatDn(rdns);
    const keys = await newKeySource(ws, input.keyStore);
    const passphrase =
      input.noPassphrase || keys.onToken
        ? undefined
        : input.newPassphraseFile
          ? await passphraseForNewKey(deps, { passphraseFile: input.newPassphraseFile }, `CA ${input.name}'s key`, 'input.newPassphraseFile')
          : (signer.passphrase ?? (await passphraseForNewKey(deps, input, `CA ${input.name}'s key`)));
    const key = keys.generate(keyType, input.name);
    try {
      const req = generatedRequestFromSpki(subjectDer, subjectDn, key.signer.spki, 'pki ca create');
      const plan = planCertificate(ws, { name: parent.name, notBefore: signer.cert.notBefore, notAfter: signer.cert.notAfter }, profile, req, {
        validitySeconds,
        ca: true,
        ...(pathLen === undefined ? {} : { pathLen }),
      });
      throwIfAny(plan.problems, `CA ${input.name}: ${plan.problems.length} problems`);
      const issued = await signPlanned(ws, signer.issuer, plan.fields!, req, profile);
      const keyPath = key.persist(passphrase);
      if (passphrase === undefined && !keys.onToken) warnUnencrypted(deps, `CA ${input.name}'s key ${keyShown(ws, input.name, keyPath)}`);
      const ca = await ws.store.createCa(
        activeCa(input.name, parent.id, issued, keyPath, keyType, passphrase !== undefined, ws.now),
        { issuerId: parent.id, cert: issued.record },
        { action: 'ca.create', target: input.name, details: { parent: parent.name, subject: subjectDn, keyType, serial: issued.record.serial, pathLen: pathLen ?? null, ...(keys.onToken ? { keyStore: 'pkcs11' } : {}) } },
        deps.actor,
        ws.now,
      );
      return caSummary(ca, parent.name);
    } catch (e) {
      key.discard();
      throw e;
    }
  });
}

/** `pki ca create NAME --root`: a second self-signed root in this PKI (the new CA of a root rotation). */
async function createRootCa(ws: Workspace, input: CreateCaInput) {
  const deps = ws.deps;
  const rdns = parseDn(input.subject);
  await assertDistinctCa(ws, input.name, { subjectDn: formatDn(rdns), subjectDer: encodeName(rdns) });
  const keyType = parseKeyType(input.keyType);
  const validitySeconds = input.validity === undefined ? undefined : parseValidity(input.validity, 'input.validity');
  const profile = loadProfile(input.profile ?? 'root-ca', ws.config.profilesDir, deps.cwd);
  checkProfileKind(profile, ['root-ca']);
  if (input.pathLen !== undefined) throw new PkiError('USAGE_CONFLICT', 'input.pathLen goes with input.parent; a root takes its pathLen from its profile', { details: { input: ['pathLen', 'parent'] } });
  const keys = await newKeySource(ws, input.keyStore);
  const passphrase =
    input.noPassphrase || keys.onToken
      ? undefined
      : await passphraseForNewKey(deps, input.newPassphraseFile ? { passphraseFile: input.newPassphraseFile } : input, `CA ${input.name}'s key`, input.newPassphraseFile ? 'input.newPassphraseFile' : undefined);
  const { key, issued, subjectDn } = await selfSignedCa(ws, input.name, profile, rdns, keyType, validitySeconds, 'pki ca create --root', undefined, keys);
  try {
    const keyPath = key.persist(passphrase);
    if (passphrase === undefined && !keys.onToken) warnUnencrypted(deps, `CA ${input.name}'s key ${keyShown(ws, input.name, keyPath)}`);
    const ca = await ws.store.createCa(
      activeCa(input.name, null, issued, keyPath, keyType, passphrase !== undefined, ws.now),
      { issuerId: null, cert: issued.record },
      { action: 'ca.create', target: input.name, details: { root: true, subject: subjectDn, keyType, serial: issued.record.serial, notAfter: issued.record.notAfter.toISOString(), ...(keys.onToken ? { keyStore: 'pkcs11' } : {}) } },
      deps.actor,
      ws.now,
    );
    return caSummary(ca, null);
  } catch (e) {
    key.discard();
    throw e;
  }
}

export interface CaCsrInput extends PassphraseSource {
  dir?: string;
  name: string;
  subject: string;
  keyType?: string;
  pathLen?: number;
  out: string;
  force?: boolean;
  noPassphrase?: boolean;
  /** A pkcs11: URI naming the token on which the new key is generated (default: an encrypted key file). */
  keyStore?: string;
}

/** `pki ca csr`: key stays here, a CSR goes to the (offline) parent; the CA waits in state "pending". */
export async function createCaCsr(deps: Deps, input: CaCsrInput) {
  checkCaName(input.name);
  return withWorkspace(input.dir, deps, async (ws) => {
    await assertCaNameFree(ws, input.name);
    const rdns = parseDn(input.subject);
    await assertDistinctCa(ws, input.name, { subjectDn: formatDn(rdns), subjectDer: encodeName(rdns) });
    const keyType = parseKeyType(input.keyType);
    checkOutput(input.out, 'input.out', input.force ?? false);
    const keys = await newKeySource(ws, input.keyStore);
    const passphrase = input.noPassphrase || keys.onToken ? undefined : await passphraseForNewKey(deps, input, `CA ${input.name}'s key`);
    const key = keys.generate(keyType, input.name);
    const subjectDer = encodeName(rdns);
    const subjectDn = formatDn(rdns);
    try {
      const csr = await buildCsr(subjectDer, key.signer, [
        encodeExtension(OID.basicConstraints, true, encodeBasicConstraints(true, input.pathLen)),
        encodeExtension(OID.keyUsage, true, encodeKeyUsage(['keyCertSign', 'cRLSign'])),
      ]);
      const keyPath = key.persist(passphrase);
      if (passphrase === undefined && !keys.onToken) warnUnencrypted(deps, `CA ${input.name}'s key ${keyShown(ws, input.name, keyPath)}`);
      const csrPem = toPem('CERTIFICATE REQUEST', csr);
      const ca = await ws.store.createCa(
        { name: input.name, parentId: null, status: 'pending', subjectDn, certDer: null, csrDer: csr, externalChainPem: null, keyPath, keyType, keyEncrypted: passphrase !== undefined, serial: null, notBefore: null, notAfter: null, createdAt: ws.now },
        null,
        { action: 'ca.csr', target: input.name, details: { subject: subjectDn, keyType } },
        deps.actor,
        ws.now,
      );
      writeFileAtomic(input.out, csrPem, { force: input.force ?? false, flag: 'input.out' });
      return { ...caSummary(ca, null), csr: input.out, csrPem };
    } catch (e) {
      key.discard();
      throw e;
    }
  });
}
