/**
 * CRL memory: the previous CRL in the store is compared with the new one chunk by chunk (never whole in memory).
 * Stored in chunks of a few bytes, every entry (and the header) crosses chunk boundaries: a serial that would
 * disappear is still found, an intact store still passes, and a stored CRL cut short is refused before signing.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs module shared with the benchmark
import { populateRevocations } from '../../bench/synthetic.mjs';
import { encodeCrlEntry } from '../../src/x509/crl.js';
import { cli, makePki, snapshot } from '../helpers.js';

/** Stores every stored CRL of the issuer again in chunks of `size` bytes (same bytes, other chunking). */
function rechunk(dbPath: string, size: number): void {
  const db = new Database(dbPath);
  try {
    const rows = db.prepare('SELECT issuer_id, crl_number, group_concat(hex(data), \'\') AS hex FROM (SELECT * FROM crl_chunk ORDER BY issuer_id, crl_number, seq) GROUP BY issuer_id, crl_number').all() as Array<{ issuer_id: number; crl_number: number; hex: string }>;
    db.transaction(() => {
      db.prepare('DELETE FROM crl_chunk').run();
      const put = db.prepare('INSERT INTO crl_chunk (issuer_id, crl_number, seq, data) VALUES (?, ?, ?, ?)');
      for (const r of rows) {
        const der = Buffer.from(r.hex, 'hex');
        for (let i = 0, seq = 0; i < der.length; i += size) put.run(r.issuer_id, r.crl_number, seq++, der.subarray(i, i + size));
      }
    })();
  } finally {
    db.close();
  }
}

async function pkiWithCrl(count: number) {
  const pki = await makePki();
  const db = join(pki.dir, 'pki.db');
  const serials: string[] = await populateRevocations(db, 'issuing-1', count, { reasonEvery: 4, revokedAt: pki.deps.now(), notAfter: new Date('2040-01-01T00:00:00Z'), encodeCrlEntry });
  const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--max-pem-bytes', '10000000', '--dir', pki.dir, '--json'], pki.deps);
  expect(r.code, r.stdout).toBe(0);
  return { ...pki, db, serials };
}

describe('the previous CRL, compared chunk by chunk', () => {
  it('chunks of 1 to 7 bytes: an intact store passes; a lost revocation is found and named, nothing signed', async () => {
    const { dir, cwd, deps, db, serials } = await pkiWithCrl(500);
    for (const size of [7, 1, 3]) {
      rechunk(db, size);
      const ok = await cli(['crl', 'generate', '--ca', 'issuing-1', '--max-pem-bytes', '10000000', '--dir', dir, '--json'], deps);
      expect(ok.code, ok.stdout).toBe(0);
      expect(ok.json.data.crl.entries).toBe(500);
    }
    rechunk(db, 5);
    const sorted = [...serials].sort();
    const lost = [sorted[0]!, sorted[250]!, sorted[499]!];
    const h = new Database(db);
    h.exec('DROP TRIGGER revocation_no_delete');
    for (const s of lost) h.prepare('DELETE FROM revocation WHERE serial = ?').run(s);
    h.close();
    const before = snapshot(cwd);
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--max-pem-bytes', '10000000', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('STATE_CRL_ENTRY_DROPPED');
    expect(r.json.error.details.count).toBe(3);
    expect([...r.json.error.details.serials].sort()).toEqual(lost.map((s) => s.replace(/^0+(?=.)/, '')).sort());
    expect(snapshot(cwd)).toEqual(before);
  });

  it('a stored CRL cut short (its last chunks lost) is refused as a bad CRL before anything is signed', async () => {
    const { dir, cwd, deps, db } = await pkiWithCrl(300);
    rechunk(db, 1000);
    const h = new Database(db);
    const last = h.prepare('SELECT MAX(seq) FROM crl_chunk').pluck().get() as number;
    h.prepare('DELETE FROM crl_chunk WHERE seq >= ?').run(last - 3);
    h.close();
    const before = snapshot(cwd);
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--max-pem-bytes', '10000000', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(7);
    expect(r.json.error.code).toBe('CRYPTO_BAD_CRL');
    expect(r.json.error.message).toContain('stored CRL #1');
    expect(snapshot(cwd)).toEqual(before);
  });
});
