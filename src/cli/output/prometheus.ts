/** `pki status --format prometheus`: the text exposition format, for a node-exporter textfile collector. */
import type { HierarchyStatus } from '../../app/status.js';

/** The Prometheus text format, for a node-exporter textfile collector. */
export function prometheus(r: HierarchyStatus): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, samples: Array<[Record<string, string>, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of samples) lines.push(`${name}${Object.keys(labels).length ? `{${Object.entries(labels).map(([k, x]) => `${k}="${x.replace(/["\\\n]/g, '_')}"`).join(',')}}` : ''} ${v}`);
  };
  metric('pki_status', 'Overall status: 0 ok, 1 warning, 2 critical.', [[{}, { ok: 0, warning: 1, critical: 2 }[r.status]]]);
  const cas = r.cas.filter((c) => c.secondsToExpiry !== undefined);
  metric('pki_ca_seconds_to_expiry', 'Seconds until the CA certificate expires.', cas.map((c) => [{ ca: String(c.name) }, Number(c.secondsToExpiry)]));
  metric('pki_ca_days_to_expiry', 'Days until the CA certificate expires (Roles Anywhere DaysToExpiry).', cas.map((c) => [{ ca: String(c.name) }, Math.floor(Number(c.secondsToExpiry) / 86400)]));
  metric('pki_certificates_valid', 'Unexpired, unrevoked end-entity certificates per issuing CA.', cas.map((c) => [{ ca: String(c.name) }, Number(c.validCertificates)]));
  metric('pki_certificates_expiring', 'Valid end-entity certificates expiring within --warn.', cas.map((c) => [{ ca: String(c.name) }, Number(c.expiringWithinWarn)]));
  const crls = cas.filter((c) => c.crl);
  metric('pki_crl_next_update_timestamp_seconds', 'nextUpdate of the CA\'s latest CRL (Unix time).', crls.map((c) => [{ ca: String(c.name) }, Math.floor(Date.parse((c.crl as { nextUpdate: string }).nextUpdate) / 1000)]));
  metric('pki_crl_number', 'CRL Number of the CA\'s latest CRL.', crls.map((c) => [{ ca: String(c.name) }, (c.crl as { number: number }).number]));
  metric('pki_rotation_step_due', '1 when a rotation step is due on the trust anchor.', r.rotations.map((x) => [{ anchor: x.anchor, phase: x.phase }, x.due ? 1 : 0]));
  return lines.join('\n') + '\n';
}
