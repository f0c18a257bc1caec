import { anchorBundle, anchorStatus, anchorStatusByTarget, publishCrls, pushAnchor, pushAnchorToTargets } from '../../app/publish.js';
import { errorsWithFlags, flagsIn } from '../output/flags.js';
import { withWorkspace } from '../../app/workspace.js';
import { targetOf } from '../../app/targets.js';
import type { Deps } from '../../ports.js';
import { PkiError } from '../../errors.js';
import { forceOption, passphraseFileOption, type CommandDef, type CommandGroup } from '../command.js';
import { JSON_VERSION, shortTime, table } from '../output/render.js';
import { DEFAULT_LEASE_WAIT_SECONDS, LEASE_SECONDS } from '../../app/lease.js';

export const awsOptions = {
  region: { type: 'string', describe: 'AWS region (default: $AWS_REGION, then the SDK\'s configuration)' },
  endpoint: { type: 'string', describe: 'Roles Anywhere endpoint URL (a VPC endpoint, the emulator): https://; plain http:// only to 127.0.0.1, localhost or [::1]' },
  'api-rate': { type: 'number', default: 1, describe: 'calls per second per API group (Roles Anywhere\'s quota is 1; 0: no pacing)' },
} as const;

export const leaseOptions = {
  'lease-wait': { type: 'number', default: DEFAULT_LEASE_WAIT_SECONDS, describe: 'seconds to wait while another pki run changes the same trust anchor (then STATE_ANCHOR_BUSY, exit 6)' },
} as const;

const LEASE_NOTE =
  `One writer per trust anchor: the run holds a lease on the anchor in the store (it expires ${LEASE_SECONDS} s after the\n` +
  'last sign of life, so a killed run blocks others only that long). An overlapping run waits --lease-wait seconds, then\n' +
  'exits 6 with STATE_ANCHOR_BUSY.';

/** The JSON envelope with ok: false when the command's outcome is a failure (exit code other than 0 and 10). */
export function failedEnvelope(kind: string, data: unknown, error: { code: string; message: string; exit?: number }): string {
  return JSON.stringify({ ok: false, kind, version: JSON_VERSION, data, error }, null, 2) + '\n';
}

export const targetOption = {
  target: { type: 'string', array: true, describe: 'publishing target (pki target add; repeatable; "all": every target)' },
} as const;

const TARGETS_NOTE =
  'With --target (repeatable, or --target all) the command runs on every named target concurrently, each with its\n' +
  'own credentials, endpoint, pacing (the quota is per account and region) and lease; one target failing does not\n' +
  'stop the others. Every target is in the result (--json: one object per target); the exit code is that of the\n' +
  'first failed target.';

/** --target with --region / --endpoint: the target says where it is; refused rather than silently ignored. */
export function checkTargetFlags(a: Record<string, any>): void {
  if (a.target?.length && (a.region !== undefined || a.endpoint !== undefined))
    throw new PkiError('USAGE_CONFLICT', '--region and --endpoint apply to the implicit target only: with --target, each target\'s own region and endpoint are used', {
      hint: 'pki target list shows them; drop --region/--endpoint',
    });
}

/** Whether trust anchor `name` is recorded on a named target (then status reports per target). */
async function onNamedTargets(deps: Deps, dir: string | undefined, name: string): Promise<boolean> {
  return withWorkspace(dir, deps, async (ws) => (await ws.store.listAnchors()).some((a) => (a.anchorName ?? a.name) === name && targetOf(a) !== ''));
}

const AWS_NOTE =
  'Credentials come from the AWS SDK\'s standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance\n' +
  'roles). Throttling, 5xx and dropped connections are retried with exponential backoff and jitter (6 attempts).\n' +
  'Endpoints (--endpoint, a target\'s, PKI_STS_ENDPOINT) are https://, or plain http:// only to 127.0.0.1, localhost or\n' +
  '[::1]: any other is USAGE_INSECURE_ENDPOINT (exit 2), refused before anything is written or sent.';

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
    ['pki anchor push --name prod --ca issuing-1 --enable --target prod-eu --target prod-us', 'the same anchor in two accounts/regions'],
    ['pki anchor push --name prod --ca issuing-1 --enable --target all', 'every target'],
  ],
  notes:
    'Safe to repeat: an anchor already recorded, or found by name (an earlier run that died before recording it), is\n' +
    'updated, never created twice. The result is checked with GetTrustAnchor. While a rotation is open on the anchor\n' +
    '(pki rotate), the rotation owns its bundle: another bundle is refused with STATE_ROTATION_OPEN (exit 6) unless\n' +
    `--force is given (pki anchor status then reports the anchor as not holding the rotation's bundle).\n${TARGETS_NOTE}\n${LEASE_NOTE}\n${AWS_NOTE}`,
  builder: (y) =>
    y.options({
      name: { type: 'string', demandOption: true, describe: 'trust anchor name (letters, digits, space, - _)' },
      ca: { type: 'string', array: true, demandOption: true, describe: 'CA to include (once or twice)' },
      enable: { type: 'boolean', default: false, describe: 'enable the trust anchor' },
      'dry-run': { type: 'boolean', default: false, describe: 'only print the API calls that would change something' },
      force: { type: 'boolean', default: false, describe: 'push even while a rotation owns the trust anchor\'s bundle' },
      ...targetOption,
      ...awsOptions,
      ...leaseOptions,
    }),
  async run(a, { deps, json }) {
    checkTargetFlags(a);
    if (a.target?.length) {
      const m = errorsWithFlags(await pushAnchorToTargets(deps, { dir: a.dir, name: a.name, cas: a.ca, enable: a.enable, dryRun: a.dryRun, force: a.force, ratePerSecond: a.apiRate, leaseWait: a.leaseWait, targets: a.target }));
      const text = m.results
        .map((x) =>
          !x.ok
            ? `${x.target}: FAILED ${x.error!.code}: ${x.error!.message}\n${x.error!.hint ? `  hint: ${x.error!.hint}\n` : ''}`
            : x.dryRun
              ? `${x.target}: ${x.calls.length ? `would call ${x.calls.join(', ')}` : 'nothing to change'}\n`
              : `${x.target}: ${x.calls.length ? x.calls.join(', ') : 'already up to date'} ${x.arn}${x.enabled ? '' : ' (disabled)'}\n`,
        )
        .join('');
      if (json && !m.ok) {
        const first = m.results.find((x) => !x.ok)!.error!;
        deps.stdout.write(failedEnvelope('pki.anchor.push.result', m, { code: first.code, message: `${m.results.filter((x) => !x.ok).length} of ${m.results.length} targets failed; first: ${first.message}` }));
        return { kind: 'pki.anchor.push.result', data: m, text, exitCode: m.exitCode, printed: true };
      }
      return { kind: 'pki.anchor.push.result', data: m, text: `Trust anchor ${m.name}:\n${text}`, exitCode: m.exitCode };
    }
    const r = await pushAnchor(deps, { dir: a.dir, name: a.name, cas: a.ca, enable: a.enable, dryRun: a.dryRun, force: a.force, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate, leaseWait: a.leaseWait });
    const text = r.dryRun
      ? `Dry run for trust anchor ${r.name}: ${r.calls.length ? `would call ${r.calls.join(', ')}` : 'nothing to change'}\n`
      : `Trust anchor ${r.name}: ${r.calls.length ? r.calls.join(', ') : 'already up to date'}\n  arn       ${r.arn}\n  enabled   ${r.enabled}\n`;
    return { kind: 'pki.anchor.push.result', data: r, text };
  },
};

const status: CommandDef = {
  command: 'status',
  describe: 'Compare what Roles Anywhere holds for a trust anchor (bundle, CRLs) with what it should hold',
  examples: [
    ['pki anchor status --name prod', 'exit 0 in sync, 10 warning, 11 the service refuses valid or accepts revoked certificates'],
    ['pki anchor status --name prod --json | jq .ok', 'false when critical (exit 11)'],
    ['pki anchor status --anchor prod', 'on every target holding it: one line per target'],
  ],
  exitCodes: [
    { exit: 0, meaning: 'the service holds what it should' },
    { exit: 10, meaning: 'warning: a CRL expires within --warn, a CRL not from this PKI, two CRLs of one CA' },
    {
      exit: 11,
      meaning: 'critical: the trust anchor is missing or disabled, its bundle is not the recorded one (or the open rotation\'s), or a CRL this PKI publishes there is missing, disabled, expired or older than the store\'s latest',
    },
  ],
  notes:
    'Reads GetTrustAnchor and ListCrls and compares them with the store: the bundle with the last push, or while a\n' +
    'rotation is open with the rotation\'s bundle; each CRL by its issuer, enabled flag, CRL Number and nextUpdate.\n' +    'A CRL past its nextUpdate is critical: the service then either refuses its CA\'s certificates or ignores the CRL\n' +
    '(which one is UNCONFIRMED), and either is wrong.\n' +
    'An anchor pushed to named targets (pki anchor push --target) is checked on every target holding it (or the\n' +
    '--target ones), concurrently: one line per target, --json data.targets one object per target (target, region,\n' +
    'account, arn, crls, findings, exitCode); a target that cannot be read is critical. The exit code is the worst.\n' +
    `Changes nothing. With --json, "ok" is false when the result is critical.\n${AWS_NOTE}`,
  builder: (y) =>
    y.options({
      name: { type: 'string', alias: 'anchor', demandOption: true, describe: 'trust anchor name (--anchor is the same)' },
      warn: { type: 'string', default: '48h', describe: 'warn when a CRL on the anchor expires within this' },
      ...targetOption,
      ...awsOptions,
    }),
  async run(a, { deps, json }) {
    checkTargetFlags(a);
    if (a.target?.length || (await onNamedTargets(deps, a.dir, a.name))) {
      const m = flagsIn(await anchorStatusByTarget(deps, { dir: a.dir, name: a.name, warn: a.warn, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate, ...(a.target?.length ? { targets: a.target } : {}) }), ['warn', 'region']);
      const text = m.targets
        .map((t) => {
          const crls = t.crls.map((c) => `${c.ca ?? c.name}#${c.crlNumber ?? '-'}${c.enabled ? '' : '(disabled)'}`).join(' ') || 'no CRLs';
          const state = t.exitCode === 11 ? 'CRITICAL' : t.exitCode === 10 ? 'warning' : 'in sync';
          return `${t.target} ${t.region ?? '-'} ${t.account ?? '-'}: ${state}; ${t.arn ?? '-'}; ${crls}\n` + t.findings.map((f) => `  ${f.level === 'critical' ? 'CRITICAL' : 'warning'}: ${f.message}\n`).join('');
        })
        .join('');
      if (json && m.exitCode === 11) {
        deps.stdout.write(failedEnvelope('pki.anchor.status.result', m, { code: 'CRITICAL', exit: 11, message: m.targets.filter((t) => t.exitCode === 11).map((t) => `${t.target}: ${t.problems.join('; ')}`).join('; ') }));
        return { kind: 'pki.anchor.status.result', data: m, text, exitCode: 11, printed: true };
      }
      return { kind: 'pki.anchor.status.result', data: m, text: `Trust anchor ${m.name}:\n${text}`, exitCode: m.exitCode };
    }
    const r = flagsIn(await anchorStatus(deps, { dir: a.dir, name: a.name, warn: a.warn, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate }), ['warn', 'region']);
    const text =
      `Trust anchor ${r.name} (${r.enabled ? 'enabled' : 'DISABLED'}) ${r.arn}\n` +
      (r.rotation ? `  rotation  ${r.rotation.old} → ${r.rotation.new} (${r.rotation.phase}); expected bundle [${r.expected[0]!.join(', ')}]\n` : '') +
      (table(['CRL', 'CA', 'ID', 'ENABLED', 'NUMBER', 'NEXT UPDATE'], r.crls.map((c) => [c.name ?? '', c.ca ?? '-', c.crlId ?? '', String(c.enabled), String(c.crlNumber ?? '-'), shortTime(c.nextUpdate)])) || 'no CRLs\n') +
      r.findings.map((f) => `  ${f.level === 'critical' ? 'CRITICAL' : 'warning'}: ${f.message}\n`).join('');
    if (json && r.exitCode === 11) {
      deps.stdout.write(failedEnvelope('pki.anchor.status.result', r, { code: 'CRITICAL', exit: 11, message: r.findings.filter((f) => f.level === 'critical').map((f) => f.message).join('; ') }));
      return { kind: 'pki.anchor.status.result', data: r, text, exitCode: r.exitCode, printed: true };
    }
    return { kind: 'pki.anchor.status.result', data: r, text, exitCode: r.exitCode };
  },
};

export const publish: CommandDef = {
  command: 'publish',
  describe: 'Publish CAs\' CRLs to a Roles Anywhere trust anchor: ImportCrl the first time, UpdateCrl ever after',
  examples: [
    ['pki crl publish --ca issuing-1 --anchor prod', 'from cron every 15 minutes: one read when nothing changed, repairs what changed out of band'],
    ['pki crl publish --ca issuing-1 --ca issuing-2 --anchor prod --renew-before 2d', 'two issuing CAs, renewed 2 days before nextUpdate'],
    ['pki crl publish --ca issuing-1 --anchor prod --anchor dr', 'the same CRL to two trust anchors'],
    ['pki crl publish --ca issuing-1 --anchor prod --json', 'every target holding anchor prod (pki anchor push --target), concurrently: one object per target'],
  ],
  notes:
    'Per CA: generates a new CRL when one is due (a revocation since the last CRL, nextUpdate within --renew-before, or\n' +
    'none yet). Then reads what the service holds on the anchor (one ListCrls per anchor: each CRL\'s id, enabled flag\n' +
    'and bytes, hence issuer and CRL Number) and acts on the difference from the store: ImportCrl (enabled) when the\n' +
    'CA has no CRL there (the first time, or deleted out of band), EnableCrl when it was disabled, UpdateCrl when it is\n' +
    'older than the store\'s latest or not this CA\'s; a second CRL of the same CA is deleted. It never uploads\n' +
    'anything but the store\'s latest CRL, and refuses to replace a newer CRL of the CA (STATE_CRL_SERVICE_NEWER). Never\n' +
    'a second import, even after a crash (the CRL is found by name or issuer). A trust anchor already holding 2 other\n' +
    'CRLs is refused (AWS_CRL_QUOTA). Every write is read back with GetCrl (same bytes, enabled) and recorded. When the\n' +
    'service already holds the latest CRL, enabled, it says "unchanged (checked)". One CA failing does not stop the\n' +
    `others; the exit code is that of the first failure, and --json then says "ok": false.\n` +
    'An anchor pushed to named targets is published to every target holding it (or only the --target ones),\n' +
    'concurrently, each with its own credentials, pacing and lease; a target that is down fails alone (the others are\n' +
    'published and the exit code is non-zero), and the next run brings it up to date. Each result names its target\n' +
    `and the anchor's ARN there.\n${LEASE_NOTE}\n${AWS_NOTE}`,
  builder: (y) =>
    y.options({
      ca: { type: 'string', array: true, demandOption: true, describe: 'CA whose CRL to publish (repeatable)' },
      anchor: { type: 'string', array: true, demandOption: true, describe: 'trust anchor (as named with pki anchor push; repeatable)' },
      'renew-before': { type: 'string', describe: 'also renew a CRL whose nextUpdate is this close (e.g. 2d)' },
      'dry-run': { type: 'boolean', default: false, describe: 'read the service and print the API calls that would change something' },
      ...targetOption,
      ...awsOptions,
      ...leaseOptions,
      ...passphraseFileOption,
    }),
  async run(a, { deps, json }) {
    checkTargetFlags(a);
    const r = errorsWithFlags(await publishCrls(deps, { dir: a.dir, cas: a.ca, anchors: a.anchor, renewBefore: a.renewBefore, dryRun: a.dryRun, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate, passphraseFile: a.passphraseFile, leaseWait: a.leaseWait, ...(a.target?.length ? { targets: a.target } : {}) }));
    const where = (x: (typeof r.results)[number]) => (x.target && x.target !== '(default)' ? `${x.anchor}@${x.target}` : x.anchor);
    const line = (x: (typeof r.results)[number]) => {
      if (!x.ok) return `${x.ca} → ${where(x)}: FAILED ${x.error!.code}: ${x.error!.message}\n${x.error!.hint ? `  hint: ${x.error!.hint}\n` : ''}`;
      const what = x.action === 'unchanged' ? 'unchanged (checked)' : x.action;
      const found = (x.found ?? []).map((f) => `  found: ${f}\n`).join('');
      return `${x.ca} → ${where(x)}: ${what} (CRL #${x.crlNumber ?? '-'}${x.calls.length ? `; ${x.calls.join(', ')}` : ''})\n${found}`;
    };
    const text = r.results.map(line).join('');
    if (json && !r.ok) {
      const first = r.results.find((x) => !x.ok)!.error!;
      deps.stdout.write(failedEnvelope('pki.crl.publish.result', r, { code: first.code, message: `${r.results.filter((x) => !x.ok).length} of ${r.results.length} failed; first: ${first.message}` }));
      return { kind: 'pki.crl.publish.result', data: r, text, exitCode: r.exitCode, printed: true };
    }
    return { kind: 'pki.crl.publish.result', data: r, text, exitCode: r.exitCode };
  },
};

export const anchorGroup: CommandGroup = { command: 'anchor', describe: 'Roles Anywhere trust anchors: bundle, push, status', subcommands: [bundle, push, status] };
