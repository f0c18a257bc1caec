/**
 * A minimal POSIX ustar (POSIX.1-1988) writer and reader for `pki backup` / `pki restore`: regular files and
 * directories only, names of at most 255 bytes (prefix + name), sizes below 8 GiB. Archives are readable with any
 * tar (`tar -tvf`). The reader is strict: bad checksums, other entry types, absolute names, `..` and truncated data
 * are refused.
 */
import { PkiError } from '../errors.js';

export interface TarEntry {
  /** Relative path with `/` separators; directories without a trailing slash. */
  path: string;
  type: 'file' | 'dir';
  mode: number;
  /** File content (empty for directories). */
  data: Buffer;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new PkiError('USAGE_PATH_TOO_LONG', `${path}: too long for a tar archive (255 bytes at most)`, { details: { file: path } });
}

function header(e: TarEntry, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { name, prefix } = splitName(e.type === 'dir' ? `${e.path}/` : e.path);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(e.type === 'dir' ? 0 : e.data.length, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(e.type === 'dir' ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** The archive of `entries` in order, as one buffer; `mtime` in Unix seconds. */
export function writeTar(entries: readonly TarEntry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e, mtime));
    if (e.type === 'file' && e.data.length) {
      parts.push(e.data);
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function parseOctal(h: Buffer, start: number, length: number, what: string, source: string): number {
  const text = field(h, start, length).trim();
  if (!/^[0-7]+$/.test(text)) throw bad(source, `the ${what} field is not an octal number`);
  return parseInt(text, 8);
}

const bad = (source: string, why: string) => new PkiError('STATE_BACKUP_INVALID', `${source} is not a valid pki backup: ${why}`, { details: { file: source } });

/** Safe relative path: no absolute name, no `.`/`..` segments, no backslash or NUL. */
export function safeRelativePath(path: string): boolean {
  if (!path || path.startsWith('/') || /[\\\0]/.test(path)) return false;
  return path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** Parses an archive written by `writeTar` (or any plain ustar of files and directories). */
export function readTar(buf: Buffer, source: string): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + BLOCK > buf.length) throw bad(source, 'it ends before its end-of-archive marker (truncated?)');
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (parseOctal(h, 148, 8, 'checksum', source) !== sum) throw bad(source, `the header at byte ${off} has a wrong checksum`);
    if (field(h, 257, 6) !== 'ustar') throw bad(source, `the header at byte ${off} is not a ustar header`);
    const typeflag = String.fromCharCode(h[156]!);
    const prefix = field(h, 345, 155);
    let path = (prefix ? `${prefix}/` : '') + field(h, 0, 100);
    const type = typeflag === '5' ? 'dir' : typeflag === '0' || typeflag === '\0' ? 'file' : undefined;
    if (!type) throw bad(source, `${path} is neither a file nor a directory (type "${typeflag}")`);
    if (type === 'dir') path = path.replace(/\/$/, '');
    if (!safeRelativePath(path)) throw bad(source, `the entry name "${path}" is absolute or leaves the directory`);
    const size = parseOctal(h, 124, 12, 'size', source);
    const mode = parseOctal(h, 100, 8, 'mode', source);
    off += BLOCK;
    if (type === 'file' && off + size > buf.length) throw bad(source, `${path} is cut short (truncated?)`);
    out.push({ path, type, mode, data: type === 'file' ? Buffer.from(buf.subarray(off, off + size)) : Buffer.alloc(0) });
    off += type === 'file' ? Math.ceil(size / BLOCK) * BLOCK : 0;
  }
  return out;
}
