/**
 * What only the SQLite adapter shows: a `Store.transaction` holds the database's write lock (BEGIN IMMEDIATE) for
 * its whole body, so another process reads the committed state meanwhile and its writes wait for the commit; both
 * processes' audit rows end up in one chain.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/domain/audit.js';
import { SqliteStore } from '../../src/adapters/store/sqlite.js';
import { ROOT, tempDir } from '../helpers.js';
import { ACTOR, AT, ev, newCa, newCert } from './fixtures.js';

/**
 * Another process on the same database file (the built library, dist/): opens it (opening applies migrations under
 * the write lock, so it is opened before the transaction), then reads and writes, printing each step.
 */
function otherProcess(file: string): { lines: string[]; done: Promise<number | null> } {
  const lib = join(ROOT, 'dist/adapters/store/sqlite.js');
  const script = `
    const { SqliteStore } = await import(${JSON.stringify(lib)});
    const s = SqliteStore.open(${JSON.stringify(file)});
    const at = new Date(${JSON.stringify(AT.toISOString())});
    console.log('open');
    // Meanwhile the test process opens its transaction.
    await new Promise((r) => setTimeout(r, 500));
    console.log('targets ' + (await s.listTargets()).length + ' certificates ' + (await s.getCertificates('0c')).length);
    await s.addTarget({ name: 'from-other', region: 'eu-west-1', account: null, awsProfile: null, roleArn: null, endpoint: null, createdAt: at },
      { action: 'target.add', target: 'from-other', details: {} }, 'other@test', at);
    console.log('wrote');
    s.close();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  return { lines, done: new Promise((r) => child.on('exit', r)) };
}

describe('SQLite store transactions and other processes', () => {
  it('ok/another process reads the committed state while a transaction is open, and its write waits for the commit; one audit chain', async () => {
    const dir = tempDir('pki-sqlite-tx-');
    const file = join(dir, 'pki.db');
    const s = SqliteStore.open(file, true, { baseDir: dir });
    try {
      const root = await s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
      const other = otherProcess(file);
      const wait = async (n: number) => {
        for (let i = 0; i < 200 && other.lines.length < n; i++) await new Promise((r) => setTimeout(r, 25));
      };
      await wait(1);
      expect(other.lines).toEqual(['open']);
      await s.transaction(async (tx) => {
        await tx.recordIssued(root.id, [newCert('0c')], ACTOR, AT);
        await tx.addTarget({ name: 'in-tx', region: 'eu-west-1', account: null, awsProfile: null, roleArn: null, endpoint: null, createdAt: AT }, ev('target.add', 'in-tx'), ACTOR, AT);
        // The other process reads (the committed state) and reaches its write, which waits for the write lock.
        await wait(2);
        await new Promise((r) => setTimeout(r, 300));
        expect(other.lines).toEqual(['open', 'targets 0 certificates 0']);
      });
      expect(await other.done).toBe(0);
      expect(other.lines).toEqual(['open', 'targets 0 certificates 0', 'wrote']);
      const log = await s.auditLog();
      expect(log.map((r) => [r.action, r.target])).toEqual([
        ['ca.init', 'root'],
        ['certificate.issue', '0c'],
        ['target.add', 'in-tx'],
        ['target.add', 'from-other'],
      ]);
      expect(verifyAuditChain(log)).toBeUndefined();
    } finally {
      s.close();
    }
  }, 30_000);
});
