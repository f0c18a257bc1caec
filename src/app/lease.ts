/**
 * One writer per trust anchor. `pki crl publish`, `pki anchor push` and the `pki rotate` steps that talk to AWS hold a
 * lease on the anchor (a row in the store) while they read the service, decide and write. The lease expires, so a
 * process killed while holding it (kill -9) blocks the others only until then; a live holder extends it every
 * LEASE_SECONDS / 3. A run that finds the lease taken waits up to `waitSeconds`, then fails with STATE_ANCHOR_BUSY.
 */
import { PkiError } from '../errors.js';
import type { Deps } from '../ports.js';
import { withWorkspace } from './workspace.js';

/** How long a lease lasts without being extended (PKI_LEASE_SECONDS overrides it, e.g. for the soak). */
export const LEASE_SECONDS = 120;

function leaseSeconds(deps: Deps): number {
  const v = Number(deps.env.PKI_LEASE_SECONDS);
  return Number.isFinite(v) && v >= 1 ? v : LEASE_SECONDS;
}
/** How long a run waits for a lease by default (an overlapping cron run). */
export const DEFAULT_LEASE_WAIT_SECONDS = 30;
const POLL_MS = 250;

export interface LeaseOptions {
  dir?: string;
  /** Seconds to wait for a lease another run holds (default 30; 0: fail at once). */
  leaseWait?: number;
  /**
   * Set by a caller that already holds the lease on this anchor (a rotation step publishing CRLs): the token it holds
   * it under. Nested steps then run under that lease instead of waiting for it.
   */
  leaseHolder?: string;
}

/** Runs `fn` while holding the lease on trust anchor `anchor`; `fn` gets the holder token to pass to nested steps. */
export async function withAnchorLease<T>(deps: Deps, opts: LeaseOptions, anchor: string, fn: (holder: string) => Promise<T>): Promise<T> {
  if (opts.leaseHolder) return fn(opts.leaseHolder);
  const holder = `${deps.actor} ${deps.randomBytes(8).toString('hex')}`;
  const dir = opts.dir;
  const ttl = leaseSeconds(deps);
  const take = () => withWorkspace(dir, deps, (ws) => ws.store.acquireLease(anchor, holder, deps.now(), new Date(deps.now().getTime() + ttl * 1000)));
  const waitMs = Math.max(0, opts.leaseWait ?? DEFAULT_LEASE_WAIT_SECONDS) * 1000;
  let waited = 0;
  let got = await take();
  while (!got.acquired && waited < waitMs) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    waited += POLL_MS;
    got = await take();
  }
  if (!got.acquired)
    throw new PkiError('STATE_ANCHOR_BUSY', `trust anchor ${anchor} is being changed by another pki run (${got.holder.split(' ')[0]}, lease until ${got.expiresAt.toISOString()})`, {
      details: { anchor, holder: got.holder, expiresAt: got.expiresAt.toISOString(), waitedSeconds: waited / 1000 },
      hint: `run again later; a run that was killed holds the lease until ${got.expiresAt.toISOString()} at the latest`,
    });
  // Extend the lease while the run lasts; a failure to extend shows up as STATE_ANCHOR_BUSY for the next writer.
  const timer = setInterval(() => {
    take().catch(() => undefined);
  }, (ttl * 1000) / 3);
  timer.unref?.();
  try {
    return await fn(holder);
  } finally {
    clearInterval(timer);
    await withWorkspace(dir, deps, (ws) => ws.store.releaseLease(anchor, holder)).catch(() => undefined);
  }
}
