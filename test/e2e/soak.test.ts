/** the short version of `npm run soak`: random operations, SIGKILLs, and the invariant checker after each kill. */
import { describe, expect, it } from 'vitest';
import { runSoak } from '../helpers/soak.js';

describe('crash-safety soak (short)', () => {
  it('40 operations, about a third killed with SIGKILL: zero invariant violations', async () => {
    const r = await runSoak({ SOAK_STORE: 'sqlite', SOAK_STORE_URL: '', OPS: '40', KILL_RATE: '0.35', FAULT_RATE: '0.3', SEED: '7', TIME_LIMIT: '240' }, 290_000);
    expect(r.status, r.stderr).toBe(0);
    const m = /soak: (\d+) operations, (\d+) kills, (\d+) invariant checks, (\d+) revocation checks after publishing, 0 violations \(.*?out-of-band faults: (\{.*?\})/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBe(40);
    expect(Number(m![2])).toBeGreaterThanOrEqual(5);
    expect(Number(m![3])).toBeGreaterThan(Number(m![2]));
    // batches stopped by SIGINT/SIGKILL/SIGTERM and finished with --resume, checked after each.
    const resumed = /batches interrupted: (\d+), resumed: (\d+)/.exec(r.stdout);
    expect(resumed, r.stdout).not.toBeNull();
    expect(Number(resumed![1])).toBeGreaterThanOrEqual(1);
    expect(Number(resumed![2])).toBeGreaterThanOrEqual(1);
    // after successful publishes, revoked certificates were refused credentials, also after out-of-band faults.
    expect(Number(m![4])).toBeGreaterThanOrEqual(1);
    expect(Object.keys(JSON.parse(m![5]!)).length).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
