import { startEmulator } from '../../emulator/server.js';
import { PkiError } from '../../errors.js';
import type { CommandDef, CommandGroup } from '../command.js';
import { jsonSuccess } from '../output/render.js';
import { BUNDLE_MAX_CHARS, BUNDLE_MAX_CHARS_OLD_MODEL } from '../../domain/roles-anywhere.js';

const serve: CommandDef = {
  command: 'serve',
  describe: 'Run an offline IAM Roles Anywhere emulator (trust anchors, CRLs, profiles, CreateSession) that the AWS SDKs and CLI can talk to',
  examples: [
    ['pki emulator serve --state /tmp/ra.json', 'prints its endpoint URL and runs until Ctrl-C; state survives restarts'],
    ['aws rolesanywhere list-trust-anchors --endpoint-url http://127.0.0.1:PORT --region us-east-1', 'any SDK or the AWS CLI, with an endpoint override and any credentials'],
  ],
  notes:
    'Implements Create/Get/Update/List/Delete/Enable/Disable for trust anchors and profiles, and Import/Get/Update/List/\n' +
    'Delete/Enable/DisableCrl, with\n' +
    "the service's checks: at most 2 CA certificates per bundle (\"Incorrect basic constraints for CA certificate\" for a\n" +
    'non-CA), x509CertificateData length, PEM CRLs of at most 300,000 bytes signed by a CA of the anchor, at most 2 CRLs per\n' +
    'anchor, ImportCrl disabled by default, 1 request/s per API group (ThrottlingException). Where the real behaviour is\n' +
    'UNCONFIRMED it is a flag: --default-enabled (trust anchors created without "enabled"; default false), --accept-der-crl,\n' +
    `--default-profile-enabled, --any-crl-signer, --max-certificate-chars ${BUNDLE_MAX_CHARS_OLD_MODEL}|${BUNDLE_MAX_CHARS}. Profiles: role ARN pattern, at most\n` +
    '250 roles, durationSeconds 900-43200 (default 3600), at most 50 managed policies, Put/DeleteAttributeMapping. SigV4:\n' +
    'the header and its scope (region, service) are checked; the signature is not recomputed.\n' +
    'CreateSession (POST /sessions): the AWS4-X509 signature (RSA, ECDSA, or ML-DSA-44/65/87 as AWS4-X509-MLDSA) is\n' +
    'recomputed and verified by the emulator\'s own code (independent of pki\'s signer), X-Amz-Date within --clock-skew,\n' +
    'leaf rules (v3, not a CA, digitalSignature, SHA-256+, a subject), a chain of at most 5 to an enabled trust anchor,\n' +
    'not revoked by an enabled CRL of that anchor, an enabled profile listing the role, durationSeconds 900-43200,\n' +
    'roleSessionName only when the profile accepts it. Credentials are well-formed fakes; each session\'s role session\n' +
    'name, SourceIdentity and principal tags (after the attribute mappings) are listed at GET /_emulator/sessions.\n' +
    'ML-DSA certificates (an ML-DSA trust-anchor CA; a certificate or CRL signed with ML-DSA) are UNCONFIRMED: refused\n' +
    'unless --mldsa-certificates accept (an ML-DSA workload key under an RSA or ECDSA CA is documented and always accepted).\n' +
    'Fails closed: an enabled CRL it cannot decode refuses every CreateSession on its trust anchor ("Revocation status\n' +
    'unknown"), as does a CRL covering the request whose signature cannot be verified. An unexpected error is HTTP 500\n' +
    'InternalServerException with the request id (x-amzn-RequestId header and body), logged to stderr.',
  builder: (y) =>
    y.options({
      port: { type: 'number', default: 0, describe: 'port (0: any free port)' },
      host: { type: 'string', default: '127.0.0.1', describe: 'address to listen on (loopback unless --allow-non-loopback)' },
      'allow-non-loopback': { type: 'boolean', default: false, describe: 'allow listening on a non-loopback address' },
      state: { type: 'string', normalize: true, describe: 'JSON file that keeps the state across restarts' },
      account: { type: 'string', default: '123456789012', describe: 'account id in ARNs' },
      region: { type: 'string', default: 'us-east-1', describe: 'region in ARNs and in the expected SigV4 scope' },
      'rate-per-second': { type: 'number', default: 1, describe: 'requests per second per API group before ThrottlingException (0: off)' },
      'default-enabled': { type: 'boolean', default: false, describe: 'trust anchors created without "enabled" are enabled (UNCONFIRMED in the real service)' },
      'default-profile-enabled': { type: 'boolean', default: false, describe: 'profiles created without "enabled" are enabled (UNCONFIRMED in the real service)' },
      'accept-der-crl': { type: 'boolean', default: false, describe: 'accept DER crlData (UNCONFIRMED; the service documents PEM)' },
      'any-crl-signer': { type: 'boolean', default: false, describe: 'do not require the CRL to be signed by a CA of the anchor (UNCONFIRMED)' },
      'max-certificate-chars': { type: 'number', default: BUNDLE_MAX_CHARS, describe: `x509CertificateData limit (${BUNDLE_MAX_CHARS} current model, ${BUNDLE_MAX_CHARS_OLD_MODEL} older)` },
      'expired-crl': { type: 'string', choices: ['reject', 'ignore'], default: 'reject', describe: 'CreateSession with a CRL past its nextUpdate: refuse its certificates, or ignore the CRL (UNCONFIRMED in the real service)' },
      'mldsa-certificates': {
        type: 'string',
        choices: ['reject', 'accept'],
        default: 'reject',
        describe:
          'ML-DSA trust anchors and certificates or CRLs signed with ML-DSA (UNCONFIRMED in the real service, which documents only ML-DSA workload keys and AWS4-X509-MLDSA request signatures): reject (default, the strict reading) or accept',
      },
      'clock-skew': { type: 'number', default: 300, describe: 'CreateSession: seconds X-Amz-Date may differ from the clock (the service\'s window is UNCONFIRMED)' },
    }),
  async run(a, { deps, json }) {
    if (!deps.waitForShutdown) throw new PkiError('INTERNAL', 'no shutdown signal available for a long-running command');
    const emu = await startEmulator({
      host: a.host,
      allowNonLoopback: a.allowNonLoopback,
      port: a.port,
      stateFile: a.state,
      account: a.account,
      region: a.region,
      ratePerSecond: a.ratePerSecond,
      defaultTrustAnchorEnabled: a.defaultEnabled,
      defaultProfileEnabled: a.defaultProfileEnabled,
      crl: { requirePem: !a.acceptDerCrl, requireSignedByAnchor: !a.anyCrlSigner },
      maxCertificateDataChars: a.maxCertificateChars,
      clockSkewSeconds: a.clockSkew,
      expiredCrl: a.expiredCrl,
      mlDsaCertificates: a.mldsaCertificates,
      log: (line) => deps.stderr.write(line),
    });
    const data = { url: emu.url, port: emu.port, account: a.account, region: a.region, state: a.state ?? null };
    deps.stdout.write(json ? jsonSuccess('pki.emulator.serve.result', data) : `${emu.url}\n`);
    deps.stderr.write(`Roles Anywhere emulator on ${emu.url} (account ${a.account}, region ${a.region}${a.state ? `, state ${a.state}` : ''}); Ctrl-C stops it\n`);
    await deps.waitForShutdown();
    await emu.close();
    return { kind: 'pki.emulator.serve.result', data, text: '', printed: true };
  },
};

export const emulatorGroup: CommandGroup = { command: 'emulator', describe: 'Offline IAM Roles Anywhere emulator: serve', subcommands: [serve] };
