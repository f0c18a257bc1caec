/**
 * `pki credential update`: keeps a profile of the AWS shared credentials file fresh with Roles Anywhere credentials,
 * like `aws_signing_helper update` (reference §9), but safe to run beside other writers: every write takes a lock
 * file, re-reads the file, changes only the profile's three keys (every other profile, key and comment is kept
 * byte for byte), and replaces the file atomically (temporary file in the same directory, mode 0600, rename).
 */
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PkiError } from '../errors.js';
import { assertFileOrAbsent, writeFileAtomic } from '../fs/files.js';
import { withFileLock } from '../fs/lock.js';
import type { Deps } from '../ports.js';
import type { CredentialProcessInput, ProcessCredentials } from '../adapters/aws/create-session.js';
import { readWorkloadCertificates } from '../adapters/aws/create-session.js';
import { readOnceSources } from '../adapters/aws/inputs.js';
import { CredentialRefresher } from '../adapters/aws/provider.js';

export interface UpdateInput extends CredentialProcessInput {
  /** The profile (section) to write (default "default"). */
  profile?: string;
  /** Write once and exit (for cron). */
  once?: boolean;
  /** Default $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials. */
  credentialsFile?: string;
  refreshBeforeSeconds?: number;
  /** Seconds to wait for another writer's lock (default 10). */
  lockTimeoutSeconds?: number;
}

export interface UpdateHooks {
  /** Waits `ms` milliseconds; resolves false when the process is asked to stop. Default: a timer and deps.onSignal. */
  sleep?: (ms: number) => Promise<boolean>;
}

const KEYS = ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token'] as const;
/** How often the files are checked for a renewed certificate between refreshes. */
const POLL_MS = 60_000;
/** Wait after a failed refresh before the next attempt. */
const RETRY_MS = 30_000;

/** The shared credentials file: $AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials. */
export function credentialsFilePath(deps: Pick<Deps, 'env' | 'cwd'>, explicit?: string): string {
  if (explicit) return resolve(deps.cwd, explicit);
  if (deps.env.AWS_SHARED_CREDENTIALS_FILE) return resolve(deps.cwd, deps.env.AWS_SHARED_CREDENTIALS_FILE);
  const home = deps.env.HOME ?? deps.env.USERPROFILE;
  if (!home) throw new PkiError('USAGE_NO_CREDENTIALS_FILE', 'no credentials file: HOME is not set', { details: { input: 'credentialsFile' }, hint: 'set AWS_SHARED_CREDENTIALS_FILE or pass input.credentialsFile' });
  return join(home, '.aws', 'credentials');
}

const SECTION = /^\s*\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$/;
// An option line as configparser (botocore) reads it: `key = value` or `key: value`; indented lines continue it.
const KEY = /^\s*([^=:\s#;[]+)\s*[=:]/;
const CONTINUATION = /^[ \t]+\S/;

/**
 * `text` with the profile's credentials set: the three keys are replaced where they are (duplicates removed), added
 * after the section's last key when missing, and a missing section is appended. Nothing else changes.
 */
export function upsertProfile(text: string, profile: string, values: Record<(typeof KEYS)[number], string>): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text === '' ? [] : text.split(/\r?\n/);
  const trailing = lines.length > 0 && lines[lines.length - 1] === '';
  if (trailing) lines.pop();
  const start = lines.findIndex((l) => SECTION.exec(l)?.[1] === profile);
  if (start < 0) {
    const block = [`[${profile}]`, ...KEYS.map((k) => `${k} = ${values[k]}`)];
    const out = lines.length ? [...lines, ...(lines[lines.length - 1]!.trim() === '' ? [] : ['']), ...block] : block;
    return out.join(eol) + eol;
  }
  let end = lines.findIndex((l, i) => i > start && SECTION.test(l));
  if (end < 0) end = lines.length;
  const seen = new Set<string>();
  let lastKey = start;
  const section: string[] = [];
  let replacing = false; // inside a replaced key's continuation lines
  let inKey = false;
  for (let i = start + 1; i < end; i++) {
    const line = lines[i]!;
    if (replacing && CONTINUATION.test(line)) continue;
    replacing = false;
    const key = CONTINUATION.test(line) ? undefined : KEY.exec(line)?.[1]?.toLowerCase();
    if (key && (KEYS as readonly string[]).includes(key)) {
      replacing = true;
      if (seen.has(key)) continue;
      seen.add(key);
      section.push(`${key} = ${values[key as (typeof KEYS)[number]]}`);
    } else section.push(line);
    // Missing keys go after the last key and its continuation lines.
    if (key) inKey = true;
    else if (!(inKey && CONTINUATION.test(line))) inKey = false;
    if (inKey) lastKey = start + section.length;
  }
  const missing = KEYS.filter((k) => !seen.has(k)).map((k) => `${k} = ${values[k]}`);
  const at = lastKey - start;
  section.splice(at, 0, ...missing);
  return [...lines.slice(0, start + 1), ...section, ...lines.slice(end)].join(eol) + eol;
}

export { breakStaleLock, withFileLock } from '../fs/lock.js';

/** Writes the credentials into `profile` of `file` under the lock, atomically, mode 0600 (see the module comment). */
export async function writeCredentialsProfile(file: string, profile: string, creds: ProcessCredentials, lockTimeoutMs = 10_000): Promise<void> {
  const dir = dirname(file);
  if (!fs.existsSync(dir)) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new PkiError('IO_NOT_WRITABLE', `cannot create ${dir} (${(e as Error).message})`, { details: { dir }, cause: e });
    }
  }
  // A symbolic link (dotfiles managers) is followed: the file it points to is replaced, the link stays.
  let target = file;
  try {
    target = fs.realpathSync(file);
  } catch {
    /* does not exist yet */
  }
  assertFileOrAbsent(target, 'credentials file');
  await withFileLock(target, lockTimeoutMs, () => {
    let text = '';
    try {
      text = fs.readFileSync(target, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new PkiError('IO_READ_FAILED', `${target}: cannot read (${(e as Error).message})`, { details: { file: target }, cause: e });
    }
    const next = upsertProfile(text, profile, { aws_access_key_id: creds.AccessKeyId, aws_secret_access_key: creds.SecretAccessKey, aws_session_token: creds.SessionToken });
    writeFileAtomic(target, next, { force: true, mode: 0o600, flag: 'credentials file' });
  });
}

export interface UpdateResult {
  file: string;
  profile: string;
  /** How many times the profile was written. */
  writes: number;
  expiration: string | null;
}

/**
 * Writes the profile, then (unless `once`) keeps it fresh: wakes at least every minute, renews the credentials a
 * margin before they expire or when the certificate or key files changed, and rewrites the profile when they did.
 * A failed refresh is logged once per distinct error and retried every 30 s. Stops when `sleep` says so (SIGTERM).
 */
export async function credentialUpdate(deps: Deps, raw: UpdateInput, hooks: UpdateHooks = {}): Promise<UpdateResult> {
  const profile = raw.profile ?? 'default';
  if (!/^[^\]\r\n]+$/.test(profile) || profile.trim() !== profile)
    throw new PkiError('USAGE_BAD_PROFILE_NAME', `input.profile "${profile}" cannot be a section name of the credentials file`, { details: { flag: 'input.profile' } });
  const file = credentialsFilePath(deps, raw.credentialsFile);
  // Checked before any CreateSession: a FIFO there would block the read under the lock.
  assertFileOrAbsent(file, 'input.credentialsFile');
  const input: CredentialProcessInput = readOnceSources(raw, deps.env, deps.cwd);
  readWorkloadCertificates(input, deps);
  const log = (line: string) => deps.stderr.write(`${deps.now().toISOString()} ${line}\n`);
  const refresher = new CredentialRefresher(deps, input, {
    ...(raw.refreshBeforeSeconds === undefined ? {} : { refreshBeforeSeconds: raw.refreshBeforeSeconds }),
    onError: (err, cached) => {
      if (!raw.once) log(`error: ${err.code}: ${err.message}${cached ? ' (the credentials written are valid until they expire)' : ''}`);
    },
  });
  const lockTimeout = (raw.lockTimeoutSeconds ?? 10) * 1000;
  const sleep =
    hooks.sleep ??
    ((ms: number) =>
      new Promise<boolean>((resolveP) => {
        const off = deps.onSignal?.(() => {
          clearTimeout(timer);
          off?.();
          resolveP(false);
        });
        const timer = setTimeout(() => {
          off?.();
          resolveP(true);
        }, ms);
      }));
  let written: string | undefined;
  let expiration: string | null = null;
  let writes = 0;
  for (;;) {
    let creds: ProcessCredentials | undefined;
    try {
      creds = await refresher.get();
    } catch (e) {
      // --once, and local problems before the first write, stop here; later failures are retried (logged once).
      if (raw.once || (writes === 0 && !(e instanceof PkiError && e.code.startsWith('AWS_')))) throw e;
    }
    if (creds && creds.AccessKeyId !== written) {
      await writeCredentialsProfile(file, profile, creds, lockTimeout);
      written = creds.AccessKeyId;
      expiration = creds.Expiration;
      writes++;
      if (!raw.once) log(`wrote profile [${profile}] of ${file}; the credentials expire at ${creds.Expiration}`);
    }
    if (raw.once) return { file, profile, writes, expiration };
    const wait = creds ? Math.max(1000, Math.min(POLL_MS, Date.parse(creds.Expiration) - refresher.margin * 1000 - deps.now().getTime())) : RETRY_MS;
    if (!(await sleep(wait))) return { file, profile, writes, expiration };
  }
}
