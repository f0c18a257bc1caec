/**
 * `pki backup` and `pki restore`: the whole PKI directory in one archive file, consistent while other commands run.
 *
 * Format: a POSIX ustar archive (fs/tar.ts). Its first entry, `pki-backup.json`, is the manifest: format name and
 * version, when and from where it was made, the audit head at that instant, and every other entry's path, mode, size
 * and SHA-256. Then `pki.yaml`, the database (a snapshot through SQLite's online backup API, at the path pki.yaml
 * names), the key file of every CA in that snapshot, and the profiles directory. The archive is written 0600: it
 * holds the CA keys (encrypted at rest unless made with --no-passphrase).
 */
import { createHash } from 'node:crypto';
import { parseCertificate } from '../x509/certificate.js';
import * as fs from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PkiError } from '../errors.js';
import { loadConfig, type Config } from '../config/config.js';
import type { Deps } from '../ports.js';
import { checkOutput, readInput, removeQuietly, writeFileAtomic } from '../fs/files.js';
import { readTar, safeRelativePath, writeTar, type TarEntry } from '../fs/tar.js';
import { redactUrl } from '../adapters/store/url.js';
import { checkHead, crossCheckAudit, formatHead, verifyAuditChain } from './audit.js';
import { caKeyStore, openStore, openWorkspace, resolveDir, storeUrlOf } from './workspace.js';
import { keyRefScheme } from '../ports/signer.js';

export const BACKUP_FORMAT = 'pki-backup';
export const BACKUP_VERSION = 1;
const MANIFEST = 'pki-backup.json';
/** The largest archive `pki restore` reads (it is read whole). */
const MAX_ARCHIVE_BYTES = 16 * 1024 * 1024 * 1024;

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  /** The PKI directory the backup was made from (information only). */
  source: string;
  /** The database's path inside the archive. */
  store: string;
  /** The audit chain's head in the snapshot ("SEQ:HASH"), checked again after a restore. */
  auditHead: string | null;
  cas: number;
  files: Array<{ path: string; type: 'file' | 'dir'; mode: number; size: number; sha256: string }>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** `path` relative to the PKI directory with `/` separators; refuses a path outside it (the archive would not hold it). */
function inside(config: Config, path: string, what: string): string {
  const rel = relative(config.dir, path);
  if (!rel || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    throw new PkiError('CONFIG_OUTSIDE_PKI_DIR', `${what} ${path} is outside the PKI directory ${config.dir}: pki backup archives only the PKI directory`, {
      details: { file: path, dir: config.dir },
      hint: `back it up separately, or move it into ${config.dir} and update ${config.file}`,
    });
  return rel.split(sep).join('/');
}

/** Regular files and directories under `dir` (relative to `base`), depth first, sorted; symbolic links are refused. */
function walk(base: string, dir: string, out: TarEntry[]): void {
  for (const name of fs.readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = fs.lstatSync(p);
    const rel = relative(base, p).split(sep).join('/');
    if (st.isSymbolicLink()) throw new PkiError('IO_SYMLINK_REFUSED', `${p} is a symbolic link: pki backup archives regular files only`, { details: { file: p } });
    if (st.isDirectory()) {
      out.push({ path: rel, type: 'dir', mode: st.mode & 0o7777, data: Buffer.alloc(0) });
      walk(base, p, out);
    } else if (st.isFile()) out.push({ path: rel, type: 'file', mode: st.mode & 0o7777, data: fs.readFileSync(p) });
  }
}

/**
 * `pki backup --out FILE`. The database is copied first (one committed state, whatever other processes do
 * meanwhile), then the files: a CA's key file is written before its row is committed and never changes, so every
 * CA in the snapshot has its key in the archive.
 */
export async function backupPki(deps: Deps, input: { dir?: string; out: string; force?: boolean }) {
  const out = resolve(deps.cwd, input.out);
  checkOutput(out, 'input.out', input.force ?? false);
  const ws = await openWorkspace(input.dir, deps);
  let tmpDir: string | undefined;
  try {
    const { config } = ws;
    if (!ws.store.backupTo)
      throw new PkiError('USAGE_BACKUP_UNSUPPORTED', `pki backup copies a SQLite store; ${config.file} names a PostgreSQL database (${redactUrl(storeUrlOf(config))})`, {
        details: { store: redactUrl(storeUrlOf(config)) },
        hint: 'back the database up with pg_dump (pg_dump -Fc -f pki.dump DB; restore with pg_restore, see README "PostgreSQL"), and each node\'s pki.yaml and key files with your file backups',
      });
    const storeRel = inside(config, config.store.sqlite, 'the store');
    const keysRel = inside(config, config.keys.dir, 'the key directory');
    // Inside the PKI directory, a backup (and its temporary snapshot) would be archived by the next backup, keys and all.
    const outRel = relative(config.dir, out);
    if (outRel && !outRel.startsWith(`..${sep}`) && outRel !== '..' && !isAbsolute(outRel))
      throw new PkiError('USAGE_CONFLICT', `input.out ${out} is inside the PKI directory ${config.dir}: write the backup elsewhere (the next backup would carry this one, keys and all)`, { details: { flag: 'input.out', input: 'out', file: out } });
    tmpDir = fs.mkdtempSync(join(dirname(out), '.pki-backup-'));
    // 1. The database, through the online backup API of the open connection.
    const snapshotPath = join(tmpDir, 'pki.db');
    await ws.store.backupTo(snapshotPath);
    const snapshot = await openStore(config, deps, { url: `sqlite:${snapshotPath}` });
    let cas;
    let head: string | null;
    try {
      cas = await snapshot.listCas();
      const last = (await snapshot.auditLog()).at(-1);
      head = last ? formatHead(last) : null;
    } finally {
      await snapshot.close();
    }
    const entries: TarEntry[] = [{ path: 'pki.yaml', type: 'file', mode: 0o644, data: fs.readFileSync(config.file) }];
    const dirs = new Set<string>();
    const addDirs = (rel: string) => {
      const parts = rel.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (!dirs.has(d)) {
          dirs.add(d);
          entries.push({ path: d, type: 'dir', mode: d === keysRel ? 0o700 : 0o755, data: Buffer.alloc(0) });
        }
      }
    };
    addDirs(storeRel);
    entries.push({ path: storeRel, type: 'file', mode: 0o600, data: fs.readFileSync(snapshotPath) });
    // 2. The key file of every CA in the snapshot.
    if (!dirs.has(keysRel)) addDirs(`${keysRel}/x`);
    for (const ca of cas) {
      // A key on a PKCS#11 token is not a file: the store keeps its URI, the token keeps the key.
      if (keyRefScheme(ca.keyPath) === 'pkcs11') continue;
      const rel = inside(config, ca.keyPath, `CA ${ca.name}'s key`);
      let data: Buffer;
      try {
        data = fs.readFileSync(ca.keyPath);
      } catch (e) {
        throw new PkiError('IO_KEY_UNREADABLE', `cannot read CA ${ca.name}'s key ${ca.keyPath}: ${(e as Error).message}`, { details: { ca: ca.name, file: ca.keyPath }, cause: e });
      }
      const problem = caKeyProblem(caKeyStore(ws), ca, data);
      if (problem) throw new PkiError('CRYPTO_BAD_KEY', `CA ${ca.name}'s key ${ca.keyPath}: ${problem}; a backup without a usable key would be useless`, { details: { ca: ca.name, file: ca.keyPath } });
      addDirs(rel);
      entries.push({ path: rel, type: 'file', mode: 0o600, data });
    }
    // 3. Your own profiles.
    if (fs.existsSync(config.profilesDir)) {
      const profilesRel = inside(config, config.profilesDir, 'the profiles directory');
      addDirs(`${profilesRel}/x`);
      walk(config.dir, config.profilesDir, entries);
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: ws.now.toISOString(),
      source: config.dir,
      store: storeRel,
      auditHead: head,
      cas: cas.length,
      files: entries.map((e) => ({ path: e.path, type: e.type, mode: e.mode, size: e.data.length, sha256: sha256(e.data) })),
    };
    const archive = writeTar([{ path: MANIFEST, type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') }, ...entries], Math.floor(ws.now.getTime() / 1000));
    writeFileAtomic(out, archive, { force: input.force ?? false, mode: 0o600, flag: 'input.out' });
    return { out, bytes: archive.length, sha256: sha256(archive), files: entries.filter((e) => e.type === 'file').length, cas: cas.length, auditHead: head, createdAt: manifest.createdAt };
  } finally {
    if (tmpDir) removeQuietly([tmpDir]);
    await ws.close();
  }
}

/** Parses and checks an archive against its manifest: every entry listed, sizes and SHA-256 equal, nothing extra. */
/** Why a CA's key file cannot serve it (the key store's check against the CA certificate), or undefined. */
function caKeyProblem(keys: ReturnType<typeof caKeyStore>, ca: { certDer: Buffer | null }, data: Buffer): string | undefined {
  return keys.checkKeyData(data, ca.certDer ? parseCertificate(ca.certDer, 'CA certificate').spki : undefined);
}

function readBackup(file: string): { manifest: BackupManifest; entries: TarEntry[] } {
  const entries = readTar(readInput(file, 'FILE', MAX_ARCHIVE_BYTES), file);
  const invalid = (why: string) => new PkiError('STATE_BACKUP_INVALID', `${file} is not a valid pki backup: ${why}`, { details: { file } });
  const first = entries.shift();
  if (first?.path !== MANIFEST) throw invalid(`its first entry is not ${MANIFEST}`);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(first.data.toString('utf8')) as BackupManifest;
  } catch {
    throw invalid(`${MANIFEST} is not JSON`);
  }
  if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.files)) throw invalid(`${MANIFEST} is not a ${BACKUP_FORMAT} manifest`);
  // Fields that are printed must be what pki wrote: an ISO date, a path and a head without control characters.
  const printable = (v: unknown) => v === null || v === undefined || (typeof v === 'string' && !/[\x00-\x1f\x7f]/.test(v));
  if (typeof manifest.createdAt !== 'string' || Number.isNaN(Date.parse(manifest.createdAt)) || !printable(manifest.source) || !printable(manifest.auditHead) || typeof manifest.store !== 'string')
    throw invalid(`${MANIFEST} has malformed fields`);
  if (manifest.version > BACKUP_VERSION) throw new PkiError('STATE_BACKUP_TOO_NEW', `${file} is a version ${manifest.version} backup; this pki reads up to version ${BACKUP_VERSION}`, { hint: 'upgrade pki' });
  if (entries.length !== manifest.files.length) throw invalid(`it holds ${entries.length} entries, its manifest lists ${manifest.files.length}`);
  entries.forEach((e, i) => {
    const m = manifest.files[i]!;
    if (m.path !== e.path || m.type !== e.type || !safeRelativePath(e.path)) throw invalid(`entry ${i + 1} is ${e.path}, its manifest says ${m.path}`);
    if (e.data.length !== m.size || sha256(e.data) !== m.sha256) throw invalid(`${e.path} does not match its SHA-256 in the manifest (the archive was changed or damaged)`);
  });
  if (!entries.some((e) => e.path === 'pki.yaml') || !entries.some((e) => e.path === manifest.store)) throw invalid('it lacks pki.yaml or the database');
  return { manifest, entries };
}

/**
 * `pki restore FILE --dir D`: into an empty or new directory only. The archive is checked against its manifest
 * before anything is written; after writing, the database's integrity, the audit chain and its cross-checks, the
 * manifest's audit head and every CA's key file are checked. On any failure nothing is left behind.
 */
export async function restorePki(deps: Deps, input: { file: string; dir?: string }) {
  const file = resolve(deps.cwd, input.file);
  if (typeof input.dir !== 'string') throw new PkiError('USAGE_MISSING_DIR', 'pki restore needs one input.dir DIR: the empty or new directory to restore into', { details: { input: 'dir' } });
  const dir = resolveDir(input.dir, deps);
  let existed = false;
  try {
    const st = fs.statSync(dir);
    existed = true;
    if (!st.isDirectory()) throw new PkiError('USAGE_NOT_A_DIRECTORY', `input.dir ${dir} is not a directory`, { details: { dir, input: 'dir' } });
    if (fs.readdirSync(dir).length)
      throw new PkiError('STATE_OUTPUT_EXISTS', `input.dir ${dir} is not empty: pki restore writes only into an empty or new directory`, { details: { dir, input: 'dir' }, hint: 'pass a new directory' });
  } catch (e) {
    if (e instanceof PkiError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new PkiError('IO_NOT_A_DIRECTORY', `input.dir ${dir}: ${(e as Error).message}`, { details: { dir, input: 'dir' }, cause: e });
  }
  const { manifest, entries } = readBackup(file);
  const created: string[] = [];
  try {
    if (!existed) {
      // Every missing parent is created here and removed again on failure.
      const missing: string[] = [];
      for (let d = dir; !fs.existsSync(d) && dirname(d) !== d; d = dirname(d)) missing.unshift(d);
      for (const d of missing) {
        try {
          fs.mkdirSync(d, { mode: 0o755 });
        } catch (e) {
          throw new PkiError('IO_MKDIR_FAILED', `input.dir ${dir}: cannot create ${d} (${(e as Error).message})`, { details: { dir: d, input: 'dir' }, cause: e });
        }
        created.push(d);
      }
    }
    for (const e of entries) {
      const p = join(dir, ...e.path.split('/'));
      if (e.type === 'dir') fs.mkdirSync(p, { mode: e.mode & 0o777 });
      else writeFileAtomic(p, e.data, { mode: e.mode & 0o777, flag: 'restore' });
      fs.chmodSync(p, e.mode & 0o777);
      if (existed) created.push(p);
    }
    const config = loadConfig(dir);
    // The restored configuration must point into the restored directory: the archive's own database, key directory
    // and profiles, never another PKI's (a crafted pki.yaml would otherwise adopt them).
    const within = (path: string, what: string) => {
      try {
        return inside(config, path, what);
      } catch (e) {
        throw new PkiError('STATE_BACKUP_INVALID', `${file}: ${what} ${path} is outside ${dir}: the archive's pki.yaml points elsewhere`, { details: { file }, cause: e });
      }
    };
    if (config.store.url !== null)
      throw new PkiError('STATE_BACKUP_INVALID', `${file}: the restored pki.yaml names the store ${redactUrl(config.store.url)}, not the archived database`, { details: { file } });
    const storeRel = within(config.store.sqlite, 'the restored store');
    if (storeRel.split(sep).join('/') !== manifest.store)
      throw new PkiError('STATE_BACKUP_INVALID', `${file}: the restored pki.yaml names the store ${config.store.sqlite}, not the archived database ${manifest.store}`, { details: { file } });
    const keysRel = within(config.keys.dir, 'the restored key directory');
    within(config.profilesDir, 'the restored profiles directory');
    // Keys: private to the owner whatever the archive's headers say.
    if (fs.existsSync(config.keys.dir)) {
      fs.chmodSync(config.keys.dir, 0o700);
      for (const e of entries) if (e.type === 'file' && e.path.startsWith(`${keysRel.split(sep).join('/')}/`)) fs.chmodSync(join(dir, ...e.path.split('/')), 0o600);
    }
    const store = await openStore(config, deps, { url: `sqlite:${config.store.sqlite}` });
    try {
      const problems: string[] = [];
      const integrity = store.integrityCheck?.() ?? 'ok';
      if (integrity !== 'ok') problems.push(`the database fails its integrity check: ${integrity}`);
      const rows = await store.auditLog();
      const broken = verifyAuditChain(rows);
      if (broken) problems.push(`the audit log is broken at row #${broken.seq}: ${broken.reason}`);
      const ws = { config, store, deps, now: deps.now(), close: () => store.close() };
      problems.push(...(await crossCheckAudit(ws, rows)));
      if (manifest.auditHead) {
        const [seq, hash] = manifest.auditHead.split(':');
        const headProblem = checkHead(rows, { seq: Number(seq), hash: hash! });
        if (headProblem) problems.push(headProblem);
      }
      const cas = await store.listCas();
      const restoredFiles = new Set(entries.filter((e) => e.type === 'file').map((e) => join(dir, ...e.path.split('/'))));
      for (const ca of cas) {
        if (keyRefScheme(ca.keyPath) === 'pkcs11') continue;
        const keyRel = relative(config.keys.dir, ca.keyPath);
        if (!keyRel || keyRel.startsWith('..') || isAbsolute(keyRel) || !restoredFiles.has(ca.keyPath)) {
          problems.push(`CA ${ca.name}'s key ${ca.keyPath} is not a key file of the archive inside ${config.keys.dir}`);
          continue;
        }
        const problem = caKeyProblem(caKeyStore({ config, deps }), ca, fs.readFileSync(ca.keyPath));
        if (problem) problems.push(`CA ${ca.name}'s key ${ca.keyPath}: ${problem}`);
      }
      if (problems.length)
        throw new PkiError('STATE_BACKUP_INVALID', `${file}: the restored PKI fails its checks: ${problems.slice(0, 5).join('; ')}`, { details: { file, problems } });
      return { file, dir, files: entries.filter((e) => e.type === 'file').length, cas: cas.map((c) => c.name), auditRows: rows.length, auditHead: manifest.auditHead, createdAt: manifest.createdAt, source: manifest.source };
    } finally {
      await store.close();
    }
  } catch (e) {
    removeQuietly(existed ? created.reverse() : created);
    if (existed) for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) removeQuietly([join(dir, name)]);
    throw e;
  }
}
