import { anchorBundle, anchorStatus, publishCrls, pushAnchor } from '../../app/publish.js';
import { forceOption, passphraseFileOption, type CommandDef, type CommandGroup } from '../command.js';
import { shortTime, table } from '../output/render.js';

export const awsOptions = {
  region: { type: 'string', describe: 'AWS region (default: $AWS_REGION, then the SDK\'s configuration)' },
  endpoint: { type: 'string', describe: 'Roles Anywhere endpoint URL (the emulator, or a VPC endpoint)' },
  'api-rate': { type: 'number', default: 1, describe: 'calls per second per API group (Roles Anywhere\'s quota is 1; 0: no pacing)' },
} as const;

const AWS_NOTE =
  'Credentials come from the AWS SDK\'s standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance\n' +
  'roles). Throttling, 5xx and dropped connections are retried with exponential backoff and jitter (6 attempts).';

const bundle: CommandDef = {
  command: 'bundle',
  describe: 'Write the PEM bundle (1 or 2 CA certificates) that a Roles Anywhere trust anchor holds',
  examples: [
    ['pki anchor bundle --ca root --out bundle.pem', 'the root alone'],
    ['pki anchor bundle --ca root --ca root-2 --out bundle.pem', 'old and new root during a rotation'],
  ],
  builder: (y) =>
    y.options({
      ca: { type: 'string', array: true, demandOption: true, describe: 'CA to include (once or twice)' },
      out: { type: 'string', normalize: true, describe: 'file to write (default: stdout)' },
      ...forceOption,
    }),
  async run(a, { deps }) {
    const r = await anchorBundle(deps, { dir: a.dir, cas: a.ca, out: a.out, force: a.force });
    for (const w of r.warnings) deps.stderr.write(`warning: ${w}\n`);
    return { kind: 'pki.anchor.bundle.result', data: r, text: r.out ? `Wrote ${r.cas.length} certificate(s), ${r.chars} characters, to ${r.out}\n` : r.pem };
  },
};

const push: CommandDef = {
  command: 'push',
  describe: 'Create or update a Roles Anywhere trust anchor (CERTIFICATE_BUNDLE) from CAs of this PKI, and record it',
  examples: [
    ['pki anchor push --name prod --ca root --enable --region eu-west-1', 'create it (or bring it up to date) and enable it'],
    ['pki anchor push --name prod --ca root --ca root-2 --dry-run', 'show the API calls it would make'],
    ['pki anchor push --name test --ca root --endpoint http://127.0.0.1:8443 --region us-east-1', 'against the emulator'],
  ],
  notes: `Safe to repeat: an anchor already recorded, or found by name (an earlier run that died before recording it), is\nupdated, never created twice. The result is checked with GetTrustAnchor.\n${AWS_NOTE}`,
  builder: (y) =>
    y.options({
      name: { type: 'string', demandOption: true, describe: 'trust anchor name (letters, digits, space, - _)' },
      ca: { type: 'string', array: true, demandOption: true, describe: 'CA to include (once or twice)' },
      enable: { type: 'boolean', default: false, describe: 'enable the trust anchor' },
      'dry-run': { type: 'boolean', default: false, describe: 'only print the API calls that would change something' },
      ...awsOptions,
    }),
  async run(a, { deps }) {
    const r = await pushAnchor(deps, { dir: a.dir, name: a.name, cas: a.ca, enable: a.enable, dryRun: a.dryRun, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate });
    const text = r.dryRun
      ? `Dry run for trust anchor ${r.name}: ${r.calls.length ? `would call ${r.calls.join(', ')}` : 'nothing to change'}\n`
      : `Trust anchor ${r.name}: ${r.calls.length ? r.calls.join(', ') : 'already up to date'}\n  arn       ${r.arn}\n  enabled   ${r.enabled}\n`;
    return { kind: 'pki.anchor.push.result', data: r, text };
  },
};

const status: CommandDef = {
  command: 'status',
  describe: 'Compare what Roles Anywhere holds for a trust anchor (bundle, CRLs) with what this PKI pushed',
  examples: [['pki anchor status --name prod', 'exit 0 in sync, 10 drift (bundle changed, disabled, CRL expired)']],
  exitCodes: [
    { exit: 0, meaning: 'in sync' },
    { exit: 10, meaning: 'drift: bundle differs, trust anchor or a CRL disabled, or a CRL expired' },
  ],
  notes: AWS_NOTE,
  builder: (y) => y.options({ name: { type: 'string', demandOption: true, describe: 'trust anchor name' }, ...awsOptions }),
  async run(a, { deps }) {
    const r = await anchorStatus(deps, { dir: a.dir, name: a.name, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate });
    const text =
      `Trust anchor ${r.name} (${r.enabled ? 'enabled' : 'DISABLED'}) ${r.arn}\n` +
      (table(['CRL', 'ID', 'ENABLED', 'NUMBER', 'NEXT UPDATE'], r.crls.map((c) => [c.name ?? '', c.crlId ?? '', String(c.enabled), String(c.crlNumber ?? '-'), shortTime(c.nextUpdate)])) || 'no CRLs\n') +
      r.problems.map((p) => `  - ${p}\n`).join('');
    return { kind: 'pki.anchor.status.result', data: r, text, exitCode: r.exitCode };
  },
};

export const publish: CommandDef = {
  command: 'publish',
  describe: 'Publish CAs\' CRLs to a Roles Anywhere trust anchor: ImportCrl the first time, UpdateCrl ever after',
  examples: [
    ['pki crl publish --ca issuing-1 --anchor prod', 'from cron every 15 minutes: does nothing when nothing changed'],
    ['pki crl publish --ca issuing-1 --ca issuing-2 --anchor prod --renew-before 2d', 'two issuing CAs, renewed 2 days before nextUpdate'],
    ['pki crl publish --ca issuing-1 --anchor prod --anchor dr', 'the same CRL to two trust anchors'],
  ],
  notes:
    'Per CA: generates a new CRL when one is due (a revocation since the last CRL, nextUpdate within --renew-before, or\n' +
    'none yet), then ImportCrl (enabled) the first time and UpdateCrl after that: never a second import, even after a\n' +
    'crash (the CRL is found by name). A trust anchor already holding 2 other CRLs is refused (AWS_CRL_QUOTA). Every\n' +
    'upload is checked with GetCrl (same bytes, enabled). An unchanged CRL makes no API call. One CA failing does not\n' +
    `stop the others; the exit code is that of the first failure.\n${AWS_NOTE}`,
  builder: (y) =>
    y.options({
      ca: { type: 'string', array: true, demandOption: true, describe: 'CA whose CRL to publish (repeatable)' },
      anchor: { type: 'string', array: true, demandOption: true, describe: 'trust anchor (as named with pki anchor push; repeatable)' },
      'renew-before': { type: 'string', describe: 'also renew a CRL whose nextUpdate is this close (e.g. 2d)' },
      'dry-run': { type: 'boolean', default: false, describe: 'only print the API calls that would change something' },
      ...awsOptions,
      ...passphraseFileOption,
    }),
  async run(a, { deps }) {
    const r = await publishCrls(deps, { dir: a.dir, cas: a.ca, anchors: a.anchor, renewBefore: a.renewBefore, dryRun: a.dryRun, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate, passphraseFile: a.passphraseFile });
    const text = r.results
      .map((x) => (x.ok ? `${x.ca} → ${x.anchor}: ${x.action} (CRL #${x.crlNumber}${x.calls.length ? `; ${x.calls.join(', ')}` : '; no API call'})\n` : `${x.ca} → ${x.anchor}: FAILED ${x.error!.code}: ${x.error!.message}\n${x.error!.hint ? `  hint: ${x.error!.hint}\n` : ''}`))
      .join('');
    return { kind: 'pki.crl.publish.result', data: r, text, exitCode: r.exitCode };
  },
};

export const anchorGroup: CommandGroup = { command: 'anchor', describe: 'Roles Anywhere trust anchors: bundle, push, status', subcommands: [bundle, push, status] };
