/**
 * `pki node join`: another CA node of a PKI whose store is a shared PostgreSQL database. The node's directory gets its
 * own pki.yaml naming the same store (and its own key directory, for keys made here that stay files: none by default,
 * since CA keys made on a shared store are kept in it). What a node needs to use each CA is reported. The join is
 * recorded in the shared audit chain (action `node.join`: the node's host and directory, the store URL with its
 * password redacted), so every node's `pki audit log` shows which nodes joined and when.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PkiError } from '../errors.js';
import { CONFIG_FILE, defaultConfigText } from '../config/config.js';
import { writeFileAtomic, removeQuietly } from '../fs/files.js';
import type { CaRecord, Deps } from '../ports.js';
import { isStoreKeyRef } from '../adapters/store/shared-keys.js';
import { redactUrl, storeKind } from '../adapters/store/url.js';
import { openStoreAt, resolveDir, shownKeyRef } from './workspace.js';

export interface JoinNodeInput {
  dir?: string;
  /** The shared store's URL (else $PKI_STORE_URL). */
  store?: string;
  pbkdf2Iterations?: number;
}

/** How this node can use a CA's key. */
function keyAccess(ca: CaRecord): { keyRef: string; access: 'store' | 'pkcs11' | 'file'; needs: string } {
  if (/^pkcs11:/i.test(ca.keyPath)) {
    const ref = shownKeyRef(ca.keyPath);
    return { keyRef: ref, access: 'pkcs11', needs: `this node's own HSM holding the key ${ref}: set keys.pkcs11.module (and keys.pkcs11.pinSource, or PKI_PKCS11_PIN) in this node's pki.yaml` };
  }
  if (isStoreKeyRef(ca.keyPath))
    return { keyRef: ca.keyPath, access: 'store', needs: ca.keyEncrypted ? `the passphrase of CA ${ca.name}'s key (asked for, or PKI_CA_PASSPHRASE / input.passphraseFile)` : 'nothing more (the key is NOT encrypted)' };
  return { keyRef: ca.keyPath, access: 'file', needs: `the key file ${ca.keyPath}, which lives on the node that made the CA: copy it to the same path here, or this node cannot sign as ${ca.name}` };
}

export async function joinNode(deps: Deps, input: JoinNodeInput) {
  const dir = resolveDir(input.dir, deps);
  const url = input.store ?? (deps.env.PKI_STORE_URL || undefined);
  if (!url) throw new PkiError('USAGE_MISSING_INPUT', 'pki node join needs input.store URL (or $PKI_STORE_URL): the PostgreSQL database the other nodes use', { details: { flag: 'input.store', input: 'store' } });
  if (storeKind(url) !== 'postgres')
    throw new PkiError('USAGE_BAD_STORE_URL', `input.store ${redactUrl(url)}: a node joins a shared PostgreSQL store (postgres://... or postgresql://...); a SQLite file serves one machine`, { details: { flag: 'input.store', input: 'store' } });
  const configFile = join(dir, CONFIG_FILE);
  if (fs.existsSync(configFile)) throw new PkiError('STATE_ALREADY_INITIALISED', `${dir} is already a PKI directory (${CONFIG_FILE} exists)`, { details: { dir } });
  const keysDir = join(dir, 'keys');
  if (fs.existsSync(keysDir)) throw new PkiError('STATE_OUTPUT_EXISTS', `${keysDir} already exists; refusing to join over it`, { details: { file: keysDir } });
  const store = await openStoreAt(deps, url, { baseDir: dir, keysDir, setting: input.store !== undefined ? 'input.store' : '$PKI_STORE_URL' }, false);
  const created: string[] = [];
  const dirExisted = fs.existsSync(dir);
  try {
    const cas = await store.listCas();
    if (!cas.length)
      throw new PkiError('STATE_STORE_EMPTY', `the store ${redactUrl(url)} holds no PKI yet`, { details: { store: redactUrl(url) }, hint: `make the first node with: pki init --dir DIR --subject "CN=..." --store URL` });
    const audit = await store.auditLog();
    if (!dirExisted) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      created.push(dir);
    }
    fs.mkdirSync(keysDir, { mode: 0o700 });
    created.push(keysDir);
    // A password in the store URL makes pki.yaml a secret: owner-only from the start.
    writeFileAtomic(configFile, defaultConfigText(input.pbkdf2Iterations, { storeUrl: url }), { flag: 'config', mode: redactUrl(url) !== url ? 0o600 : 0o644 });
    created.push(configFile);
    // Last, once the directory is complete: a join that fails before this leaves no audit row, and a failure here
    // removes the directory (its transaction rolled back, nothing recorded).
    if (!store.recordAuditEvent) throw new PkiError('INTERNAL_STORE', `the store ${redactUrl(url)} cannot record the join in its audit log`, { details: { store: redactUrl(url) } });
    const host = hostname();
    const joined = await store.recordAuditEvent(
      { action: 'node.join', target: `${host}:${dir}`, details: { host, dir, config: configFile, store: redactUrl(url), cas: cas.length } },
      deps.actor,
      deps.now(),
    );
    const list = cas.map((ca) => ({ name: ca.name, status: ca.status, keyEncrypted: ca.keyEncrypted, ...keyAccess(ca) }));
    const needs = [
      `network access to the database and its credentials: the URL's user, the password from PGPASSFILE, ~/.pgpass or PGPASSWORD (TLS with sslmode=verify-full in the URL when the network is not trusted)`,
      'the same pki version as the other nodes (a node whose pki is older than the database schema is refused: STATE_STORE_TOO_NEW)',
      ...list.filter((c) => c.status === 'active' || c.status === 'pending').map((c) => `CA ${c.name}: ${c.needs}`),
      `its own pki.yaml settings (crl.nextUpdate, crl.maxPemBytes, profiles): keep them the same on every node`,
    ];
    return { dir, config: configFile, store: redactUrl(url), cas: list, auditRows: audit.length, audit: { seq: joined.seq, hash: joined.hash }, needs };
  } catch (e) {
    removeQuietly(dirExisted ? created.reverse() : [dir]);
    throw e;
  } finally {
    await store.close();
  }
}
