import { hierarchyStatus, serviceChecks, withChecks } from '../../app/status.js';
import { flagsIn } from '../output/flags.js';
import { prometheus } from '../output/prometheus.js';
import { statusText } from '../output/status-text.js';
import { awsOptions } from './anchor.js';
import type { CommandDef } from '../command.js';

export const statusCommand: CommandDef = {
  command: 'status',
  describe: 'Health of the whole hierarchy for monitoring: CA and CRL expiry, unpublished revocations, trust anchors, due rotation steps',
  examples: [
    ['pki status', 'a summary; exit 0 ok, 10 warning, 11 critical'],
    ['pki status --warn 60d --crit 14d --json', 'CA certificates within 60 days are a warning, within 14 days critical'],
    ['pki status --format prometheus > /var/lib/node_exporter/textfile/pki.prom', 'for a node-exporter textfile collector (cron)'],
    ['pki status --check-service --region eu-west-1', 'also compare every trust anchor with what Roles Anywhere holds (as pki anchor status)'],
  ],
  exitCodes: [
    { exit: 0, meaning: 'ok' },
    { exit: 10, meaning: 'warning: a CA within --warn, a CRL within --crl-warn, revocations not yet in a CRL, an anchor with an older CRL, a rotation step due' },
    { exit: 11, meaning: 'critical: a CA expired or within --crit, a CRL past its nextUpdate, revocations but no CRL yet, a revoked CA not yet retired, a trust anchor holding a revoked CA; with --check-service, a trust anchor that pki anchor status finds critical or that cannot be checked' },
  ],
  notes:
    'Reads the store only, unless --check-service is given: then every trust anchor is also compared with the service as\n' +
    'pki anchor status does (GetTrustAnchor, ListCrls), and its findings count here. Workload certificates expiring are\n' +
    'counted (pki_certificates_expiring) but do not change the exit code: short-lived certificates always expire soon.\n' +
    'Retired CAs (pki ca retire, pki rotate finish) are listed but raise no alarm; a revoked CA is critical until retired.',
  builder: (y) =>
    y.options({
      warn: { type: 'string', default: '30d', describe: 'a CA certificate expiring within this is a warning' },
      crit: { type: 'string', default: '7d', describe: 'a CA certificate expiring within this is critical' },
      'crl-warn': { type: 'string', default: '48h', describe: 'a CRL whose nextUpdate is within this is a warning' },
      format: { type: 'string', choices: ['text', 'prometheus'], default: 'text', describe: 'prometheus: the text exposition format' },
      'check-service': { type: 'boolean', default: false, describe: 'also check every trust anchor against Roles Anywhere (as pki anchor status)' },
      ...awsOptions,
    }),
  async run(a, { deps, json }) {
    const local = await hierarchyStatus(deps, { dir: a.dir, warn: a.warn, crit: a.crit, crlWarn: a.crlWarn });
    // The messages name the thresholds as inputs (input.warn ...): shown as the flags that set them.
    const r = flagsIn(a.checkService ? withChecks(local, await serviceChecks(deps, { dir: a.dir, crlWarn: a.crlWarn, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate })) : local, ['warn', 'crit', 'crlWarn', 'region']);
    // With --check-service, one more gauge per trust anchor: the worst level of its service checks.
    const serviceMetric = () => {
      const anchors = [...new Set(r.checks.filter((c) => c.what.startsWith('service/')).map((c) => c.what.slice('service/'.length)))];
      const level = (n: string) => Math.max(...r.checks.filter((c) => c.what === `service/${n}`).map((c) => ({ ok: 0, warning: 1, critical: 2 })[c.level]));
      return [
        '# HELP pki_anchor_service_status What Roles Anywhere holds for the trust anchor: 0 as it should, 1 warning, 2 critical (pki anchor status).',
        '# TYPE pki_anchor_service_status gauge',
        ...anchors.map((n) => `pki_anchor_service_status{anchor="${n.replace(/["\\\n]/g, '_')}"} ${level(n)}`),
      ].join('\n') + '\n';
    };
    const text =
      a.format === 'prometheus' && !json
        ? prometheus(r) + (a.checkService ? serviceMetric() : '')
        : statusText(r);
    return { kind: 'pki.status.result', data: r, text, exitCode: r.exitCode };
  },
};
