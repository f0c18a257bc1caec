/** An opened PKI directory: its configuration, its store, the injected dependencies and the command's clock reading. */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { parsePkcs11Uri } from '../adapters/keys/pkcs11-uri.js';
import { PkiError } from '../errors.js';
import { loadConfig, type Config } from '../config/config.js';
import { spkiMatches } from '../crypto/keys.js';
import { FileKeyStore } from '../adapters/keys/file.js';

/** Workload keys made here (`issue --key-out`, `renew --key-out`, `csr`): any key type, ML-DSA included. */
export { generateWorkloadKey } from '../adapters/keys/file.js';
import { StoreKeyStore } from '../adapters/keys/store.js';
import { isStoreKeyRef } from '../adapters/store/shared-keys.js';
import { passphraseToUnlock, type PassphraseSource } from '../crypto/passphrase.js';
import type { CaRecord, Deps, Store } from '../ports.js';
import { keyRefScheme, type GeneratedKey, type KeyStore } from '../ports/signer.js';
import { shownPkcs11Ref } from '../adapters/keys/pkcs11-uri.js';
import type { KeyType } from '../crypto/keys.js';
import { defaultStoreFactory } from '../adapters/store/factory.js';
import { parseCertificate, verifyCertificateSignature, type Issuer, type ParsedCertificate } from '../x509/certificate.js';
import { keyIdentifier } from '../x509/extensions.js';
import { decodePemBlocks, toPem } from '../asn1/pem.js';

export interface Workspace {
  config: Config;
  store: Store;
  deps: Deps;
  /** The clock, read once for the whole command. */
  now: Date;
  close(): void | Promise<void>;
}

/** `--dir`, else $PKI_DIR, else the current directory. */
export function resolveDir(dir: string | undefined, deps: Deps): string {
  return resolve(deps.cwd, dir ?? deps.env.PKI_DIR ?? '.');
}

/** The store URL of a PKI directory: pki.yaml's `store.url`, else its SQLite file. */
export function storeUrlOf(config: Config): string {
  return config.store.url ?? config.store.sqlite;
}

/** Opens the store `url` (default: the one pki.yaml names) through the injected factory (SQLite or PostgreSQL by URL). */
export async function openStore(config: Config, deps: Deps, opts: { create?: boolean; url?: string; setting?: string } = {}): Promise<Store> {
  return openStoreAt(deps, opts.url ?? storeUrlOf(config), { baseDir: config.dir, keysDir: config.keys.dir, configFile: config.file, setting: opts.setting }, opts.create ?? false);
}

/**
 * Opens the store at `url` for the PKI directory `where.baseDir` (before its pki.yaml exists: pki init, node join).
 * `where.setting`: the flag or variable the URL came from (else it is store.url in `where.configFile`), named when
 * the URL is malformed: USAGE_BAD_STORE_URL for a flag, CONFIG_INVALID for pki.yaml.
 */
export async function openStoreAt(deps: Deps, url: string, where: { baseDir: string; keysDir: string; configFile?: string; setting?: string }, create: boolean): Promise<Store> {
  try {
    return await (deps.storeFactory ?? defaultStoreFactory).open(url, { baseDir: where.baseDir, keysDir: where.keysDir, configFile: where.configFile }, { create, env: deps.env });
  } catch (e) {
    if (!(e instanceof PkiError) || e.code !== 'USAGE_BAD_STORE_URL') throw e;
    if (where.setting) throw new PkiError('USAGE_BAD_STORE_URL', `${where.setting} ${e.message}`, { details: { ...e.details, flag: where.setting, ...(where.setting.startsWith('input.') ? { input: where.setting.slice(6) } : {}) }, hint: e.hint, cause: e.cause });
    if (where.configFile) throw new PkiError('CONFIG_INVALID', `${where.configFile}: store.url ${e.message}`, { details: { ...e.details, file: where.configFile }, hint: e.hint, cause: e.cause });
    throw e;
  }
}

export async function openWorkspace(dir: string | undefined, deps: Deps): Promise<Workspace> {
  const config = loadConfig(resolveDir(dir, deps));
  const store = await openStore(config, deps);
  return { config, store, deps, now: deps.now(), close: () => store.close() };
}

/** Runs `fn` with an opened workspace and always closes it. */
export async function withWorkspace<T>(dir: string | undefined, deps: Deps, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  const ws = await openWorkspace(dir, deps);
  try {
    return await fn(ws);
  } finally {
    await ws.close();
  }
}

export async function getCa(ws: Workspace, name: string, flag = 'input.ca'): Promise<CaRecord> {
  const ca = await ws.store.getCa(name);
  if (!ca) {
    const known = (await ws.store.listCas()).map((c) => c.name);
    throw new PkiError('NOT_FOUND_CA', `${flag} ${name}: no such CA (known: ${known.join(', ') || 'none'})`, { details: { ca: name, known, ...(flag.startsWith('input.') ? { input: flag.slice(6) } : {}) } });
  }
  return ca;
}

/** A CA ready to sign: its certificate and unlocked key. */
export interface CaSigner {
  ca: CaRecord;
  cert: ParsedCertificate;
  issuer: Issuer;
  /** The passphrase that unlocked the key (in memory only), so a new child key can reuse it without a second prompt. */
  passphrase?: string;
}

/** The parsed certificate of an active CA (throws STATE_CA_PENDING for a CA waiting for `pki ca import`). */
export function caCertificate(ca: CaRecord): ParsedCertificate {
  if (ca.status === 'pending' || !ca.certDer)
    throw new PkiError('STATE_CA_PENDING', `CA ${ca.name} has no certificate yet (its CSR is waiting to be signed)`, {
      details: { ca: ca.name },
      hint: `sign its CSR with the parent CA and run: pki ca import ${ca.name} --cert FILE`,
    });
  return parseCertificate(ca.certDer, `CA ${ca.name}`);
}

/** The key store holding this PKI's CA keys (encrypted PKCS#8 files under `keys.dir`). */
export function caKeyStore(ws: Pick<Workspace, 'config' | 'deps'>): FileKeyStore {
  return new FileKeyStore({ baseDir: ws.config.dir, keysDir: ws.config.keys.dir, iterations: ws.config.keys.pbkdf2Iterations, randomBytes: ws.deps.randomBytes });
}

/**
 * The PKCS#11 key store (src/adapters/keys/pkcs11.ts), loaded on first use (it loads a native module); token
 * defaults from pki.yaml `keys.pkcs11` when the workspace has a configuration.
 */
export async function tokenKeyStore(ws: { deps: Deps; config?: Config }) {
  const { Pkcs11KeyStore } = await import('../adapters/keys/pkcs11.js');
  return new Pkcs11KeyStore({ deps: ws.deps, ...(ws.config ? { defaults: ws.config.keys.pkcs11, baseDir: ws.config.dir } : {}) });
}

/** Where a new CA key is made: the PKI's key files, or the token of `keyStore` (a pkcs11: URI; logs in now). */
export interface NewKeySource {
  generate(type: KeyType, label: string, description?: string): GeneratedKey;
  /** True for a token: the key has no passphrase (the token PIN protects it). */
  onToken: boolean;
  /** The module and PIN source of the URI when they do not depend on the current directory (pki init writes them to pki.yaml). */
  defaults?: { module?: string; pinSource?: string };
}

export async function newKeySource(ws: { deps: Deps; config?: Config; store?: Pick<Store, 'listCas'> }, keyStore: string | undefined, flag = 'input.keyStore'): Promise<NewKeySource> {
  if (keyStore === undefined) {
    const files = caKeyStore({ deps: ws.deps, config: ws.config! });
    return { onToken: false, generate: (type, label, description) => files.generate(type, label, description) };
  }
  if (keyRefScheme(keyStore) !== 'pkcs11')
    throw new PkiError('USAGE_BAD_KEY_STORE', `${flag} "${keyStore}": give a pkcs11: URI naming a token (CA keys are files when ${flag} is not given)`, { details: { flag } });
  await assertNodeModule(ws, keyStore, flag);
  // A token key labelled as the new one that no CA of this store references is refused (CRYPTO_TOKEN_ORPHAN_KEY).
  const inUse = ws.store ? (await ws.store.listCas()).map((c) => c.keyPath) : [];
  const gen = await (await tokenKeyStore(ws)).generatorFor(keyStore, flag, { inUse });
  return { onToken: true, generate: (type, label) => gen.generate(type, label), defaults: gen.defaults };
}

/**
 * A `--key-store` / `--key` URI of a PKI that has a pki.yaml: its module-path (or module-name) serves this command
 * only, since the stored key reference names the token and the key and later commands load this node's module
 * (pki.yaml keys.pkcs11.module, else $PKI_PKCS11_MODULE). So a module-path is refused (USAGE_PKCS11_MODULE_REQUIRED,
 * exit 2) when this node has no module set, and (USAGE_PKCS11_MODULE_MISMATCH) when it names another library: the key
 * would be made on a token later commands cannot reach. pki init (no pki.yaml yet) writes the URI's module instead.
 */
export async function assertNodeModule(ws: { deps: Deps; config?: Config }, ref: string, flag: string): Promise<void> {
  if (!ws.config) return;
  const uri = parsePkcs11Uri(ref, flag);
  if (uri.modulePath === undefined && uri.moduleName === undefined) return;
  const { nodeModule } = await import('../adapters/keys/pkcs11.js');
  const given = (await tokenKeyStore(ws)).modulePath(uri, flag);
  const own = nodeModule({ deps: ws.deps, defaults: ws.config.keys.pkcs11, baseDir: ws.config.dir });
  const file = ws.config.file;
  if (!own)
    throw new PkiError('USAGE_PKCS11_MODULE_REQUIRED', `${flag}: module ${given} would serve this command only: pki stores the key reference without a module, and ${file} has no keys.pkcs11.module (nor is PKI_PKCS11_MODULE set), so later commands could not open the key`, {
      details: { flag, module: given, config: file },
      hint: `set keys.pkcs11.module: ${given} (and keys.pkcs11.pinSource) in ${file}, or PKI_PKCS11_MODULE, then give the URI without module-path`,
    });
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  if (real(own) !== real(given))
    throw new PkiError('USAGE_PKCS11_MODULE_MISMATCH', `${flag}: module ${given} is not this node's PKCS#11 module ${own} (${file} keys.pkcs11.module or PKI_PKCS11_MODULE), which later commands load to open the key`, {
      details: { flag, module: given, nodeModule: own, config: file },
      hint: `drop module-path from the URI, or change keys.pkcs11.module in ${file}`,
    });
}

/** Opens and checks a CA's key (a {@link Signer}); the passphrase comes from `src` when the key is encrypted. */
export async function unlockCa(ws: Workspace, ca: CaRecord, src: PassphraseSource): Promise<CaSigner> {
  const cert = caCertificate(ca);
  let passphrase: string | undefined;
  // A key kept in a shared store (store:NAME) is read from the store; a pkcs11: reference opens on its token; any other
  // reference goes to the file key store.
  const keys: Pick<KeyStore, 'open'> =
    ws.deps.keyStore ?? (isStoreKeyRef(ca.keyPath) ? new StoreKeyStore(ws.store, caKeyStore(ws)) : keyRefScheme(ca.keyPath) === 'pkcs11' ? await tokenKeyStore(ws) : caKeyStore(ws));
  const signer = await keys.open(
    ca.keyPath,
    async () => (passphrase = ca.keyEncrypted ? await passphraseToUnlock(ws.deps, src, `CA ${ca.name}'s key (${ca.keyPath})`) : undefined),
    ca.name,
    cert.spki,
  );
  if (!spkiMatches(signer.spki, cert.publicKey))
    throw new PkiError('CRYPTO_KEY_MISMATCH', `the key ${shownKeyRef(ca.keyPath)} does not match CA ${ca.name}'s certificate`, { details: { ca: ca.name, file: shownKeyRef(ca.keyPath) } });
  return {
    ca,
    cert,
    issuer: { name: cert.subjectDer, keyId: cert.subjectKeyId ?? keyIdentifier(cert.spki), signer },
    ...(passphrase === undefined ? {} : { passphrase }),
  };
}

/** True when `issuer` can have signed `cert`: names chain, AKI matches SKI (when both are present), the signature verifies. */
export function issuedBy(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (!issuer.subjectDer.equals(cert.issuerDer)) return false;
  if (cert.authorityKeyId && issuer.subjectKeyId && !cert.authorityKeyId.equals(issuer.subjectKeyId)) return false;
  return verifyCertificateSignature(cert, issuer.publicKey);
}

/**
 * The CA's certificate followed by its issuers' up to a self-signed root (or the external chain it was imported
 * with). Each issuer is found by key, not by name: AKI = SKI and a signature that verifies (RFC 5280 §4.2.1.1), so
 * two CAs sharing a subject cannot be mistaken for each other; the recorded parent is preferred when it qualifies.
 */
export async function caChain(ws: Workspace, ca: CaRecord): Promise<ParsedCertificate[]> {
  const candidates = (await ws.store.listCas()).filter((c) => c.certDer).map((c) => ({ ca: c, cert: parseCertificate(c.certDer!, `CA ${c.name}`) }));
  const out: ParsedCertificate[] = [];
  type Link = { ca: CaRecord; cert: ParsedCertificate };
  let current: Link | undefined = { ca, cert: caCertificate(ca) };
  const seen = new Set<number>();
  while (current && !seen.has(current.ca.id)) {
    seen.add(current.ca.id);
    out.push(current.cert);
    if (isSelfIssued(current.cert)) break;
    const cert: ParsedCertificate = current.cert;
    const parentId: number | null = current.ca.parentId;
    const issuers: Link[] = candidates.filter((c) => !seen.has(c.ca.id) && issuedBy(cert, c.cert));
    const next: Link | undefined = issuers.find((c) => c.ca.id === parentId) ?? issuers[0];
    if (!next && current.ca.externalChainPem) {
      for (const b of decodePemBlocks(current.ca.externalChainPem, `CA ${current.ca.name} chain`)) out.push(parseCertificate(b.der, `CA ${current.ca.name} chain`));
      break;
    }
    current = next;
  }
  return out;
}

/**
 * True for a self-signed certificate (a root): issuer = subject, and its own key verifies its signature. A CA that
 * merely shares its issuer's subject is not one (it belongs in a chain).
 */
export function isSelfIssued(cert: ParsedCertificate): boolean {
  return cert.subjectDer.equals(cert.issuerDer) && (!cert.authorityKeyId || !cert.subjectKeyId || cert.authorityKeyId.equals(cert.subjectKeyId)) && verifyCertificateSignature(cert, cert.publicKey);
}

export const chainToPem = (certs: ParsedCertificate[]): string => certs.map((c) => toPem('CERTIFICATE', c.der)).join('');

/** A CA's key reference as shown (ca list, node join): a PIN in a pkcs11: reference (an older row) is masked. */
export function shownKeyRef(ref: string): string {
  return keyRefScheme(ref) === 'pkcs11' ? shownPkcs11Ref(ref) : ref;
}
