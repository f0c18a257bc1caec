/** CreateSession (§4): authenticated by the certificate's signature, not SigV4 (the check is ../sessions.ts). */
import { createSession, type SessionContext, type SessionRecord } from '../sessions.js';
import type { MlDsaCertificates } from '../rules.js';
import { mappingsOf } from './profiles.js';
import type { ResourceContext } from './context.js';

export function registerSessions(ctx: ResourceContext, opts: { clockSkewSeconds: number; expiredCrl: 'reject' | 'ignore'; mlDsaCertificates: MlDsaCertificates; clock: () => Date; sessions: SessionRecord[] }): void {
  const { store: state, region, account } = ctx;
  const sessionContext: SessionContext = {
    region,
    account,
    clockSkewSeconds: opts.clockSkewSeconds,
    expiredCrl: opts.expiredCrl,
    mlDsaCertificates: opts.mlDsaCertificates,
    anchors: () => [...state.trustAnchors.values()],
    crls: () => [...state.crls.values()],
    profiles: () => [...state.profiles.values()].map((p) => ({ ...p, attributeMappings: mappingsOf(p) })),
    now: opts.clock,
  };
  ctx.router.route('POST', /^\/sessions$/, 'CreateSession', 'session', (_m, _b, _q, req) => {
    const { body, record } = createSession(req, sessionContext);
    opts.sessions.push(record);
    return { status: 201, body, mutates: false };
  });
}
