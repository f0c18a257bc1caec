/**
 * The opt-in credential cache of `pki credential-process --cache-dir DIR`: parallel SDK clients and AWS CLI calls
 * otherwise each run CreateSession and can exceed its rate (reference §8, helper issue #31). One file per
 * certificate (SHA-256 fingerprint) + trust anchor + profile + role + region + endpoint + duration + session name,
 * mode 0600 in a directory of mode 0700 owned by the user, reused until `marginSeconds` before the credentials
 * expire. A lock per entry makes concurrent misses wait for one CreateSession instead of each making one.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { PkiError } from '../../errors.js';
import { writeFileAtomic } from '../../fs/files.js';
import type { Deps } from '../../ports.js';
import { withFileLock } from '../../fs/lock.js';
import { credentialProcess, isTokenKeySource, readKey, readWorkloadCertificates, tokenRequestSigner, type CredentialProcessInput, type ProcessCredentials } from './create-session.js';
import { readOnceSources } from './inputs.js';

export const DEFAULT_CACHE_MARGIN_SECONDS = 300;

function uid(): number | undefined {
  try {
    return userInfo().uid;
  } catch {
    return undefined;
  }
}

/** Creates the directory (0700) or checks it: a directory, not a link, owned by this user, writable by nobody else. */
function checkCacheDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new PkiError('IO_NOT_WRITABLE', `input.cacheDir ${dir}: cannot create it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { details: { dir, flag: 'input.cacheDir' }, cause: e });
  }
  const st = fs.lstatSync(dir);
  const me = uid();
  const problem = !st.isDirectory()
    ? 'is not a directory'
    : me !== undefined && me >= 0 && st.uid !== me
      ? `belongs to user ${st.uid}, not to the user running pki (${me})`
      : (st.mode & 0o077) !== 0
        ? `has mode ${(st.mode & 0o777).toString(8)}: other users could read or plant credentials there (it must be 0700)`
        : undefined;
  if (problem)
    throw new PkiError('IO_INSECURE_CACHE_DIR', `input.cacheDir ${dir} ${problem}`, { details: { dir, flag: 'input.cacheDir' }, hint: `use a directory of your own with mode 0700 (chmod 700 ${dir}), or a new path: pki creates it` });
}

function readEntry(path: string, now: Date, marginSeconds: number): ProcessCredentials | undefined {
  try {
    const st = fs.lstatSync(path);
    const me = uid();
    if (!st.isFile() || (st.mode & 0o077) !== 0 || (me !== undefined && me >= 0 && st.uid !== me)) return undefined;
    const c = JSON.parse(fs.readFileSync(path, 'utf8')) as ProcessCredentials;
    if (c.Version !== 1 || typeof c.AccessKeyId !== 'string' || typeof c.SecretAccessKey !== 'string' || typeof c.SessionToken !== 'string' || typeof c.Expiration !== 'string') return undefined;
    const expires = Date.parse(c.Expiration);
    return Number.isFinite(expires) && now.getTime() < expires - marginSeconds * 1000 ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Removes entries whose credentials have expired (they can never be used again). */
function prune(dir: string, now: Date): void {
  for (const name of fs.readdirSync(dir)) {
    if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
    try {
      const c = JSON.parse(fs.readFileSync(join(dir, name), 'utf8')) as { Expiration?: string };
      if (!(Date.parse(c.Expiration ?? '') > now.getTime())) fs.rmSync(join(dir, name), { force: true });
    } catch {
      /* unreadable or removed meanwhile: left alone */
    }
  }
}

/** credentialProcess with the cache (see the module comment). */
export async function cachedCredentialProcess(deps: Deps, raw: CredentialProcessInput, cacheDir: string, marginSeconds = DEFAULT_CACHE_MARGIN_SECONDS): Promise<ProcessCredentials> {
  if (!Number.isFinite(marginSeconds) || marginSeconds < 0 || marginSeconds > 3600)
    throw new PkiError('USAGE_BAD_DURATION', `input.cacheMargin ${marginSeconds}: give seconds, 0 to 3600`, { details: { flag: 'input.cacheMargin' } });
  // Environment variables and descriptors are read once, for the fingerprint and the request alike.
  const input: CredentialProcessInput = readOnceSources(raw, deps.env, deps.cwd);
  const { leaf } = readWorkloadCertificates(input, deps);
  const dir = resolve(deps.cwd, cacheDir);
  checkCacheDir(dir);
  const key = createHash('sha256')
    .update(JSON.stringify([createHash('sha256').update(leaf.der).digest('hex'), input.trustAnchorArn, input.profileArn, input.roleArn, input.region ?? null, input.endpoint ?? null, input.sessionDuration ?? 3600, input.roleSessionName ?? null]))
    .digest('hex');
  const path = join(dir, `${key}.json`);
  // A cached answer is for the certificate; the key given must still be its key, as without the cache.
  if (isTokenKeySource(input.privateKey)) await tokenRequestSigner(input, deps, leaf);
  else readKey(input, deps, leaf);
  const hit = readEntry(path, deps.now(), marginSeconds);
  if (hit) return hit;
  return withFileLock(path, ((input.timeoutSeconds ?? 30) + 5) * 1000, async () => {
    // Another process may have filled it while this one waited for the lock.
    const again = readEntry(path, deps.now(), marginSeconds);
    if (again) return again;
    const creds = await credentialProcess(deps, input);
    writeFileAtomic(path, JSON.stringify(creds), { force: true, mode: 0o600, flag: 'input.cacheDir' });
    prune(dir, deps.now());
    return creds;
  });
}
