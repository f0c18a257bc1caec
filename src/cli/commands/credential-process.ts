import { credentialProcess } from '../../adapters/aws/create-session.js';
import { PkiError } from '../../errors.js';
import type { CommandDef } from '../command.js';
import { stderrWithFlags } from '../output/flags.js';

/**
 * The inputs of a Roles Anywhere credential request that its warnings and logged errors may name (`input.<field>`):
 * shown on stderr as their flags.
 */
export const CREDENTIAL_INPUT_FIELDS = ['certificate', 'privateKey', 'intermediates', 'trustAnchorArn', 'profileArn', 'roleArn', 'sessionDuration', 'endpoint', 'pkcs8PasswordFile', 'timeoutSeconds', 'insecureSkipTlsVerify'] as const;

/** The options, shared by the yargs command and the fast path (src/cli/fast.ts), named as the official helper names them. */
export const CREDENTIAL_PROCESS_OPTIONS = {
  certificate: { type: 'string', demandOption: true, describe: 'the workload certificate (PEM: the first CERTIFICATE block; or DER): a path, env:NAME or fd:N' },
  'private-key': {
    type: 'string',
    demandOption: true,
    describe: "its private key: PKCS#8 (plain or encrypted), PKCS#1 RSA or SEC1 EC, PEM: a path, env:NAME or fd:N; or a key on a PKCS#11 token: 'pkcs11:token=...;object=...?pin-source=file:...'",
  },
  intermediates: { type: 'string', describe: 'PEM bundle of intermediate CA certificates, issuer first (at most 5): a path, env:NAME or fd:N' },
  'trust-anchor-arn': { type: 'string', demandOption: true, describe: 'ARN of the trust anchor' },
  'profile-arn': { type: 'string', demandOption: true, describe: 'ARN of the profile' },
  'role-arn': { type: 'string', demandOption: true, describe: 'ARN of the role to assume' },
  'session-duration': { type: 'number', default: 3600, describe: 'seconds, 900-43200 (the profile and role may cap it lower)' },
  region: { type: 'string', describe: 'region (default: the trust anchor ARN\'s)' },
  endpoint: { type: 'string', describe: 'endpoint URL (default https://rolesanywhere.REGION.amazonaws.com); plain http:// only to 127.0.0.1, localhost or [::1] (the emulator)' },
  'role-session-name': { type: 'string', describe: 'role session name (the profile must accept one; default: the hex serial)' },
  'pkcs11-lib': { type: 'string', describe: 'PKCS#11 module for a pkcs11: --private-key whose URI has no module-path (else $PKI_PKCS11_MODULE), as the official helper names it' },
  'pkcs8-password-file': { type: 'string', describe: 'file holding the password of an encrypted PKCS#8 key (else $PKI_KEY_PASSPHRASE)' },
  timeout: { type: 'number', default: 30, describe: 'seconds the whole exchange may take: connect, TLS, request, the complete answer and retries' },
  'cache-dir': { type: 'string', describe: 'reuse credentials across runs: cache them in this directory (created 0700; entries 0600)' },
  'cache-margin': { type: 'number', describe: 'with --cache-dir: seconds before expiry at which cached credentials are no longer used (default 300)' },
  'insecure-skip-tls-verify': { type: 'boolean', describe: 'do not verify the server\'s TLS certificate, for this request only (test endpoints; warns on stderr); required to run with NODE_TLS_REJECT_UNAUTHORIZED=0' },
} as const;

/** Options of the official helper that pki refuses, with the reason. */
export const REFUSED_HELPER_OPTIONS: Record<string, string> = {
  'pkcs8-password': 'a password on the command line is visible to every user of the machine: use --pkcs8-password-file FILE or $PKI_KEY_PASSPHRASE',
  'no-verify-ssl': 'trust a private CA with NODE_EXTRA_CA_CERTS=ca.pem instead; for a test endpoint only, --insecure-skip-tls-verify',
  'with-proxy': 'proxies are not supported yet',
  'cert-selector': 'certificate stores are not supported: pass --certificate and --private-key files',
  'system-store-name': 'certificate stores are not supported: pass --certificate and --private-key files',
  'use-latest-expiring-certificate': 'certificate stores are not supported: pass --certificate and --private-key files',
  'reuse-pin': 'the token PIN comes from pin-source in the --private-key URI (file:PATH or env:NAME) or $PKI_PKCS11_PIN',
  'tpm-key-password': 'TPM keys are not supported yet',
  'no-tpm-key-password': 'TPM keys are not supported yet',
};

export function refuseHelperOption(name: string): never {
  throw new PkiError('USAGE_UNSUPPORTED_OPTION', `--${name}: ${REFUSED_HELPER_OPTIONS[name]}`, { details: { option: `--${name}` } });
}

export const credentialProcessCommand: CommandDef = {
  command: 'credential-process',
  describe: 'Get temporary AWS credentials from IAM Roles Anywhere with a certificate (credential_process for ~/.aws/config)',
  examples: [
    [
      'pki credential-process --certificate leaf.pem --private-key leaf.key --intermediates chain.pem --trust-anchor-arn arn:aws:rolesanywhere:eu-west-1:111122223333:trust-anchor/TA --profile-arn arn:aws:rolesanywhere:eu-west-1:111122223333:profile/P --role-arn arn:aws:iam::111122223333:role/app',
      'prints the credential_process JSON on stdout',
    ],
    ['credential_process = pki credential-process --certificate /etc/app/leaf.pem --private-key /etc/app/leaf.key ...', 'in ~/.aws/config, under [profile app]: every AWS SDK and the AWS CLI then use it'],
    [
      "pki credential-process --certificate leaf.pem --private-key 'pkcs11:token=w;object=web-01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/app/pin' --trust-anchor-arn ... --profile-arn ... --role-arn ...",
      'the workload key stays on a PKCS#11 token; the PIN is read from a file',
    ],
  ],
  notes:
    'Drop-in for `aws_signing_helper credential-process` (same flag names). Signs CreateSession with AWS4-X509-RSA-SHA256\n' +
    'or AWS4-X509-ECDSA-SHA256 (RSA, P-256, P-384 keys), sends the certificate and the intermediates, and prints\n' +
    '{"Version":1,"AccessKeyId",...,"Expiration"} and nothing else on stdout. Errors go to stderr with the service\'s\n' +
    'message (e.g. "AccessDeniedException: Certificate revoked"), exit 9 for service errors. Refused helper options:\n' +
    '--pkcs8-password (use --pkcs8-password-file or $PKI_KEY_PASSPHRASE), --no-verify-ssl (use NODE_EXTRA_CA_CERTS),\n' +
    'certificate stores, --reuse-pin, TPM.\n' +
    'PKCS#11: --private-key pkcs11:... (RFC 7512) signs on the token (RSA, P-256, P-384, P-521; always over SHA-256). The\n' +
    'module comes from module-path in the URI, --pkcs11-lib or $PKI_PKCS11_MODULE; the PIN from pin-source (file:PATH or\n' +
    'env:NAME), $PKI_PKCS11_PIN or a prompt, never pin-value. A token key that is not the certificate\'s is\n' +
    'CRYPTO_KEY_MISMATCH; token failures are CRYPTO_TOKEN_* (exit 7) naming the CKR_ code.\n' +
    'Network: HTTPS only, except http:// to 127.0.0.1, localhost or [::1] (USAGE_INSECURE_ENDPOINT, exit 2, nothing\n' +
    'sent). The server certificate is always verified: with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment the\n' +
    'command refuses to run (USAGE_TLS_VERIFY_DISABLED) unless --insecure-skip-tls-verify is given, which turns\n' +
    'verification off for this request only and warns on stderr. --timeout bounds the whole exchange (AWS_TimeoutError);\n' +
    'an answer over 1 MiB is refused (AWS_BadResponse). ThrottlingException, HTTP 429 and 5xx are retried with\n' +
    'jittered exponential backoff, at most 3 attempts within --timeout; other errors are not retried.\n' +
    'Inputs without files: --certificate, --private-key and --intermediates take env:NAME (an environment variable\n' +
    'holding the PEM; "\\n" escapes are accepted) or fd:N (an inherited file descriptor, N >= 3), for CI runners whose\n' +
    'secrets are not files; ./env:x names a file called env:x.\n' +
    'Cache (opt-in): with --cache-dir DIR the credentials are kept in DIR (created 0700; it must belong to you and be\n' +
    'writable by nobody else, IO_INSECURE_CACHE_DIR otherwise) in one 0600 file per certificate fingerprint + ARNs +\n' +
    'region + endpoint + duration + session name, and reused until --cache-margin seconds (default 300) before they\n' +
    'expire: parallel SDK clients then share one CreateSession (a lock per entry) instead of exceeding its rate.\n' +
    'Expired entries are removed. A renewed certificate has another fingerprint, so it gets new credentials at once.',
  builder: (y) => {
    let out = y.options(CREDENTIAL_PROCESS_OPTIONS);
    // yargs reads --no-X as "X is false": register the positive names of the helper's --no-* flags.
    for (const name of Object.keys(REFUSED_HELPER_OPTIONS))
      out = name.startsWith('no-') ? out.option(name.slice(3), { hidden: true, type: 'boolean' }) : out.option(name, { hidden: true, type: 'string' });
    return out;
  },
  async run(args, { deps }) {
    for (const name of Object.keys(REFUSED_HELPER_OPTIONS)) {
      const given = name.startsWith('no-') ? args[name.slice(3)] === false : args[name] !== undefined && args[name] !== true;
      if (given) refuseHelperOption(name);
    }
    // A flag given twice: the last one counts (as in the official helper and the fast path).
    const a = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, Array.isArray(v) ? v[v.length - 1] : v]));
    const input = {
      certificate: a.certificate,
      privateKey: a.privateKey,
      intermediates: a.intermediates,
      trustAnchorArn: a.trustAnchorArn,
      profileArn: a.profileArn,
      roleArn: a.roleArn,
      sessionDuration: a.sessionDuration,
      region: a.region,
      endpoint: a.endpoint,
      roleSessionName: a.roleSessionName,
      pkcs8PasswordFile: a.pkcs8PasswordFile,
      pkcs11Lib: a.pkcs11Lib,
      timeoutSeconds: a.timeout,
      insecureSkipTlsVerify: a.insecureSkipTlsVerify === true,
    };
    // The cache module is loaded only when asked for: the fast path stays light.
    const shown = stderrWithFlags(deps, CREDENTIAL_INPUT_FIELDS);
    const creds = a.cacheDir ? await (await import('../../adapters/aws/cache.js')).cachedCredentialProcess(shown, input, a.cacheDir, a.cacheMargin) : await credentialProcess(shown, input);
    return { kind: 'pki.credential-process.result', data: creds, text: JSON.stringify(creds) };
  },
};
