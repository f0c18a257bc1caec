/** CA use cases: init (root), create (intermediate), csr + import (offline root), list, export. */
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { PkiError, throwIfAny } from '../errors.js';
import { CONFIG_FILE, defaultConfigText, loadConfig } from '../config/config.js';
import {
  DEFAULT_PBKDF2_ITERATIONS,
  KEY_TYPES,
  type KeyType,
  parseKeyType,
  spkiMatches,
} from '../crypto/keys.js';
import { passphraseForNewKey, passphraseToUnlock, type PassphraseSource } from '../crypto/passphrase.js';
import { parseValidity, type Duration } from '../domain/duration.js';
import type { Profile } from '../domain/profile.js';
import { checkOutput, INPUT_LIMITS, readInput, removeQuietly, writeFileAtomic } from '../fs/files.js';
import { loadProfile } from '../profile/load.js';
import type { CaRecord, Deps, NewCa, Store } from '../ports.js';
import { readCertificate, verifyCertificateSignature, type ParsedCertificate } from '../x509/certificate.js';
import { buildCsr, readCsr } from '../x509/csr.js';
import { encodeBasicConstraints, encodeExtension, encodeKeyUsage, keyIdentifier } from '../x509/extensions.js';
import { encodeName, formatDn, parseDn } from '../x509/name.js';
import { OID } from '../asn1/oids.js';
import { decodePemBlocks, toPem } from '../asn1/pem.js';
import { generatedRequestFromSpki, planCertificate, recordIssued, requestFromCsr, sha256Fingerprint, signPlanned, type IssuedCertificate } from './issuance.js';
import { lintCa } from './lint.js';
import { assertIssuing, subtree } from './rotation-state.js';
import { caStates, describeState } from './ca-state.js';
import { caCertificate, caChain, caKeyStore, chainToPem, getCa, issuedBy, assertNodeModule, newKeySource, openStore, openStoreAt, resolveDir, shownKeyRef, tokenKeyStore, unlockCa, withWorkspace, type NewKeySource, type Workspace } from './workspace.js';
import { keyRefScheme } from '../ports/signer.js';
import { redactUrl, storeKind } from '../adapters/store/url.js';
import { storeKeyRef } from '../adapters/store/shared-keys.js';

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

function checkCaName(name: string): void {
  if (!CA_NAME_PATTERN.test(name))
    throw new PkiError('USAGE_BAD_CA_NAME', `CA name "${name}" must be 1-64 letters, digits, . _ - (it names the key file)`, { details: { ca: name } });
}

function checkProfileKind(profile: Profile, kinds: Profile['kind'][], flag = 'input.profile'): void {
  if (!kinds.includes(profile.kind))
    throw new PkiError('USAGE_PROFILE_KIND', `${flag} ${profile.name} is a ${profile.kind} profile; this command needs ${kinds.join(' or ')}`, { details: { profile: profile.name, input: flag.slice(6) } });
}

/** The warning names the input (`input.noPassphrase`); the commands show its flag on stderr (cli/output/flags.ts). */
/** Where a new CA key ends up: on a shared (PostgreSQL) store, in the store as store:NAME, not in the file written first. */
function keyShown(ws: { config: { store: { url: string | null } } }, name: string, keyPath: string): string {
  const url = ws.config.store.url;
  return url && storeKind(url) === 'postgres' && !/^pkcs11:/i.test(keyPath) ? `${storeKeyRef(name)} (in the shared store)` : keyPath;
}

function warnUnencrypted(deps: Deps, what: string): void {
  deps.stderr.write(`warning: input.noPassphrase: ${what} is stored UNENCRYPTED; anyone who can read it can issue certificates\n`);
}

export interface InitInput extends PassphraseSource {
  dir?: string;
  /** The new root's subject; not with `rootCert`. */
  subject?: string;
  /** Adopt an existing self-signed root (certificate and key files) instead of making one. */
  rootCert?: string;
  rootKey?: string;
  rootKeyPassphraseFile?: string;
  keyType?: string;
  validity?: string;
  profile?: string;
  noPassphrase?: boolean;
  pbkdf2Iterations?: number;
  /** A pkcs11: URI naming the token on which the root key is generated (default: an encrypted key file). */
  keyStore?: string;
  /** The store's URL (`--store`, else $PKI_STORE_URL): a PostgreSQL database shared by CA nodes; default the SQLite file pki.db. */
  store?: string;
}

/** `pki init`: creates the directory, pki.yaml, the store and the root CA named `root`. Nothing is left on failure. */
export async function initPki(deps: Deps, input: InitInput) {
  const dir = resolveDir(input.dir, deps);
  const now = deps.now();
  const configFile = join(dir, CONFIG_FILE);
  if (fs.existsSync(configFile))
    throw new PkiError('STATE_ALREADY_INITIALISED', `${dir} is already a PKI directory (${CONFIG_FILE} exists)`, { details: { dir } });
  for (const name of ['pki.db', 'keys'])
    if (fs.existsSync(join(dir, name))) throw new PkiError('STATE_OUTPUT_EXISTS', `${join(dir, name)} already exists; refusing to initialise over it`, { details: { file: join(dir, name) } });
  // Validate everything before creating anything.
  if (!!input.rootCert !== !!input.rootKey) throw new PkiError('USAGE_MISSING_INPUT', 'input.rootCert and input.rootKey go together (adopt an existing root)', { details: { input: ['rootCert', 'rootKey'] } });
  if (input.rootCert && input.subject !== undefined) throw new PkiError('USAGE_CONFLICT', 'input.subject makes a new root; input.rootCert adopts an existing one: give one of them', { details: { input: ['subject', 'rootCert'] } });
  if (!input.rootCert && input.subject === undefined) throw new PkiError('USAGE_MISSING_INPUT', 'give input.subject (a new root) or input.rootCert and input.rootKey (adopt an existing root)', { details: { input: ['subject', 'rootCert', 'rootKey'] } });
  const adopted = input.rootCert ? await readAdoptedRoot(deps, input.rootCert, input.rootKey!, input.rootKeyPassphraseFile, now) : undefined;
  const rdns = adopted ? [] : parseDn(input.subject!);
  const keyType = parseKeyType(input.keyType);
  const validitySeconds = input.validity === undefined ? undefined : parseValidity(input.validity, 'input.validity');
  const profile = loadProfile(input.profile ?? 'root-ca', undefined, deps.cwd);
  checkProfileKind(profile, ['root-ca']);
  const iterations = input.pbkdf2Iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 10_000) throw new PkiError('USAGE_BAD_ITERATIONS', 'input.pbkdf2Iterations must be a whole number of at least 10000', { details: { input: 'pbkdf2Iterations' } });
  if (input.keyStore !== undefined && input.rootCert) throw new PkiError('USAGE_CONFLICT', 'input.keyStore makes a new root key on a token; input.rootCert adopts an existing root: give one of them', { details: { input: ['keyStore', 'rootCert'] } });
  if (input.rootKey !== undefined && keyRefScheme(input.rootKey) === 'pkcs11')
    throw new PkiError('USAGE_UNSUPPORTED_OPTION', 'input.rootKey: a root key on a token is adopted with pki ca import NAME --cert FILE --key pkcs11:..., not by pki init', { details: { flag: 'input.rootKey', input: 'rootKey' } });
  // A token is found and logged in to before anything is created (a wrong PIN leaves no directory behind).
  const token = input.keyStore === undefined ? undefined : await newKeySource({ deps }, input.keyStore);
  const storeUrl = input.store ?? (deps.env.PKI_STORE_URL || undefined);
  if (storeUrl !== undefined && !/^(postgres(ql)?:\/\/|sqlite:)/i.test(storeUrl))
    throw new PkiError('USAGE_BAD_STORE_URL', `input.store ${redactUrl(storeUrl)}: expected postgres://USER@HOST[:PORT]/DB, postgresql://... or sqlite:FILE`, { details: { flag: 'input.store', input: 'store' } });
  const shared = storeUrl !== undefined && storeKind(storeUrl) === 'postgres';
  const passphrase = input.noPassphrase || token ? undefined : await passphraseForNewKey(deps, input, 'the root CA key');

  const created: string[] = [];
  const dirExisted = fs.existsSync(dir);
  // A shared store is opened (and migrated) before anything is written here: it must be reachable and hold no PKI yet.
  let store: Store | undefined;
  if (shared) {
    store = await openStoreAt(deps, storeUrl!, { baseDir: dir, keysDir: join(dir, 'keys'), configFile, setting: input.store !== undefined ? 'input.store' : '$PKI_STORE_URL' }, true);
    try {
      const existing = await store.listCas();
      if (existing.length)
        throw new PkiError('STATE_STORE_NOT_EMPTY', `the store ${redactUrl(storeUrl)} already holds a PKI (CAs: ${existing.map((c) => c.name).join(', ')})`, {
          details: { store: redactUrl(storeUrl) },
          hint: `to add this directory as another node of that PKI run: pki node join --dir ${dir} --store URL`,
        });
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  try {
    if (!dirExisted) {
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      } catch (e) {
        throw new PkiError('IO_MKDIR_FAILED', `input.dir ${dir}: cannot create (${(e as Error).message})`, { details: { dir, input: 'dir' }, cause: e });
      }
      created.push(dir);
    } else {
      try {
        fs.accessSync(dir, fs.constants.W_OK);
      } catch {
        throw new PkiError('IO_NOT_WRITABLE', `input.dir ${dir} is not writable`, { details: { dir, input: 'dir' } });
      }
    }
    const keysDir = join(dir, 'keys');
    fs.mkdirSync(keysDir, { mode: 0o700 });
    created.push(keysDir);
    // A password in the store URL makes pki.yaml a secret: owner-only from the start, like the keys.
    writeFileAtomic(configFile, defaultConfigText(iterations, { storeUrl, pkcs11: token?.defaults }), { flag: 'config', mode: storeUrl && redactUrl(storeUrl) !== storeUrl ? 0o600 : 0o644 });
    created.push(configFile);
    const config = loadConfig(dir);
    if (!store) {
      store = await openStore(config, deps, { create: true });
      created.push(config.store.sqlite, `${config.store.sqlite}-wal`, `${config.store.sqlite}-shm`);
    }
    const storeShown = shared ? redactUrl(storeUrl!) : config.store.sqlite;
    try {
      const ws: Workspace = { config, store, deps, now, close: () => store!.close() };
      if (adopted) {
        // The key goes through the CA key store (checked against the certificate, re-encrypted there).
        const key = caKeyStore(ws).adopt(adopted.keyPem, input.rootKey!, adopted.keyPassphrase, 'root');
        if (!spkiMatches(key.spki, adopted.cert.publicKey))
          throw new PkiError('CRYPTO_KEY_MISMATCH', `input.rootKey ${input.rootKey} does not match input.rootCert ${input.rootCert}`, { details: { file: input.rootKey, cert: input.rootCert, input: ['rootKey', 'rootCert'] } });
        if (!key.keyType) throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `input.rootKey ${input.rootKey}: ${key.description} is not supported for a CA (use ${KEY_TYPES.join(', ')})`, { details: { input: 'rootKey' } });
        const keyPath = key.persist(passphrase);
        created.push(keyPath);
        if (passphrase === undefined) warnUnencrypted(deps, `the root CA key ${keyShown(ws, 'root', keyPath)}`);
        const c = adopted.cert;
        const ca = await store!.createCa(
          { name: 'root', parentId: null, status: 'active', subjectDn: c.subjectDn, certDer: c.der, csrDer: null, externalChainPem: null, keyPath, keyType: key.keyType, keyEncrypted: passphrase !== undefined, serial: c.serialHex, notBefore: c.notBefore, notAfter: c.notAfter, createdAt: now },
          null,
          { action: 'ca.import', target: 'root', details: { adopted: true, serial: c.serialHex, subject: c.subjectDn, sha256: sha256Fingerprint(c.der), withKey: true } },
          deps.actor,
          now,
        );
        return { dir, config: configFile, store: storeShown, ca: caSummary(ca, null), adopted: true };
      }
      const { key, issued, subjectDn } = await selfSignedCa(ws, 'root', profile, rdns, keyType, validitySeconds, 'pki init', 'root CA key', token);
      try {
        const keyPath = key.persist(passphrase);
        if (!token) created.push(keyPath);
        if (passphrase === undefined && !token) warnUnencrypted(deps, `the root CA key ${keyShown(ws, 'root', keyPath)}`);
        const ca = await store!.createCa(
          activeCa('root', null, issued, keyPath, keyType, passphrase !== undefined, now),
          { issuerId: null, cert: issued.record },
          { action: 'ca.init', target: 'root', details: { subject: subjectDn, keyType, serial: issued.record.serial, notAfter: issued.record.notAfter.toISOString(), ...(token ? { keyStore: 'pkcs11' } : {}) } },
          deps.actor,
          now,
        );
        return { dir, config: configFile, store: storeShown, ca: caSummary(ca, null), adopted: false };
      } catch (e) {
        key.discard();
        throw e;
      }
    } finally {
      await store?.close();
      store = undefined;
    }
  } catch (e) {
    await store?.close();
    removeQuietly(dirExisted ? created : [dir]);
    throw e;
  }
}

/**
 * An existing root to adopt (`pki init --root-cert --root-key`): a self-signed CA certificate that passes the CA rules
 * (the same as `ca import`), and its key (checked to match, of a supported type). Read and checked before anything is
 * created.
 */
async function readAdoptedRoot(deps: Deps, certFile: string, keyFile: string, keyPassphraseFile: string | undefined, now: Date) {
  const cert = readCertificate(readInput(resolve(deps.cwd, certFile), 'input.rootCert'), certFile);
  checkCaCertificate(cert, certFile, now);
  if (!(cert.subjectDer.equals(cert.issuerDer) && verifyCertificateSignature(cert, cert.publicKey)))
    throw new PkiError('POLICY_NOT_A_ROOT', `input.rootCert ${certFile} is not self-signed: adopt a root here, and bring an intermediate with pki ca import --key`, { details: { file: certFile, input: 'rootCert' } });
  const keyPem = readInput(resolve(deps.cwd, keyFile), 'input.rootKey');
  const keyPassphrase = keyPem.toString('latin1').includes('ENCRYPTED') ? await passphraseToUnlock(deps, { ...(keyPassphraseFile ? { passphraseFile: keyPassphraseFile } : {}) }, `input.rootKey ${keyFile}`, 'input.rootKeyPassphraseFile') : undefined;
  return { cert, keyPem, keyPassphrase };
}

/** The store row of a CA whose certificate was just issued here (its key in `keyPath`). */
function activeCa(name: string, parentId: number | null, issued: IssuedCertificate, keyPath: string, keyType: KeyType, keyEncrypted: boolean, at: Date): NewCa {
  const r = issued.record;
  return { name, parentId, status: 'active', subjectDn: r.subjectDn, certDer: issued.der, csrDer: null, externalChainPem: null, keyPath, keyType, keyEncrypted, serial: r.serial, notBefore: r.notBefore, notAfter: r.notAfter, createdAt: at };
}

/** A new key and its self-signed CA certificate (a root), planned and checked against `profile`. */
async function selfSignedCa(ws: Workspace, name: string, profile: Profile, rdns: ReturnType<typeof parseDn>, keyType: ReturnType<typeof parseKeyType>, validitySeconds: Duration | undefined, source: string, keyDescription = `CA ${name} key`, keys?: NewKeySource) {
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

/** Computes the pathLen for a new CA below `parentCert`, refusing what the parent's constraint forbids. */
function childPathLen(parentName: string, parentCert: ParsedCertificate, requested: number | undefined): number | undefined {
  const parentLen = parentCert.basicConstraints?.pathLen;
  if (parentLen === undefined) return requested;
  if (parentLen === 0)
    throw new PkiError('POLICY_PATH_LEN', `CA ${parentName} has pathLen 0: it may not issue CA certificates`, { details: { ca: parentName } });
  if (requested !== undefined && requested >= parentLen)
    throw new PkiError('POLICY_PATH_LEN', `input.pathLen ${requested} must be below CA ${parentName}'s pathLen ${parentLen}`, { details: { ca: parentName, input: 'pathLen' } });
  return requested ?? parentLen - 1;
}

/** `pki ca create`: a new intermediate CA signed by `parent`, key encrypted at rest. */
export async function createCa(deps: Deps, input: CreateCaInput) {
  checkCaName(input.name);
  return withWorkspace(input.dir, deps, async (ws) => {
    if (await ws.store.getCa(input.name)) throw new PkiError('STATE_CA_EXISTS', `a CA named "${input.name}" already exists`, { details: { ca: input.name } });
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

export interface SignCaCsrInput extends PassphraseSource {
  dir?: string;
  /** The signing CA (e.g. the offline root). */
  ca: string;
  csr: string;
  out: string;
  validity?: string;
  pathLen?: number;
  profile?: string;
  force?: boolean;
}

/**
 * `pki ca sign`: the offline root's side of `pki ca csr`. Signs a subordinate CA's CSR with an intermediate-ca
 * profile (subject and key from the CSR; every extension from the profile) and records it as issued.
 */
export async function signCaCsr(deps: Deps, input: SignCaCsrInput) {
  return withWorkspace(input.dir, deps, async (ws) => {
    checkOutput(input.out, 'input.out', input.force ?? false);
    const csr = readCsr(readInput(input.csr, 'input.csr', INPUT_LIMITS.csr), input.csr);
    const validitySeconds = input.validity === undefined ? undefined : parseValidity(input.validity, 'input.validity');
    const profile = loadProfile(input.profile ?? 'intermediate-ca', ws.config.profilesDir, deps.cwd);
    checkProfileKind(profile, ['intermediate-ca']);
    const signerCa = await getCa(ws, input.ca);
    await assertIssuing(ws, signerCa);
    const signer = await unlockCa(ws, signerCa, input);
    const pathLen = childPathLen(signerCa.name, signer.cert, input.pathLen ?? profile.pathLen);
    const req = requestFromCsr(csr, undefined, []);
    const plan = planCertificate(ws, { name: signerCa.name, notBefore: signer.cert.notBefore, notAfter: signer.cert.notAfter }, profile, req, {
      validitySeconds,
      ca: true,
      ...(pathLen === undefined ? {} : { pathLen }),
    });
    throwIfAny(plan.problems, `${input.csr}: ${plan.problems.length} problems`);
    const issued = [await signPlanned(ws, signer.issuer, plan.fields!, req, profile)];
    await recordIssued(ws, signer, issued, [req], profile);
    const pem = toPem('CERTIFICATE', issued[0]!.der);
    writeFileAtomic(input.out, pem, { force: input.force ?? false, flag: 'input.out' });
    const r = issued[0]!.record;
    return { serial: r.serial, issuer: signerCa.name, subject: r.subjectDn, notBefore: r.notBefore.toISOString(), notAfter: r.notAfter.toISOString(), pathLen: pathLen ?? null, out: input.out, pem };
  });
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
    if (await ws.store.getCa(input.name)) throw new PkiError('STATE_CA_EXISTS', `a CA named "${input.name}" already exists`, { details: { ca: input.name } });
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

export interface ImportCaInput extends PassphraseSource {
  dir?: string;
  name: string;
  cert: string;
  chain?: string;
  key?: string;
  keyPassphraseFile?: string;
  noPassphrase?: boolean;
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

/** Finds the CA in the store that signed `cert` (names chain, AKI = SKI, and the signature verifies). */
async function findParent(ws: Workspace, cert: ParsedCertificate, self: string): Promise<CaRecord | undefined> {
  for (const ca of await ws.store.listCas()) {
    if (ca.name === self || ca.status !== 'active' || !ca.certDer) continue;
    if (issuedBy(cert, caCertificate(ca))) return ca;
  }
  return undefined;
}

/**
 * `pki ca import`: either completes a pending CA (`pki ca csr` earlier) with its signed certificate, or imports an
 * existing CA from another tool with `--key` (the key is re-encrypted into this PKI's key store).
 */
export async function importCa(deps: Deps, input: ImportCaInput) {
  checkCaName(input.name);
  return withWorkspace(input.dir, deps, async (ws) => {
    const cert = readCertificate(readInput(input.cert, 'input.cert'), input.cert);
    checkCaCertificate(cert, input.cert, ws.now);
    const selfSigned = cert.subjectDer.equals(cert.issuerDer) && verifyCertificateSignature(cert, cert.publicKey);
    let chainPem: string | null = null;
    if (input.chain) {
      const blocks = decodePemBlocks(readInput(input.chain, 'input.chain').toString('latin1'), input.chain).filter((b) => b.label === 'CERTIFICATE');
      if (!blocks.length) throw new PkiError('CRYPTO_BAD_PEM', `input.chain ${input.chain}: no CERTIFICATE blocks`, { details: { file: input.chain, input: 'chain' } });
      const issuerCert = readCertificate(blocks[0]!.der, `${input.chain} (first certificate)`);
      if (!verifyCertificateSignature(cert, issuerCert.publicKey))
        throw new PkiError('CRYPTO_CHAIN_MISMATCH', `input.chain ${input.chain}: its first certificate (${issuerCert.subjectDn}) did not sign ${input.cert}`, { details: { file: input.chain, input: 'chain' } });
      chainPem = blocks.map((b) => toPem('CERTIFICATE', b.der)).join('');
    }
    const parent = selfSigned ? undefined : await findParent(ws, cert, input.name);
    const existing = await ws.store.getCa(input.name);
    const summaryExtra = { sha256: sha256Fingerprint(cert.der), selfSigned, externalIssuer: !selfSigned && !parent };
    if (existing) {
      if (input.key) throw new PkiError('STATE_CA_EXISTS', `CA ${input.name} already exists; input.key is only for importing a new CA`, { details: { ca: input.name, input: 'key' } });
      if (existing.status !== 'pending')
        throw new PkiError('STATE_CA_NOT_PENDING', `CA ${input.name} already has a certificate; nothing to import`, { details: { ca: input.name } });
      const csrSpki = readCsr(existing.csrDer!, `CA ${input.name} CSR`).spki;
      if (!csrSpki.equals(cert.spki))
        throw new PkiError('CRYPTO_KEY_MISMATCH', `${input.cert} does not match CA ${input.name}'s key (its public key differs from the CSR's)`, {
          details: { ca: input.name, file: input.cert },
        });
      await assertDistinctCa(ws, input.name, { subjectDn: cert.subjectDn, subjectDer: cert.subjectDer, certDer: cert.der }, existing.id);
      if (cert.subjectDn !== existing.subjectDn)
        deps.stderr.write(`note: the signed subject "${cert.subjectDn}" differs from the requested "${existing.subjectDn}"; using the signed one\n`);
      const ca = await ws.store.activateCa(
        existing.id,
        { certDer: cert.der, parentId: parent?.id ?? null, externalChainPem: chainPem, serial: cert.serialHex, notBefore: cert.notBefore, notAfter: cert.notAfter, subjectDn: cert.subjectDn },
        { action: 'ca.import', target: input.name, details: { serial: cert.serialHex, issuer: cert.issuerDn, sha256: summaryExtra.sha256 } },
        deps.actor,
        ws.now,
      );
      return { ...caSummary(ca, parent?.name ?? null), ...summaryExtra };
    }
    if (!input.key)
      throw new PkiError('USAGE_MISSING_KEY', `CA ${input.name} does not exist: to import a CA made elsewhere, also pass input.key FILE`, {
        details: { ca: input.name, input: 'key' },
        hint: `or start with: pki ca csr ${input.name} --subject ... --out ${input.name}.csr`,
      });
    await assertDistinctCa(ws, input.name, { subjectDn: cert.subjectDn, subjectDer: cert.subjectDer, spki: cert.spki, certDer: cert.der });
    if (keyRefScheme(input.key) === 'pkcs11') {
      // A key already on a token: adopted in place (never copied), after proving it is the certificate's key.
      await assertNodeModule(ws, input.key, 'input.key');
      const tokenKey = await (await tokenKeyStore(ws)).adoptKey(input.key, 'input.key', input.name, cert.spki, `input.cert ${input.cert}`);
      const ca = await ws.store.createCa(
        { name: input.name, parentId: parent?.id ?? null, status: 'active', subjectDn: cert.subjectDn, certDer: cert.der, csrDer: null, externalChainPem: chainPem, keyPath: tokenKey.ref, keyType: tokenKey.signer.keyType, keyEncrypted: false, serial: cert.serialHex, notBefore: cert.notBefore, notAfter: cert.notAfter, createdAt: ws.now },
        null,
        { action: 'ca.import', target: input.name, details: { serial: cert.serialHex, issuer: cert.issuerDn, sha256: summaryExtra.sha256, withKey: true, keyStore: 'pkcs11' } },
        deps.actor,
        ws.now,
      );
      return { ...caSummary(ca, parent?.name ?? null), ...summaryExtra };
    }
    const keyPem = readInput(input.key, 'input.key');
    const keyEncrypted = keyPem.toString('latin1').includes('ENCRYPTED');
    const keyPassphrase = keyEncrypted ? await passphraseToUnlock(deps, { ...(input.keyPassphraseFile ? { passphraseFile: input.keyPassphraseFile } : {}) }, `input.key ${input.key}`, 'input.keyPassphraseFile') : undefined;
    const key = caKeyStore(ws).adopt(keyPem, input.key, keyPassphrase, input.name);
    if (!spkiMatches(key.spki, cert.publicKey))
      throw new PkiError('CRYPTO_KEY_MISMATCH', `input.key ${input.key} does not match input.cert ${input.cert}`, { details: { file: input.key, cert: input.cert, input: ['key', 'cert'] } });
    const keyType = key.keyType;
    if (!keyType) throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `input.key ${input.key}: ${key.description} is not supported for a CA (use ${KEY_TYPES.join(', ')})`, { details: { input: 'key' } });
    const passphrase = input.noPassphrase ? undefined : await passphraseForNewKey(deps, input, `CA ${input.name}'s key`);
    const keyPath = key.persist(passphrase);
    if (passphrase === undefined) warnUnencrypted(deps, `CA ${input.name}'s key ${keyShown(ws, input.name, keyPath)}`);
    try {
      const ca = await ws.store.createCa(
        {
          name: input.name,
          parentId: parent?.id ?? null,
          status: 'active',
          subjectDn: cert.subjectDn,
          certDer: cert.der,
          csrDer: null,
          externalChainPem: chainPem,
          keyPath,
          keyType,
          keyEncrypted: passphrase !== undefined,
          serial: cert.serialHex,
          notBefore: cert.notBefore,
          notAfter: cert.notAfter,
          createdAt: ws.now,
        },
        null,
        { action: 'ca.import', target: input.name, details: { serial: cert.serialHex, issuer: cert.issuerDn, sha256: summaryExtra.sha256, withKey: true } },
        deps.actor,
        ws.now,
      );
      return { ...caSummary(ca, parent?.name ?? null), ...summaryExtra };
    } catch (e) {
      key.discard();
      throw e;
    }
  });
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

/** `pki ca list` */
export async function listCas(deps: Deps, input: { dir?: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const cas = await ws.store.listCas();
    const names = new Map(cas.map((c) => [c.id, c.name]));
    const states = await caStates(ws, cas);
    return cas.map((c) => ({
      ...caSummary(c, c.parentId === null ? null : (names.get(c.parentId) ?? null)),
      // The effective state: revoked or retired also when inherited from an issuer (see ca-state.ts).
      status: states.get(c.id)!.state,
      statusDetail: describeState(states.get(c.id)!),
      retiredAt: states.get(c.id)!.retiredAt?.toISOString() ?? null,
      expired: c.notAfter ? c.notAfter.getTime() <= ws.now.getTime() : false,
      pathLen: c.certDer ? (caCertificate(c).basicConstraints?.pathLen ?? null) : null,
    }));
  });
}

/** `pki ca export`: the CA certificate (and with `chain`, its issuers up to the root) as PEM. */
export async function exportCa(deps: Deps, input: { dir?: string; name: string; chain?: boolean; out?: string; force?: boolean }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.name, 'CA');
    const certs = input.chain ? await caChain(ws, ca) : [caCertificate(ca)];
    const pem = chainToPem(certs);
    if (input.out) {
      checkOutput(input.out, 'input.out', input.force ?? false);
      writeFileAtomic(input.out, pem, { force: input.force ?? false, flag: 'input.out' });
    }
    return { name: ca.name, certificates: certs.length, out: input.out ?? null, pem };
  });
}

/**
 * Records `cas` as retired in one transaction with one `ca.retire` audit row each (`why` goes into its details).
 * Returns the names of the CAs whose state changed (already retired ones are left alone).
 */
export async function retireCas(ws: Workspace, cas: CaRecord[], why: Record<string, unknown>): Promise<string[]> {
  const changed = await ws.store.retireCas(
    cas.map((c) => c.id),
    cas.map((c) => ({ action: 'ca.retire', target: c.name, details: { status: c.status, ...why } })),
    ws.deps.actor,
    ws.now,
  );
  return cas.filter((c) => changed.includes(c.id)).map((c) => c.name);
}

/**
 * `pki ca retire NAME`: NAME and every CA below it stop issuing (STATE_CA_RETIRED) and leave monitoring (no CRL or
 * expiry alarms in `pki status`); their certificates, revocations and CRLs stay on record. A revoked CA keeps the
 * status `revoked`; retiring it acknowledges the incident (`pki status` stops reporting it as critical).
 */
export async function retireCa(deps: Deps, input: { dir?: string; name: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.name, 'CA');
    if (ca.status === 'pending')
      throw new PkiError('STATE_CA_PENDING', `CA ${ca.name} has no certificate yet: nothing to retire`, {
        details: { ca: ca.name },
        hint: 'a pending CA never issued anything; leave it, or import its certificate first',
      });
    const all = await ws.store.listCas();
    const below = subtree(all, ca).filter((c) => c.status !== 'pending');
    const retired = await retireCas(ws, below, { requestedFor: ca.name });
    const anchors = (await ws.store.listAnchors()).filter((a) => a.caNames.some((n) => below.some((c) => c.name === n)));
    const warnings = anchors.map(
      (a) => `trust anchor ${a.name} still holds ${a.caNames.filter((n) => below.some((c) => c.name === n)).join(', ')}: pki status no longer watches its CRL; push a bundle without it (pki anchor push --name ${a.name} --ca ...)`,
    );
    const states = await caStates(ws);
    return {
      name: ca.name,
      retired,
      unchanged: below.map((c) => c.name).filter((n) => !retired.includes(n)),
      cas: below.map((c) => ({ name: c.name, status: describeState(states.get(c.id)!) })),
      warnings,
    };
  });
}
