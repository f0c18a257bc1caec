/** Runs scripts/soak.mjs for the soak tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

/** Runs `node scripts/soak.mjs` with `env` without blocking the test worker (a blocked worker misses vitest's RPC). */
export function runSoak(env: Record<string, string>, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    // SIGTERM on a timeout: the script stops what it started (the emulator, a PostgreSQL cluster) on the way out.
    const child = spawn(process.execPath, [join(ROOT, 'scripts/soak.mjs')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGTERM' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}
