/**
 * Where a workload's certificate, key and intermediates come from: a file (the default), an environment variable
 * (`env:NAME`, for CI runners whose secrets are variables, not files), an inherited file descriptor (`fd:N`), or,
 * for the library, the bytes themselves. Every error names the flag and the source, never the content.
 */
import { PkiError } from '../errors.js';
import { INPUT_LIMITS, readInput } from '../fs/files.js';
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
    return readInput(`/dev/fd/${Number(fd[1])}`, flag);
  }
  return readInput(resolve(cwd, source), flag);
}
