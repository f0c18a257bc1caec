/**
 * `pki status` as text: a headline with the overall level, then one line per CA, per CRL, per trust anchor, per open
 * rotation and (with --check-service) per anchor checked on the service, each with its own level; the message of
 * every warning or critical check is printed under the line it concerns. --json and --format prometheus are separate.
 */
import type { HierarchyStatus, Level, StatusCheck } from '../../app/status.js';
import { shortTime } from './render.js';

const LEVEL_ORDER: Record<Level, number> = { ok: 0, warning: 1, critical: 2 };
const LEVEL_WIDTH = 'CRITICAL'.length;

/** "in 12d", "in 5h", "3d ago": how far `iso` is from `now`. */
function distance(iso: string, now: number): string {
  const s = (Date.parse(iso) - now) / 1000;
  const abs = Math.abs(s);
  const text = abs >= 2 * 86400 ? `${Math.floor(abs / 86400)}d` : abs >= 2 * 3600 ? `${Math.floor(abs / 3600)}h` : `${Math.max(0, Math.floor(abs / 60))}m`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The report. `r` is what `pki status` returns (checks possibly extended by --check-service), with inputs already
 * shown as flags.
 */
export function statusText(r: HierarchyStatus): string {
  const now = Date.parse(r.now);
  const byWhat = new Map<string, StatusCheck[]>();
  for (const c of r.checks) byWhat.set(c.what, [...(byWhat.get(c.what) ?? []), c]);
  const shown = new Set<string>();
  /** The worst level of the checks about `what` (ok when there are none). */
  const levelOf = (what: string): Level => (byWhat.get(what) ?? []).reduce<Level>((l, c) => (LEVEL_ORDER[c.level] > LEVEL_ORDER[l] ? c.level : l), 'ok');
  const section = (title: string, rows: Array<{ what: string; name: string; text: string }>): string => {
    if (!rows.length) return '';
    const width = Math.max(...rows.map((x) => x.name.length));
    const lines = rows.map((x) => {
      shown.add(x.what);
      const problems = (byWhat.get(x.what) ?? []).filter((c) => c.level !== 'ok');
      return (
        `  ${levelOf(x.what).toUpperCase().padEnd(LEVEL_WIDTH)}  ${x.name.padEnd(width)}  ${x.text}`.trimEnd() +
        '\n' +
        problems.map((c) => `  ${''.padEnd(LEVEL_WIDTH)}  ${''.padEnd(width)}  - ${c.message}\n`).join('')
      );
    });
    return `${title}\n${lines.join('')}`;
  };

  const cas = r.cas as Array<Record<string, any>>;
  const caRows = cas.map((ca) => {
    const parts = [String(ca.status)];
    if (ca.notAfter) parts.push(`expires ${shortTime(ca.notAfter)} (${distance(ca.notAfter, now)})`);
    if (ca.validCertificates !== undefined) parts.push(`${plural(ca.validCertificates, 'valid certificate')}${ca.expiringWithinWarn ? `, ${ca.expiringWithinWarn} expiring within --warn` : ''}`);
    return { what: `ca/${ca.name}`, name: String(ca.name), text: parts.join(', ') };
  });
  const crlRows = cas
    .filter((ca) => ca.crl !== undefined)
    .map((ca) => ({
      what: `crl/${ca.name}`,
      name: String(ca.name),
      text: ca.crl ? `CRL #${ca.crl.number}, next update ${shortTime(ca.crl.nextUpdate)} (${distance(ca.crl.nextUpdate, now)})` : 'no CRL yet',
    }));
  const anchorRows = r.anchors.map((a) => ({
    what: `anchor/${a.name}`,
    name: a.name,
    text: `[${a.cas.join(', ')}] ${a.arn}${a.stale.length ? '' : ', CRLs up to date'}`,
  }));
  const rotationRows = r.rotations.map((x) => ({ what: `rotation/${x.anchor}`, name: x.anchor, text: `phase ${x.phase}${x.due ? ', a step is due' : ''}${x.next ? `; next: ${x.next}` : ''}` }));
  const serviceNames = [...new Set(r.checks.filter((c) => c.what.startsWith('service/')).map((c) => c.what.slice('service/'.length)))];
  const serviceRows = serviceNames.map((n) => ({ what: `service/${n}`, name: n, text: levelOf(`service/${n}`) === 'ok' ? 'holds what it should' : 'differs from what it should hold' }));

  const body = [
    section('CAs', caRows),
    section('CRLs', crlRows),
    section('Trust anchors', anchorRows),
    section('Rotations', rotationRows),
    section('On the service (--check-service)', serviceRows),
  ].filter(Boolean);
  // Checks about something no section lists (none today): still shown.
  const other = r.checks.filter((c) => c.level !== 'ok' && !shown.has(c.what));
  if (other.length) body.push(`Other\n${other.map((c) => `  ${c.level.toUpperCase().padEnd(LEVEL_WIDTH)}  ${c.message}\n`).join('')}`);
  const counts = (['critical', 'warning'] as const).map((l) => [l, r.checks.filter((c) => c.level === l).length] as const).filter(([, n]) => n);
  const head =
    `Status: ${r.status.toUpperCase()} (exit ${r.exitCode})${counts.length ? `: ${counts.map(([l, n]) => plural(n, l)).join(', ')}` : ''} — ` +
    `${plural(r.cas.length, 'CA')}, ${plural(r.anchors.length, 'trust anchor')}${r.rotations.length ? `, ${plural(r.rotations.length, 'rotation')}` : ''}; at ${shortTime(r.now)}\n`;
  return [head, ...body].join('\n');
}
