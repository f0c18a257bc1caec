/**
 * File output with the guarantees users rely on: refuse to overwrite without --force, never leave a half-written
 * file (write a temporary file in the same directory, then link/rename it into place), private keys 0600 created
 * with O_EXCL, and every error names the path.
 */
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PkiError } from '../errors.js';
import { looksLikePem, PemDecoder } from '../asn1/pem.js';

/**
 * Size limits on input files, which may come from untrusted parties (CSRs from workloads, certificates and CRLs from
 * other tools). A regular file over its limit is refused from its size before a byte is read; other files (pipes,
 * devices) are read in chunks and refused as soon as they pass the limit, so a huge file or an endless device costs
 * nothing.
 */
export const INPUT_LIMITS = {
  /** Certificates, chains, bundles, keys, passphrase and mapping files. */
  default: 1024 * 1024,
  /** A CSR (real ones are 0.3-2 KB). */
  csr: 64 * 1024,
  /** A serial list for revoke --batch (about 40 bytes a line: millions of lines). */
  list: 256 * 1024 * 1024,
  /** A CRL: a 1M-entry CRL is about 35 MB of DER. Read in chunks; PEM is decoded as it is read. */
  crl: 1024 * 1024 * 1024,
} as const;

/** "1 MiB", "64 KiB", "1 GiB", or bytes. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return `${n} bytes`;
}

function tooLarge(path: string, flag: string, maxBytes: number, what?: string): PkiError {
  return new PkiError('POLICY_INPUT_TOO_LARGE', `${flag} ${path} is larger than ${formatBytes(maxBytes)}, the most pki reads for ${what ?? flag}`, {
    details: { file: path, flag, maxBytes },
  });
}

function readError(e: unknown, path: string, flag: string): PkiError {
  if (e instanceof PkiError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new PkiError('NOT_FOUND_FILE', `${flag} ${path}: no such file`, { details: { file: path, flag } });
  if (code === 'EISDIR') return new PkiError('USAGE_NOT_A_FILE', `${flag} ${path} is a directory, not a file`, { details: { file: path, flag } });
  return new PkiError('IO_READ_FAILED', `${flag} ${path}: cannot read (${(e as Error).message})`, { details: { file: path, flag }, cause: e });
}

/**
 * The chunks of an input file of at most `maxBytes` (`what` names the kind of input in the error). A regular file
 * over the limit is refused before reading; anything else stops at the limit. The file is closed when the
 * iteration ends, also early.
 */
export function* readInputChunks(path: string, flag: string, maxBytes: number, what?: string, chunkSize = 1024 * 1024): Generator<Buffer, void, undefined> {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'r');
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (st.isFile() && st.size > maxBytes) throw tooLarge(path, flag, maxBytes, what);
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkSize, maxBytes + 1 - total));
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw tooLarge(path, flag, maxBytes, what);
      yield chunk.subarray(0, n);
    }
  } catch (e) {
    throw readError(e, path, flag);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The size of a regular file (undefined for pipes and devices, or when it cannot be read: the read says why). */
function fileSize(path: string): number | undefined {
  try {
    const st = fs.statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** Reads an input file of at most `maxBytes`, naming `flag` and the path in errors. */
export function readInput(path: string, flag: string, maxBytes: number = INPUT_LIMITS.default, what?: string): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (const c of readInputChunks(path, flag, maxBytes, what)) {
    chunks.push(c);
    total += c.length;
  }
  return Buffer.concat(chunks, total);
}

/**
 * Reads a CRL file (DER, or PEM holding an "X509 CRL" block) of at most INPUT_LIMITS.crl and returns its DER.
 * PEM is decoded while it is read (never held as text): memory is about the CRL's DER size. `prefix` are chunks
 * already read from the file. Throws CRYPTO_BAD_CRL when there is no CRL, CRYPTO_BAD_PEM on malformed PEM.
 */
export function readCrlFile(path: string, flag: string, source = path, opts: { chunks?: Iterable<Buffer>; size?: number } = {}): Buffer {
  const all = readCrlFileAll(path, flag, source, opts);
  // One CRL per file here: silently using the first of several would ignore revocations the others list.
  if (all.length > 1)
    throw new PkiError('CRYPTO_BAD_CRL', `${source}: holds ${all.length} CRLs; give one CRL per file`, { details: { file: source, crls: all.length }, hint: `split it (e.g. csplit), or use pki verify --crl, which reads every CRL of a file` });
  return all[0]!;
}

/**
 * Every CRL of a file: DER (one), or every "X509 CRL" block of a PEM file (as openssl -CRLfile reads them).
 * Same limits and errors as {@link readCrlFile}.
 */
export function readCrlFileAll(path: string, flag: string, source = path, opts: { chunks?: Iterable<Buffer>; size?: number } = {}): Buffer[] {
  const chunks = opts.chunks ?? readInputChunks(path, flag, INPUT_LIMITS.crl, 'a CRL');
  const size = opts.size ?? fileSize(path);
  const it = chunks[Symbol.iterator]();
  try {
    const first = it.next();
    if (first.done || first.value.length === 0) throw new PkiError('CRYPTO_BAD_CRL', `${source}: neither a PEM "X509 CRL" block nor DER (the file is empty)`, { details: { file: source } });
    const head = first.value;
    if (head[0] === 0x30) {
      // DER: one buffer of the file's size (a pipe's chunks are concatenated once).
      if (size !== undefined) {
        const der = Buffer.allocUnsafe(size);
        let n = 0;
        for (let r: IteratorResult<Buffer> = first; !r.done; r = it.next()) {
          if (n + r.value.length > size) throw new PkiError('IO_READ_FAILED', `${flag} ${path}: the file grew while it was read`, { details: { file: path, flag } });
          r.value.copy(der, n);
          n += r.value.length;
        }
        return [n === size ? der : der.subarray(0, n)];
      }
      const all: Buffer[] = [];
      for (let r: IteratorResult<Buffer> = first; !r.done; r = it.next()) all.push(r.value);
      return [Buffer.concat(all)];
    }
    const decoder = new PemDecoder(source, {
      keep: (label) => label === 'X509 CRL',
      ...(size !== undefined ? { capacityHint: Math.ceil((size * 3) / 4) + 3 } : {}),
    });
    for (let r: IteratorResult<Buffer> = first; !r.done; r = it.next()) decoder.push(r.value);
    const blocks = decoder.end();
    if (!blocks.length) throw new PkiError('CRYPTO_BAD_CRL', `${source}: neither a PEM "X509 CRL" block nor DER`, { details: { file: source } });
    return blocks.map((b) => b.der);
  } finally {
    it.return?.();
  }
}

/** What `readDocumentFile` found: a small file's bytes, or the DER of a CRL larger than INPUT_LIMITS.default. */
export type DocumentInput = { kind: 'bytes'; data: Buffer } | { kind: 'crl'; der: Buffer; bytes: number; pem: boolean };

/**
 * Reads a file that may hold a certificate, bundle, CSR or CRL (`pki inspect`, `pki lint`). Only a CRL may be larger
 * than INPUT_LIMITS.default (up to INPUT_LIMITS.crl, decoded as it is read); a larger file that is not a CRL is
 * refused with POLICY_INPUT_TOO_LARGE as soon as that is known, naming the 1 MiB limit.
 */
export function readDocumentFile(path: string, flag: string, source = path): DocumentInput {
  const small = INPUT_LIMITS.default;
  const it = readInputChunks(path, flag, INPUT_LIMITS.crl, 'a CRL')[Symbol.iterator]();
  try {
    const head: Buffer[] = [];
    let total = 0;
    let r = it.next();
    for (; !r.done; r = it.next()) {
      head.push(r.value);
      total += r.value.length;
      if (total > small) break;
    }
    if (r.done) return { kind: 'bytes', data: Buffer.concat(head, total) };
    const notCrl = () => tooLarge(path, flag, small, 'a certificate, CSR or bundle (only a CRL may be larger, up to 1 GiB)');
    const first = head[0]!;
    const size = fileSize(path);
    const rest: Iterable<Buffer> = {
      *[Symbol.iterator]() {
        yield* head;
        for (let n = it.next(); !n.done; n = it.next()) yield n.value;
      },
    };
    if (first[0] === 0x30) {
      if (!derLooksLikeCrl(first)) throw notCrl();
      return { kind: 'crl', der: readCrlFile(path, flag, source, { chunks: rest, ...(size !== undefined ? { size } : {}) }), bytes: size ?? total, pem: false };
    }
    // PEM: the first block must be a CRL; explanatory text before it may not fill the first MiB.
    if (!looksLikePem(Buffer.concat(head, total))) throw notCrl();
    let bytes = 0;
    const counted: Iterable<Buffer> = {
      *[Symbol.iterator]() {
        for (const c of rest) {
          bytes += c.length;
          yield c;
        }
      },
    };
    let crlBlocks = 0;
    const decoder = new PemDecoder(source, {
      onBegin: (label, index) => {
        if (index === 0 && label !== 'X509 CRL') throw notCrl();
        // A large file of several CRLs: lint/inspect read one CRL per file (the rest would go unchecked).
        if (label === 'X509 CRL' && ++crlBlocks > 1)
          throw new PkiError('CRYPTO_BAD_CRL', `${source}: holds more than one CRL; give one CRL per file`, { details: { file: source } });
      },
      keep: (label) => label === 'X509 CRL',
      ...(size !== undefined ? { capacityHint: Math.ceil((size * 3) / 4) + 3 } : {}),
    });
    for (const c of counted) decoder.push(c);
    const blocks = decoder.end();
    if (!blocks.length) throw notCrl();
    return { kind: 'crl', der: blocks[0]!.der, bytes, pem: true };
  } finally {
    it.return?.();
  }
}

/**
 * From the first bytes of a DER file: true unless it is visibly not a CertificateList, i.e. unless its first
 * inner element is a certificate's `[0] version` or a CSR's `INTEGER 0` (RFC 5280 §5.1: a CRL's TBSCertList starts
 * with INTEGER 1 or its AlgorithmIdentifier SEQUENCE).
 */
function derLooksLikeCrl(head: Buffer): boolean {
  const skipHeader = (p: number): number => {
    if (p + 2 > head.length) return -1;
    const l = head[p + 1]!;
    if (l < 0x80) return p + 2;
    return p + 2 + (l & 0x7f);
  };
  const tbs = skipHeader(0);
  if (tbs < 0 || head[tbs] !== 0x30) return false;
  const inner = skipHeader(tbs);
  if (inner < 0 || inner + 3 > head.length) return false;
  if (head[inner] === 0x30) return true;
  return head[inner] === 0x02 && head[inner + 1] === 0x01 && head[inner + 2] === 0x01;
}

/**
 * Checks, before any work is done, that `path` can be created: its directory exists and is writable, and the file
 * does not exist unless `force`. Throws STATE_OUTPUT_EXISTS or IO_NOT_WRITABLE naming the path.
 */
export function checkOutput(path: string, flag: string, force: boolean): void {
  // "out.pem/" names a directory: it would pass every check below and fail only at the write, after the signing.
  if (/[\\/]$/.test(path)) throw new PkiError('USAGE_NOT_A_FILE', `${flag} ${path} ends with a slash: give the path of a file`, { details: { file: path, flag } });
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(path);
  } catch {
    st = undefined; // absent (a path under a regular file is refused by checkWritableDir below)
  }
  if (st) {
    if (st.isDirectory()) throw new PkiError('USAGE_NOT_A_FILE', `${flag} ${path} is a directory`, { details: { file: path, flag } });
    if (st.isSymbolicLink()) throw new PkiError('IO_SYMLINK_REFUSED', `${flag} ${path} is a symbolic link; refusing to write through it`, { details: { file: path, flag } });
    if (!st.isFile())
      throw new PkiError('IO_NOT_A_FILE', `${flag} ${path} is not a regular file (a device, FIFO or socket): pki writes its outputs as files, replaced atomically`, { details: { file: path, flag }, hint: 'give the path of a file to write' });
    if (!force) throw new PkiError('STATE_OUTPUT_EXISTS', `${flag} ${path} already exists`, { details: { file: path, flag, input: ['force', ...(flag.startsWith('input.') ? [flag.slice(6)] : [])] }, hint: 'pass input.force to overwrite it' });
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

function lstatOrUndefined(path: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(path);
  } catch {
    return undefined;
  }
}

function statOrUndefined(path: string): fs.Stats | undefined {
  try {
    return fs.statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Refuses (IO_NOT_A_FILE, exit 8) a `path` that exists, following links, and is not a regular file: a device, FIFO or
 * socket would block a read or be replaced by a write. A missing path is fine.
 */
export function assertFileOrAbsent(path: string, flag: string): void {
  const st = statOrUndefined(path);
  if (st && !st.isFile())
    throw new PkiError('IO_NOT_A_FILE', `${flag} ${path} is not a regular file (${st.isDirectory() ? 'a directory' : 'a device, FIFO or socket'})`, {
      details: { file: path, ...(flag.startsWith('input.') ? { input: [flag.slice(6)] } : {}) },
    });
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory, fsync'd, then linked into place
 * (fails if `path` appeared meanwhile, unless `force`, which renames over it). Mode defaults to 0644.
 * `durable: false` skips the fsync, for files that are copies of what the store already holds. Refuses (IO_NOT_A_FILE)
 * a device, FIFO or socket at `path`: renaming over it would replace it.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { force?: boolean; mode?: number; flag?: string; durable?: boolean } = {}): void {
  const flag = opts.flag ?? 'output';
  if (/[\\/]$/.test(path)) throw new PkiError('USAGE_NOT_A_FILE', `${flag} ${path} ends with a slash: give the path of a file`, { details: { file: path } });
  // A file is replaced by renaming a new one over it: a device, FIFO or socket in its place (/dev/null, or the link
  // /dev/stdout) would be replaced too (for root, /dev/null itself), so only a regular file (or nothing) may be there.
  const existing = lstatOrUndefined(path);
  const target = existing?.isSymbolicLink() ? statOrUndefined(path) : existing;
  if (target && !target.isFile() && !target.isDirectory())
    throw new PkiError('IO_NOT_A_FILE', `${flag} ${path} is not a regular file (a device, FIFO or socket): pki writes its outputs as files, replaced atomically`, {
      details: { file: path, ...(flag.startsWith('input.') ? { input: [flag.slice(6)] } : {}) },
      hint: 'give the path of a file to write',
    });
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
    if (code === 'EEXIST') throw new PkiError('STATE_OUTPUT_EXISTS', `${flag} ${path} already exists`, { details: { file: path, input: ['force', ...(flag.startsWith('input.') ? [flag.slice(6)] : [])] }, hint: 'pass input.force to overwrite it' });
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
      // Never a device, FIFO, socket or link: a command makes only files and directories.
      const st = lstatOrUndefined(p);
      if (st && !st.isFile() && !st.isDirectory()) continue;
      fs.rmSync(p, { force: true, recursive: true });
    } catch {
      /* nothing to do */
    }
  }
}
