/**
 * `pki status`: the whole hierarchy from the store, for monitoring: CA certificates, workload certificates expiring,
 * CRLs' nextUpdate and unpublished revocations, trust anchors' published CRLs, and rotation steps that are due. No AWS
 * call (`pki anchor status` compares with the service). Exit 0 ok, 10 warning, 11 critical.
 */
import { parseDuration } from '../domain/duration.js';
import type { Deps } from '../ports.js';
import { rotationStatus } from './rotation/index.js';
import { caStates, describeState, revokedInBundle } from './ca-state.js';
import { withWorkspace } from './workspace.js';
import { PkiError } from '../errors.js';
import type { GatewayOptions } from '../adapters/aws/gateway.js';
import { checkGatewayEndpoints } from '../adapters/aws/endpoint.js';
import { anchorStatus } from './publish.js';

export type Level = 'ok' | 'warning' | 'critical';
export interface StatusCheck {
  level: Level;
  what: string;
  message: string;
}

export const STATUS_EXIT: Record<Level, number> = { ok: 0, warning: 10, critical: 11 };

/** What `pki status` reports (its --json data). */
export type HierarchyStatus = Awaited<ReturnType<typeof hierarchyStatus>>;

export async function hierarchyStatus(deps: Deps, input: { dir?: string; warn?: string; crit?: string; crlWarn?: string }) {
  const warn = parseDuration(input.warn ?? '30d', 'input.warn');
  const crit = parseDuration(input.crit ?? '7d', 'input.crit');
  const crlWarn = parseDuration(input.crlWarn ?? '48h', 'input.crlWarn');
  const local = await withWorkspace(input.dir, deps, async (ws) => {
    const now = ws.now.getTime();
    const checks: StatusCheck[] = [];
    const cas = [];
    const all = await ws.store.listCas();
    const states = await caStates(ws, all);
    for (const ca of all) {
      const state = states.get(ca.id)!;
      const entry: Record<string, unknown> = { name: ca.name, status: state.state, notAfter: ca.notAfter?.toISOString() ?? null };
      if (state.state === 'revoked') {
        // Critical until retired (pki ca retire): the operator has taken it out of service and acknowledged it.
        const live = (await ws.store.leafSummary([ca.id], ws.now, { revoked: false, sample: 0 })).count;
        entry.validCertificates = live;
        if (state.retired) checks.push({ level: 'ok', what: `ca/${ca.name}`, message: `CA ${ca.name} is ${describeState(state)}, retired` });
        else
          checks.push({
            level: 'critical',
            what: `ca/${ca.name}`,
            message: `CA ${ca.name} is ${describeState(state)}${live ? `: ${live} unexpired certificate(s) it issued must not be trusted` : ''}; publish ${state.via ?? 'its issuer'}'s CRL, take it out of every trust anchor, then: pki ca retire ${state.via ?? ca.name}`,
          });
      } else if (state.state === 'retired') {
        // Out of service: no expiry or CRL alarms; its records stay.
        checks.push({ level: 'ok', what: `ca/${ca.name}`, message: `CA ${ca.name} is ${describeState(state)}` });
      } else if (ca.status === 'active' && ca.notAfter) {
        const left = (ca.notAfter.getTime() - now) / 1000;
        entry.secondsToExpiry = Math.floor(left);
        if (left <= 0) checks.push({ level: 'critical', what: `ca/${ca.name}`, message: `CA ${ca.name} expired at ${ca.notAfter.toISOString()}` });
        else if (left <= crit) checks.push({ level: 'critical', what: `ca/${ca.name}`, message: `CA ${ca.name} expires ${ca.notAfter.toISOString()} (within input.crit)` });
        else if (left <= warn) checks.push({ level: 'warning', what: `ca/${ca.name}`, message: `CA ${ca.name} expires ${ca.notAfter.toISOString()} (within input.warn)` });
        entry.validCertificates = (await ws.store.leafSummary([ca.id], ws.now, { revoked: false, sample: 0 })).count;
        entry.expiringWithinWarn = (await ws.store.leafSummary([ca.id], ws.now, { revoked: false, sample: 0, expiringBy: new Date(now + warn * 1000) })).count;
        const { last, epoch } = await ws.store.crlStatus(ca.id);
        if (last) {
          entry.crl = { number: last.crlNumber, nextUpdate: last.nextUpdate.toISOString() };
          const crlLeft = (last.nextUpdate.getTime() - now) / 1000;
          if (crlLeft <= 0) checks.push({ level: 'critical', what: `crl/${ca.name}`, message: `CA ${ca.name}'s CRL #${last.crlNumber} expired at ${last.nextUpdate.toISOString()}` });
          else if (crlLeft <= crlWarn) checks.push({ level: 'warning', what: `crl/${ca.name}`, message: `CA ${ca.name}'s CRL #${last.crlNumber} expires ${last.nextUpdate.toISOString()} (within input.crlWarn)` });
          if (epoch > last.revocationEpoch) checks.push({ level: 'warning', what: `crl/${ca.name}`, message: `CA ${ca.name} revoked certificates after CRL #${last.crlNumber}: generate and publish a new one` });
        } else {
          entry.crl = null;
          // Same verdict as pki crl check: revoked certificates that no CRL lists yet still authenticate.
          if (epoch > 0)
            checks.push({ level: 'critical', what: `crl/${ca.name}`, message: `CA ${ca.name} revoked certificates but has no CRL yet: run pki crl generate --ca ${ca.name} and publish it` });
        }
      } else if (ca.status === 'pending') checks.push({ level: 'ok', what: `ca/${ca.name}`, message: `CA ${ca.name} waits for its signed certificate (pki ca import)` });
      cas.push(entry);
    }
    // Trust anchors: whether they hold this PKI's latest CRLs (rotations below: rotationStatus opens its own workspace).
    const anchors = [];
    for (const anchor of await ws.store.listAnchors()) {
      const name = anchor.name;
      const stale: string[] = [];
      for (const p of await ws.store.listPublishedCrls(name)) {
        const latest = (await ws.store.crlStatus(p.issuerId)).last;
        if (latest && latest.crlNumber > p.crlNumber) stale.push(`${all.find((c) => c.id === p.issuerId)?.name}: #${p.crlNumber} published, #${latest.crlNumber} made`);
      }
      for (const message of await revokedInBundle(ws, name, anchor.caNames)) checks.push({ level: 'critical', what: `anchor/${name}`, message });
      anchors.push({ name, arn: anchor.arn, cas: anchor.caNames, stale });
    }
    return { checks, cas, anchors };
  });
  const { checks, anchors: anchorRows } = local;
  const rotations = [];
  for (const a of anchorRows) {
    if (a.stale.length) checks.push({ level: 'warning', what: `anchor/${a.name}`, message: `trust anchor ${a.name} has older CRLs than this PKI made (${a.stale.join('; ')}): run pki crl publish` });
    const r = await rotationStatus(deps, { ...(input.dir ? { dir: input.dir } : {}), anchor: a.name });
    if (r.rotation) rotations.push({ anchor: a.name, phase: r.rotation.phase, due: r.due, next: r.next, eta: r.eta });
    if (r.due) checks.push({ level: 'warning', what: `rotation/${a.name}`, message: `rotation of ${a.name}: ${r.message}; next: ${r.next}` });
  }
  const level: Level = checks.some((c) => c.level === 'critical') ? 'critical' : checks.some((c) => c.level === 'warning') ? 'warning' : 'ok';
  return { status: level, checks, cas: local.cas, anchors: anchorRows, rotations, now: deps.now().toISOString(), exitCode: STATUS_EXIT[level] };
}


/**
 * `pki status --check-service`: every trust anchor checked against the service as `pki anchor status` does (bundle,
 * enabled flags, each CRL's presence, number and nextUpdate), as status checks. An anchor that cannot be checked (the
 * service unreachable, no credentials) is critical: the monitor cannot vouch for it.
 */
export async function serviceChecks(deps: Deps, input: GatewayOptions & { dir?: string; crlWarn?: string }): Promise<StatusCheck[]> {
  // A refused endpoint is a usage error (exit 2), not an anchor that could not be checked.
  checkGatewayEndpoints(deps.env, input);
  const anchors = await withWorkspace(input.dir, deps, (ws) => ws.store.listAnchors());
  const checks: StatusCheck[] = [];
  for (const a of anchors) {
    const what = `service/${a.name}`;
    try {
      const r = await anchorStatus(deps, { ...input, name: a.name, ...(input.crlWarn ? { warn: input.crlWarn } : {}) });
      for (const f of r.findings) checks.push({ level: f.level, what, message: `trust anchor ${a.name} on the service: ${f.message}` });
      if (!r.findings.length) checks.push({ level: 'ok', what, message: `trust anchor ${a.name} on the service holds what it should` });
    } catch (e) {
      if (!(e instanceof PkiError)) throw e;
      checks.push({ level: 'critical', what, message: `trust anchor ${a.name} could not be checked on the service: ${e.code}: ${e.message}` });
    }
  }
  return checks;
}

/** `r` with `extra` checks added, its status and exit code recomputed. */
export function withChecks<T extends { status: Level; checks: StatusCheck[]; exitCode: number }>(r: T, extra: StatusCheck[]): T {
  const checks = [...r.checks, ...extra];
  const status: Level = checks.some((c) => c.level === 'critical') ? 'critical' : checks.some((c) => c.level === 'warning') ? 'warning' : 'ok';
  return { ...r, checks, status, exitCode: STATUS_EXIT[status] };
}
