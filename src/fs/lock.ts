/**
 * A lock file beside a file that several processes write (the AWS credentials file of `pki credential update`, the
 * credential-process cache): `<file>.lock`, created O_EXCL with the owner's pid; a stale one is broken safely.
 */
import * as fs from 'node:fs';
import { PkiError } from '../errors.js';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockAgeMs(lock: string): number {
  try {
    return Date.now() - fs.statSync(lock).mtimeMs;
  } catch {
    return 0;
  }
}

/** Removes `lock` if it still holds `owner` (NaN: no pid), holding `<lock>.break` meanwhile; false when another process is breaking it. */
export function breakStaleLock(lock: string, owner: number): boolean {
  const breaker = `${lock}.break`;
  let fd: number;
  try {
    fd = fs.openSync(breaker, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // A breaker left by a process that died while breaking (it holds it for microseconds).
    if (lockAgeMs(breaker) > 5_000) fs.rmSync(breaker, { force: true });
    return false;
  }
  try {
    let now = NaN;
    try {
      now = Number.parseInt(fs.readFileSync(lock, 'utf8'), 10);
    } catch {
      return true; // already gone
    }
    if (now === owner || (Number.isNaN(now) && Number.isNaN(owner))) fs.rmSync(lock, { force: true });
    return true;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(breaker, { force: true });
  }
}

/**
 * Runs `fn` holding `<file>.lock` (created O_EXCL, holding the owner's pid). A lock whose process is gone (or an
 * empty one older than 5 s) is removed; a live one is waited for up to `timeoutMs` (STATE_LOCKED, exit 6, after that).
 */
export async function withFileLock<T>(file: string, timeoutMs: number, fn: () => T | Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const started = performance.now();
  for (;;) {
    try {
      const fd = fs.openSync(lock, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
      try {
        fs.writeSync(fd, `${process.pid}\n`);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new PkiError('IO_WRITE_FAILED', `cannot create the lock file ${lock} (${(e as Error).message})`, { details: { file: lock }, cause: e });
      let owner = NaN;
      try {
        owner = Number.parseInt(fs.readFileSync(lock, 'utf8'), 10);
      } catch {
        /* removed meanwhile, or being written: try again */
      }
      // A lock whose process is gone, or with no pid a while after it was made (its writer died between creating and
      // writing it), is broken — under a second lock, after reading it again, so that two writers breaking the same
      // stale lock cannot remove the fresh lock one of them has just taken.
      const stale = Number.isInteger(owner) && owner > 0 ? !pidAlive(owner) : lockAgeMs(lock) > 5_000;
      if (stale && breakStaleLock(lock, owner)) continue;
      if (performance.now() - started > timeoutMs)
        throw new PkiError('STATE_LOCKED', `${file} is locked by another writer (${lock}${Number.isInteger(owner) ? `, process ${owner}` : ''})`, {
          details: { file, lock },
          hint: 'wait for the other pki credential update to finish; remove the lock file if no such process exists',
        });
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
