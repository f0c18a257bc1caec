/** `pki credential serve | update`: the long-running workload modes of AWS's helper (`serve`, `update`). */
import type { Argv } from 'yargs';
import { PkiError } from '../../errors.js';
import type { CredentialProcessInput } from '../../adapters/aws/create-session.js';
import { DEFAULT_SERVE_PORT, startCredentialServer } from '../../app/credential-serve.js';
import { credentialUpdate } from '../../app/credential-update.js';
import type { CommandDef, CommandGroup } from '../command.js';
import { jsonSuccess } from '../output/render.js';
import { CREDENTIAL_INPUT_FIELDS, CREDENTIAL_PROCESS_OPTIONS, REFUSED_HELPER_OPTIONS, refuseHelperOption } from './credential-process.js';
import { stderrWithFlags, withFlags } from '../output/flags.js';

const SOURCE_NOTE =
  'Certificate, key and intermediates: a file path, env:NAME (an environment variable holding the PEM; "\\n" escapes\n' +
  'are accepted) or fd:N (an inherited file descriptor, read once). Files are re-read when they change.';

const REFRESH_OPTION = {
  'refresh-before': { type: 'number', default: 300, describe: 'seconds before expiry at which credentials are renewed (0-3600)' },
} as const;

/** The credential-process options, the refused helper options (hidden), and `extra`. */
function workloadOptions(y: Argv, extra: Record<string, object>): Argv {
  // The cache is credential-process's: serve and update hold their credentials themselves.
  const { 'cache-dir': _dir, 'cache-margin': _margin, ...shared } = CREDENTIAL_PROCESS_OPTIONS;
  let out: Argv = y.options({ ...shared, ...REFRESH_OPTION, ...extra } as unknown as Record<string, never>) as unknown as Argv;
  for (const name of Object.keys(REFUSED_HELPER_OPTIONS))
    out = name.startsWith('no-') ? out.option(name.slice(3), { hidden: true, type: 'boolean' }) : out.option(name, { hidden: true, type: 'string' });
  return out;
}

/** The CreateSession input from parsed arguments (a flag given twice: the last counts); refused helper options stop here. */
export function workloadInput(args: Record<string, any>): CredentialProcessInput & { refreshBeforeSeconds: number } {
  for (const name of Object.keys(REFUSED_HELPER_OPTIONS)) {
    const given = name.startsWith('no-') ? args[name.slice(3)] === false : args[name] !== undefined && args[name] !== true;
    if (given) refuseHelperOption(name);
  }
  const a = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, Array.isArray(v) ? v[v.length - 1] : v]));
  const input: CredentialProcessInput & { refreshBeforeSeconds: number } = {
    certificate: a.certificate,
    privateKey: a.privateKey,
    trustAnchorArn: a.trustAnchorArn,
    profileArn: a.profileArn,
    roleArn: a.roleArn,
    sessionDuration: a.sessionDuration,
    timeoutSeconds: a.timeout,
    insecureSkipTlsVerify: a.insecureSkipTlsVerify === true,
    refreshBeforeSeconds: a.refreshBefore,
  };
  for (const [key, flag] of [['intermediates', 'intermediates'], ['region', 'region'], ['endpoint', 'endpoint'], ['roleSessionName', 'roleSessionName'], ['pkcs8PasswordFile', 'pkcs8PasswordFile'], ['pkcs11Lib', 'pkcs11Lib']] as const)
    if (a[flag] !== undefined) (input as unknown as Record<string, unknown>)[key] = a[flag];
  return input;
}

const ARN_EXAMPLE = '--trust-anchor-arn arn:aws:rolesanywhere:eu-west-1:111122223333:trust-anchor/TA --profile-arn arn:aws:rolesanywhere:eu-west-1:111122223333:profile/P --role-arn arn:aws:iam::111122223333:role/app';

const serve: CommandDef = {
  command: 'serve',
  describe: 'Serve Roles Anywhere credentials as the EC2 instance metadata service (IMDSv2) on 127.0.0.1, for SDKs and tools that read instance metadata',
  examples: [
    [`pki credential serve --certificate /etc/app/leaf.pem --private-key /etc/app/leaf.key ${ARN_EXAMPLE}`, 'listens on http://127.0.0.1:9911 until SIGTERM or Ctrl-C'],
    ['AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9911 aws s3 ls', 'any AWS SDK or the AWS CLI then finds the credentials as on an EC2 instance (no trailing slash)'],
  ],
  notes:
    'Same flags and defaults as `aws_signing_helper serve` where they overlap (--port 9911, --hop-limit 64, the\n' +
    'credential-process flags). IMDSv2 only: PUT /latest/api/token with x-aws-ec2-metadata-token-ttl-seconds (1-21600)\n' +
    'returns a token (at most 256 are held, the oldest goes first); every GET needs it in x-aws-ec2-metadata-token\n' +
    '(401 otherwise). GET /latest/meta-data/iam/security-credentials/ returns the role name (the last segment of\n' +
    '--role-arn), and .../ROLE-NAME the JSON {Code, LastUpdated, Type, AccessKeyId, SecretAccessKey, Token,\n' +
    'Expiration}. Requests with X-Forwarded-For are refused (403).\n' +
    'Credentials are renewed --refresh-before seconds before they expire (default 300, as the helper) and served from\n' +
    'memory meanwhile; when the certificate, key or intermediates files change (pki renew), the next request gets\n' +
    'credentials from the new certificate. A failed renewal is logged once per distinct error (and not retried for 5 s\n' +
    'unless the files change); the current credentials are served until they expire, then the error is (HTTP 502 for\n' +
    'a service error, 500 otherwise): never expired credentials. Binds 127.0.0.1; another --host needs\n' +
    '--allow-non-loopback and is warned about. --hop-limit: Node.js cannot set the IP TTL of TCP answers, so only 64\n' +
    'is accepted (keep the server on loopback). SIGTERM or SIGINT stops it cleanly (exit 0). The certificate, key and\n' +
    'ARNs are checked at start (exit 2/5/7); a service error at start is logged and the server starts anyway.\n' +
    SOURCE_NOTE,
  builder: (y) =>
    workloadOptions(y, {
      port: { type: 'number', default: DEFAULT_SERVE_PORT, describe: 'port (0: any free port)' },
      host: { type: 'string', default: '127.0.0.1', describe: 'address to listen on (loopback unless --allow-non-loopback)' },
      'allow-non-loopback': { type: 'boolean', default: false, describe: 'allow listening on a non-loopback address (warned about)' },
      'hop-limit': { type: 'number', default: 64, describe: 'IP hop limit of answers, as the helper\'s flag; only 64 is supported' },
    }),
  async run(a, { deps, json }) {
    if (!deps.waitForShutdown) throw new PkiError('INTERNAL', 'no shutdown signal available for a long-running command');
    const input = workloadInput(a);
    const server = await startCredentialServer(stderrWithFlags(deps, CREDENTIAL_INPUT_FIELDS), { ...input, port: a.port, host: a.host, allowNonLoopback: a.allowNonLoopback, hopLimit: a.hopLimit }, { showError: withFlags });
    const data = { url: server.url, port: server.port, roleName: server.roleName };
    deps.stdout.write(json ? jsonSuccess('pki.credential.serve.result', data) : `${server.url}\n`);
    deps.stderr.write(`${deps.now().toISOString()} serving credentials for role ${server.roleName} on ${server.url} (AWS_EC2_METADATA_SERVICE_ENDPOINT=${server.url}); SIGTERM or Ctrl-C stops it\n`);
    await deps.waitForShutdown();
    await server.close();
    deps.stderr.write(`${deps.now().toISOString()} stopped\n`);
    return { kind: 'pki.credential.serve.result', data, text: '', printed: true };
  },
};

const update: CommandDef = {
  command: 'update',
  describe: 'Write Roles Anywhere credentials into a profile of the AWS shared credentials file and keep them fresh (or once, for cron)',
  examples: [
    [`pki credential update --certificate /etc/app/leaf.pem --private-key /etc/app/leaf.key ${ARN_EXAMPLE} --profile app`, 'writes [app] in ~/.aws/credentials and renews it before expiry until SIGTERM'],
    [`*/20 * * * * pki credential update --once --certificate /etc/app/leaf.pem --private-key /etc/app/leaf.key ${ARN_EXAMPLE}`, 'from cron: write [default] once and exit'],
  ],
  notes:
    'Same flags and defaults as `aws_signing_helper update` where they overlap (--profile default, --once, the\n' +
    'credential-process flags). The file is $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials (--credentials-file\n' +
    'overrides both); ~/.aws is created 0700 when missing, and a symbolic link is followed. Each write takes the lock\n' +
    'FILE.lock (a lock left by a process that no longer exists is removed; a live one is waited for up to\n' +
    '--lock-timeout seconds, then STATE_LOCKED, exit 6), re-reads the file, sets aws_access_key_id,\n' +
    'aws_secret_access_key and aws_session_token in the profile (in place; missing ones after its last key; a missing\n' +
    'profile is appended) and keeps every other profile, key, comment and line ending, then replaces the file\n' +
    'atomically (temporary file, mode 0600, rename): readers never see half a file, and several updaters (one per\n' +
    'profile) can share one file.\n' +
    'Without --once it runs until SIGTERM or Ctrl-C (exit 0): credentials are renewed --refresh-before seconds before\n' +
    'they expire (default 300, as the helper), and at once when the certificate or key files change (checked every\n' +
    'minute). A failed renewal is logged once per distinct error and retried every 30 s; the credentials already\n' +
    'written stay until they expire. With --once any failure exits non-zero (9 for the service) and the file is not\n' +
    'touched. Secrets are never printed.\n' +
    SOURCE_NOTE,
  builder: (y) =>
    workloadOptions(y, {
      profile: { type: 'string', default: 'default', describe: 'profile (section) of the credentials file to write' },
      once: { type: 'boolean', default: false, describe: 'write once and exit (for cron)' },
      'credentials-file': { type: 'string', describe: 'the credentials file (default $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)' },
      'lock-timeout': { type: 'number', default: 10, describe: 'seconds to wait for another writer\'s lock' },
    }),
  async run(a, { deps }) {
    const input = workloadInput(a);
    const r = await credentialUpdate(stderrWithFlags(deps, CREDENTIAL_INPUT_FIELDS), { ...input, profile: a.profile, once: a.once, lockTimeoutSeconds: a.lockTimeout, ...(a.credentialsFile ? { credentialsFile: a.credentialsFile } : {}) });
    const text = a.once ? `Wrote profile [${r.profile}] of ${r.file}; the credentials expire at ${r.expiration}\n` : `Stopped after ${r.writes} writes of profile [${r.profile}] of ${r.file}\n`;
    return { kind: 'pki.credential.update.result', data: r, text };
  },
};

export const credentialGroup: CommandGroup = {
  command: 'credential',
  describe: 'Long-running workload credentials from IAM Roles Anywhere: serve (IMDSv2 endpoint), update (shared credentials file)',
  subcommands: [serve, update],
};
