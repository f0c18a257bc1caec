/** `pki init`: a new PKI directory with its root CA (made here, or an existing root adopted). */
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { PkiError } from '../../errors.js';
import { CONFIG_FILE, defaultConfigText, loadConfig } from '../../config/config.js';
import { DEFAULT_PBKDF2_ITERATIONS, KEY_TYPES, parseKeyType, spkiMatches } from '../../crypto/keys.js';
import { passphraseForNewKey, passphraseToUnlock, type PassphraseSource } from '../../crypto/passphrase.js';
import { parseValidity } from '../../domain/duration.js';
import { readInput, removeQuietly, writeFileAtomic } from '../../fs/files.js';
import { loadProfile } from '../../profile/load.js';
import type { Deps, Store } from '../../ports.js';
import { readCertificate, verifyCertificateSignature } from '../../x509/certificate.js';
import { parseDn } from '../../x509/name.js';
import { sha256Fingerprint } from '../issuance.js';
import { caKeyStore, newKeySource, openStore, openStoreAt, resolveDir, type Workspace } from '../workspace.js';
import { keyRefScheme } from '../../ports/signer.js';
import { redactUrl, storeKind } from '../../adapters/store/url.js';
import { activeCa, caSummary, checkCaCertificate, checkProfileKind, keyShown, selfSignedCa, warnUnencrypted } from './shared.js';

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
