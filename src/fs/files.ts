/**
 * File output with the guarantees users rely on: refuse to overwrite without --force, never leave a half-written
 * file (write a temporary file in the same directory, then link/rename it into place), private keys 0600 created
 * with O_EXCL, and every error names the path.
 */
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PkiError } from '../errors.js';

/**
 * Size limits on input files, which may come from untrusted parties (CSRs from workloads, certificates and CRLs from
 * other tools). Reading stops at the limit, so a huge file or an endless device costs nothing.
 */
export const INPUT_LIMITS = {
  /** Certificates, chains, keys, passphrase and mapping files. */
  default: 1024 * 1024,
  /** A CSR (real ones are 0.3-2 KB). */
  csr: 64 * 1024,
  /** A serial list for revoke --batch (about 40 bytes a line: millions of lines). */
  list: 256 * 1024 * 1024,
  /** A CRL: a 1M-entry CRL is about 35 MB of DER. */
  crl: 1024 * 1024 * 1024,
} as const;

/** Reads an input file of at most `maxBytes`, naming `flag` and the path in errors. */
export function readInput(path: string, flag: string, maxBytes: number = INPUT_LIMITS.default): Buffer {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'r');
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, maxBytes + 1 - total));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes)
        throw new PkiError('POLICY_INPUT_TOO_LARGE', `${flag} ${path} is larger than ${maxBytes} bytes, the most pki reads for ${flag}`, { details: { file: path, flag, maxBytes } });
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof PkiError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PkiError('NOT_FOUND_FILE', `${flag} ${path}: no such file`, { details: { file: path, flag } });
    if (code === 'EISDIR') throw new PkiError('USAGE_NOT_A_FILE', `${flag} ${path} is a directory, not a file`, { details: { file: path, flag } });
    throw new PkiError('IO_READ_FAILED', `${flag} ${path}: cannot read (${(e as Error).message})`, { details: { file: path, flag }, cause: e });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Checks, before any work is done, that `path` can be created: its directory exists and is writable, and the file
 * does not exist unless `force`. Throws STATE_OUTPUT_EXISTS or IO_NOT_WRITABLE naming the path.
 */
export function checkOutput(path: string, flag: string, force: boolean): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(path);
  } catch {
    st = undefined;
  }
  if (st) {
    if (st.isDirectory()) throw new PkiError('USAGE_NOT_A_FILE', `${flag} ${path} is a directory`, { details: { file: path, flag } });
    if (st.isSymbolicLink()) throw new PkiError('IO_SYMLINK_REFUSED', `${flag} ${path} is a symbolic link; refusing to write through it`, { details: { file: path, flag } });
    if (!force) throw new PkiError('STATE_OUTPUT_EXISTS', `${flag} ${path} already exists`, { details: { file: path, flag }, hint: 'pass --force to overwrite it' });
  }
  checkWritableDir(dirname(path), flag);
}

/** Throws IO_NOT_WRITABLE / NOT_FOUND_DIRECTORY unless `dir` is an existing writable directory. */
export function checkWritableDir(dir: string, flag: string): void {
  try {
    if (!fs.statSync(dir).isDirectory()) throw new PkiError('IO_NOT_WRITABLE', `${flag}: ${dir} is not a directory`, { details: { dir, flag } });
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('NOT_FOUND_DIRECTORY', `${flag}: directory ${dir} does not exist`, { details: { dir, flag } });
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new PkiError('IO_NOT_WRITABLE', `${flag}: directory ${dir} is not writable`, { details: { dir, flag } });
  }
}

let tmpCounter = 0;

/**
 * Proves that a file can be created in `dir` by creating (and removing) a hidden probe file there: catches what
 * access(2) cannot see (e.g. /proc, read-only or full file systems, directories root may not write into).
 * Throws IO_NOT_WRITABLE naming `flag` and the directory.
 */
export function probeWritableDir(dir: string, flag: string): void {
  const probe = join(dir, `.pki-probe.${process.pid}.${++tmpCounter}.tmp`);
  try {
    fs.closeSync(fs.openSync(probe, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600));
    fs.unlinkSync(probe);
  } catch (e) {
    throw new PkiError('IO_NOT_WRITABLE', `${flag}: cannot create files in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      details: { dir, flag },
      cause: e,
    });
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, fsync'd, then linked into place
 * (fails if `path` appeared meanwhile, unless `force`, which renames over it). Mode defaults to 0644.
 * `durable: false` skips the fsync, for files that are copies of what the store already holds.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { force?: boolean; mode?: number; flag?: string; durable?: boolean } = {}): void {
  const flag = opts.flag ?? 'output';
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++tmpCounter}.tmp`);
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, opts.mode ?? 0o644);
    try {
      // The exact mode whatever the umask, set on the open file (a path could be swapped for a symlink meanwhile).
      fs.fchmodSync(fd, opts.mode ?? 0o644);
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      if (opts.durable !== false) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (opts.force) fs.renameSync(tmp, path);
    else {
      fs.linkSync(tmp, path);
      fs.unlinkSync(tmp);
    }
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new PkiError('STATE_OUTPUT_EXISTS', `${flag} ${path} already exists`, { details: { file: path }, hint: 'pass --force to overwrite it' });
    throw new PkiError('IO_WRITE_FAILED', `${flag} ${path}: cannot write (${(e as Error).message})`, { details: { file: path }, cause: e });
  }
}

/** Writes a private key: created exclusively (O_EXCL, no symlink following) with mode 0600, fsync'd; replaces only with `force`. */
export function writePrivateKeyFile(path: string, pem: string, flag = 'key', force = false): void {
  writeFileAtomic(path, pem, { mode: 0o600, flag, force });
}

/** Removes files created by a command that then failed (best effort, errors ignored). */
export function removeQuietly(paths: readonly string[]): void {
  for (const p of paths) {
    try {
      fs.rmSync(p, { force: true, recursive: true });
    } catch {
      /* nothing to do */
    }
  }
}
