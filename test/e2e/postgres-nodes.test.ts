/**
 * two CA nodes on one PostgreSQL database, as separate `pki` processes at once: issuing, revoking and generating
 * CRLs from both directories, with SIGKILLs mid-command. Checked afterwards: no serial recorded twice, no CRL number
 * used twice, every CRL carries every revocation acknowledged before its run started, every CRL file written is the
 * one on record, and `pki audit verify` passes on both nodes. Skipped, with the reason printed, where no PostgreSQL
 * binaries are installed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCrl, walkCrlEntries } from '../../src/x509/crl.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { CLI, tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';

const cluster = await startPostgres();
if ('skip' in cluster) console.log(`two-node PostgreSQL test skipped: ${cluster.skip}`);
afterAll(async () => {
  if ('stop' in cluster) await cluster.stop();
});

interface Run {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  started: number;
  ended: number;
}

/**
 * Runs `pki ARGS`; with `killAfterMs`, SIGKILLs it then (if it is still running). The delays are spread over the time
 * a command takes here under this load (a few hundred ms to about two seconds), so that kills land before, during and
 * after the store work.
 */
function pki(args: string[], killAfterMs?: number): Promise<Run> {
  return new Promise((resolveRun) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PKI_CA_PASSPHRASE: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolveRun({ args, code, signal, stdout, stderr, started, ended: Date.now() });
    });
  });
}

const must = async (args: string[]) => {
  const r = await pki([...args, '--json']);
  if (r.code !== 0) throw new Error(`${args.join(' ')} → ${r.code}: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout).data;
};

describe.skipIf('skip' in cluster)('two nodes on one PostgreSQL store', () => {
  it('ok/issue, revoke and crl generate at once from two node directories, with SIGKILLs: the invariants hold', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('two_nodes');
    const cwd = tempDir();
    const [a, b] = [join(cwd, 'node-a'), join(cwd, 'node-b')];
    await must(['init', '--dir', a, '--subject', 'CN=Two Node Root', '--no-passphrase', '--store', url]);
    await must(['ca', 'create', 'issuing-1', '--dir', a, '--parent', 'root', '--subject', 'CN=Two Node Issuing', '--no-passphrase']);
    await must(['node', 'join', '--dir', b, '--store', url]);
    // Certificates to revoke, issued from both nodes.
    const victims: string[] = [];
    for (let i = 0; i < 8; i++) {
      const dir = i % 2 ? b : a;
      victims.push((await must(['issue', '--dir', dir, '--ca', 'issuing-1', '--subject', `CN=victim-${i}`, '--out', join(cwd, `v${i}.pem`), '--key-out', join(cwd, `v${i}.key`)])).serial);
    }

    const runs: Run[] = [];
    const lane = async (steps: Array<() => Promise<Run>>) => {
      for (const step of steps) runs.push(await step());
    };
    const issue = (dir: string, tag: string, kill?: number) => () => pki(['issue', '--dir', dir, '--ca', 'issuing-1', '--subject', `CN=${tag}`, '--out', join(cwd, `${tag}.pem`), '--key-out', join(cwd, `${tag}.key`), '--json'], kill);
    const revoke = (dir: string, serial: string, kill?: number) => () => pki(['revoke', '--dir', dir, '--ca', 'issuing-1', '--serial', serial, '--json'], kill);
    const crl = (dir: string, tag: string, kill?: number) => () => pki(['crl', 'generate', '--dir', dir, '--ca', 'issuing-1', '--out', join(cwd, `${tag}.crl`), '--json'], kill);
    await Promise.all([
      lane([issue(a, 'a0'), issue(a, 'a1', 700), issue(a, 'a2'), issue(a, 'a3'), issue(a, 'a4')]),
      lane([issue(b, 'b0'), issue(b, 'b1'), issue(b, 'b2', 1300), issue(b, 'b3'), issue(b, 'b4')]),
      lane([revoke(a, victims[0]!), revoke(a, victims[1]!), revoke(a, victims[2]!, 1000), revoke(a, victims[3]!)]),
      lane([revoke(b, victims[4]!), revoke(b, victims[5]!), revoke(b, victims[6]!), revoke(b, victims[7]!, 1600)]),
      lane([crl(a, 'ca0'), crl(a, 'ca1'), crl(a, 'ca2', 1150), crl(a, 'ca3'), crl(a, 'ca4')]),
      lane([crl(b, 'cb0'), crl(b, 'cb1', 1900), crl(b, 'cb2'), crl(b, 'cb3'), crl(b, 'cb4')]),
    ]);
    // A final CRL from each node after everything settled.
    runs.push(await crl(a, 'final-a')());
    runs.push(await crl(b, 'final-b')());

    const failed = runs.filter((r) => r.signal === null && r.code !== 0);
    expect(failed.map((r) => `${r.args.join(' ')} → ${r.code}: ${r.stderr}`)).toEqual([]);
    const killed = runs.filter((r) => r.signal === 'SIGKILL');
    const took = runs.filter((r) => r.code === 0).map((r) => r.ended - r.started).sort((x, y) => x - y);
    console.log(`two nodes: ${runs.length} processes, ${killed.length} killed mid-command; completed ones took ${took[0]}..${took.at(-1)} ms (median ${took[took.length >> 1]})`);

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      // 1. No serial recorded twice, and every acknowledged issue is on record.
      const dup = await db.query('SELECT issuer_id, serial FROM certificate GROUP BY issuer_id, serial HAVING COUNT(*) > 1');
      expect(dup.rows).toEqual([]);
      const recorded = new Set((await db.query('SELECT serial FROM certificate')).rows.map((r) => r.serial as string));
      const issued = runs.filter((r) => r.args[0] === 'issue' && r.code === 0).map((r) => JSON.parse(r.stdout).data.serial as string);
      expect(new Set(issued).size).toBe(issued.length);
      for (const s of issued) expect(recorded.has(s), s).toBe(true);

      // 2. No CRL number used twice: by the files written and by the store; each file is the CRL on record.
      const crlRows = new Map((await db.query('SELECT crl_number, sha256 FROM crl c JOIN ca ON ca.id = c.issuer_id WHERE ca.name = $1', ['issuing-1'])).rows.map((r) => [Number(r.crl_number), r.sha256 as string]));
      const crlRuns = runs.filter((r) => r.args[0] === 'crl' && r.code === 0);
      const files = crlRuns.map((r) => {
        const file = r.args[r.args.indexOf('--out') + 1]!;
        const pem = fs.readFileSync(file, 'utf8');
        const crlDer = decodePemBlocks(pem, file)[0]!.der;
        const decoded = decodeCrl(crlDer, file);
        const serials = new Set<string>();
        walkCrlEntries(decoded, file, (e) => serials.add(e.serialHex));
        return { run: r, number: Number(decoded.crlNumber), sha256: createHash('sha256').update(crlDer).digest('hex'), serials };
      });
      const numbers = files.map((f) => f.number);
      expect(new Set(numbers).size).toBe(numbers.length);
      for (const f of files) expect(crlRows.get(f.number), `CRL #${f.number}`).toBe(f.sha256);
      const reservations = (await db.query('SELECT crl_number FROM crl_reservation')).rows.map((r) => Number(r.crl_number));
      expect(new Set(reservations).size).toBe(reservations.length);

      // 3. Every CRL carries every revocation acknowledged (its process exited 0) before the CRL run started.
      const revoked = runs.filter((r) => r.args[0] === 'revoke' && r.code === 0).map((r) => ({ serial: r.args[r.args.indexOf('--serial') + 1]!, ended: r.ended }));
      for (const f of files)
        for (const rv of revoked.filter((x) => x.ended < f.run.started)) expect(f.serials.has(rv.serial), `CRL #${f.number} lacks ${rv.serial}`).toBe(true);
      // The final CRLs carry every revocation on record.
      const onRecord = (await db.query('SELECT serial FROM revocation')).rows.map((r) => r.serial as string);
      for (const f of files.filter((x) => /final-/.test(x.run.args.join(' ')))) for (const s of onRecord) expect(f.serials.has(s), `final CRL lacks ${s}`).toBe(true);
    } finally {
      await db.end();
    }

    // 4. The audit chain is one chain, cross-checked against the rows, seen from both nodes.
    for (const dir of [a, b]) {
      const v = await pki(['audit', 'verify', '--dir', dir, '--json']);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(JSON.parse(v.stdout).data.intact).toBe(true);
    }
  });
});
