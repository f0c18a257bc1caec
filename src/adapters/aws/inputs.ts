/**
 * Where a workload's certificate, key and intermediates come from: a file (the default), an environment variable
 * (`env:NAME`, for CI runners whose secrets are variables, not files), an inherited file descriptor (`fd:N`), or,
 * for the library, the bytes themselves. Every error names the flag and the source, never the content.
 */
import { PkiError } from '../../errors.js';
import { INPUT_LIMITS, readInput } from '../../fs/files.js';
import * as fs from 'node:fs';
import { resolve } from 'node:path';

/** A path, `env:NAME`, `fd:N`, or the content itself (library callers). */
export type Source = string | Buffer;

/** How a source is named in messages: the path or `env:NAME` / `fd:N`, or "(in memory)". */
export function sourceLabel(source: Source): string {
  return Buffer.isBuffer(source) ? '(in memory)' : source;
}

/** True for sources that can change while a long-running command runs (files): they are re-read when they do. */
export function isFileSource(source: Source): source is string {
  return typeof source === 'string' && !/^(env|fd):/.test(source);
}

/**
 * Reads a source. `env:NAME` reads the variable NAME (PEM text; `\n` escapes are accepted for variables that cannot
 * hold newlines); `fd:N` reads the inherited descriptor N to its end (Linux: through /dev/fd, so a regular file is
 * read from its start); anything else is a path relative to `cwd`. At most 1 MiB, as for files.
 */
export function readSource(source: Source, flag: string, env: Readonly<Record<string, string | undefined>>, cwd: string): Buffer {
  if (Buffer.isBuffer(source)) return source;
  const env_ = /^env:(.*)$/s.exec(source);
  if (env_) {
    const name = env_[1]!;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new PkiError('USAGE_BAD_SOURCE', `${flag} ${source}: "${name}" is not an environment variable name`, { details: { flag } });
    const value = env[name];
    if (value === undefined || value === '')
      throw new PkiError('NOT_FOUND_ENV', `${flag} ${source}: the environment variable ${name} is not set or empty`, { details: { flag, variable: name } });
    if (value.length > INPUT_LIMITS.default)
      throw new PkiError('POLICY_INPUT_TOO_LARGE', `${flag} ${source} is larger than 1 MiB, the most pki reads for ${flag}`, { details: { flag, variable: name } });
    // A variable set from a one-line secret store may carry the PEM line breaks as the two characters "\n".
    return Buffer.from(value.includes('-----BEGIN') && !value.includes('\n') ? value.replace(/\\n/g, '\n') : value, 'latin1');
  }
  const fd = /^fd:(.*)$/s.exec(source);
  if (fd) {
    if (!/^\d{1,9}$/.test(fd[1]!) || Number(fd[1]) < 3)
      throw new PkiError('USAGE_BAD_SOURCE', `${flag} ${source}: give an inherited file descriptor number, 3 or more (0-2 are stdin, stdout and stderr)`, { details: { flag } });
    const n = Number(fd[1]);
    try {
      return readInput(`/dev/fd/${n}`, flag);
    } catch (e) {
      // A socket (what Node.js's spawn gives for 'pipe') cannot be opened through /dev/fd: read the descriptor itself.
      if (!(e instanceof PkiError) || (e.cause as NodeJS.ErrnoException | undefined)?.code !== 'ENXIO') throw e;
      return readDescriptor(n, flag, source);
    }
  }
  return readInput(resolve(cwd, source), flag);
}

/** Reads descriptor `fd` to its end (at most 1 MiB), waiting while a non-blocking one has nothing yet (10 s at most). */
function readDescriptor(fd: number, flag: string, source: string): Buffer {
  const max = INPUT_LIMITS.default;
  const chunks: Buffer[] = [];
  let total = 0;
  const wait = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + 10_000;
  for (;;) {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && performance.now() < deadline) {
        Atomics.wait(wait, 0, 0, 5);
        continue;
      }
      throw new PkiError('IO_READ_FAILED', `${flag} ${source}: cannot read (${code ?? (e as Error).message})`, { details: { flag }, cause: e });
    }
    if (n === 0) break;
    total += n;
    if (total > max) throw new PkiError('POLICY_INPUT_TOO_LARGE', `${flag} ${source} is larger than 1 MiB, the most pki reads for ${flag}`, { details: { flag } });
    chunks.push(buf.subarray(0, n));
  }
  return Buffer.concat(chunks, total);
}

/**
 * The workload inputs with every `env:` and `fd:` source read once (a descriptor cannot be read twice; a variable is
 * read when the command starts); file paths stay paths, so long-running modes re-read them when they change.
 */
export function readOnceSources<T extends { certificate?: Source | undefined; privateKey?: Source | undefined; intermediates?: Source | undefined }>(raw: T, env: Readonly<Record<string, string | undefined>>, cwd: string): T {
  const input: T = { ...raw };
  for (const k of ['certificate', 'privateKey', 'intermediates'] as const) {
    const s = input[k];
    if (s !== undefined && !isFileSource(s)) input[k] = readSource(s, `input.${k}`, env, cwd) as T[typeof k];
  }
  return input;
}
