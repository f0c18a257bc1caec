/**
 * the store contract, run against every adapter: the SQLite file, a PostgreSQL database of a throwaway
 * cluster (skipped, with the reason printed, where no PostgreSQL binaries are installed) and the in-memory store.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { verifyAuditChain } from '../../src/domain/audit.js';
import type { ImportedEntry, Store } from '../../src/ports.js';
import { startPostgres } from '../helpers/postgres.js';
import { ACTOR, AT, collect, ev, memoryAdapter, newCa, newCert, newRevocation, postgresAdapter, sqliteAdapter, type Adapter } from './fixtures.js';

const cluster = await startPostgres();
if ('skip' in cluster) console.log(`store contract on PostgreSQL skipped: ${cluster.skip}`);
afterAll(async () => {
  if ('stop' in cluster) await cluster.stop();
});
const adapters: Adapter[] = [sqliteAdapter(), ...('stop' in cluster ? [postgresAdapter(cluster)] : []), memoryAdapter()];

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return e instanceof PkiError ? e.code : `not a PkiError: ${String(e)}`;
  }
  return 'no error';
};

async function withStore<T>(a: Adapter, fn: (s: Store, ctx: Awaited<ReturnType<Adapter['fresh']>>) => Promise<T>): Promise<T> {
  const ctx = await a.fresh();
  try {
    return await fn(ctx.store, ctx);
  } finally {
    await ctx.store.close();
  }
}

/**
 * CA `issuerId`'s CRL number reservation rows: the row-level dump where the adapter has one (SQLite, PostgreSQL);
 * otherwise (memory) what lastReservedCrlNumber shows, the highest one (none: no row at all).
 */
async function reservations(s: Store, issuerId: number): Promise<number[]> {
  if (s.dumpTable) {
    const out: number[] = [];
    for await (const r of s.dumpTable('crl_reservation')) if (Number(r.issuer_id) === issuerId) out.push(Number(r.crl_number));
    return out;
  }
  const max = await s.withCrlTransaction(issuerId, async (tx) => tx.lastReservedCrlNumber());
  return max === undefined ? [] : [max];
}

async function rootWithCerts(s: Store, serials: string[]) {
  const root = await s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
  const { collisions } = await s.recordIssued(root.id, serials.map((x) => newCert(x)), ACTOR, AT);
  expect(collisions).toEqual([]);
  return root;
}

describe.each(adapters)('store contract: $name', (a) => {
  it('ok/CAs: create, read by name and id, list in order; a second CA of the same name is STATE_CA_EXISTS and changes nothing', async () => {
    await withStore(a, async (s) => {
      const root = await s.createCa(newCa('root'), { issuerId: null, cert: newCert('01') }, ev('ca.init', 'root'), ACTOR, AT);
      const sub = await s.createCa(newCa('issuing-1', root.id), null, ev('ca.create', 'issuing-1'), ACTOR, AT);
      expect((await s.getCa('root'))?.id).toBe(root.id);
      expect((await s.getCaById(sub.id))).toMatchObject({ name: 'issuing-1', parentId: root.id, status: 'active', keyType: 'ecdsa-p256', keyEncrypted: false });
      expect((await s.getCa('root'))!.notAfter!.toISOString()).toBe('2036-01-01T00:00:00.000Z');
      expect((await s.listCas()).map((c) => c.name)).toEqual(['root', 'issuing-1']);
      expect(await codeOf(s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT))).toBe('STATE_CA_EXISTS');
      expect((await s.listCas()).length).toBe(2);
      expect((await s.auditLog()).length).toBe(2);
      expect(await s.getCertificates('01', root.id)).toHaveLength(1);
    });
  });

  it('ok/certificates: unique per (issuer, serial): a collision is reported, not recorded; the same serial under another issuer is fine', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a', '0b']);
      const other = await s.createCa(newCa('other'), null, ev('ca.init', 'other'), ACTOR, AT);
      const r = await s.recordIssued(root.id, [newCert('0c'), newCert('0a'), newCert('0d')], ACTOR, AT);
      expect(r.collisions).toEqual([1]);
      expect((await s.recordIssued(other.id, [newCert('0a')], ACTOR, AT)).collisions).toEqual([]);
      // The same serial twice in one call: the first is recorded, the second is a collision.
      expect((await s.recordIssued(other.id, [newCert('1e'), newCert('1f'), newCert('1e')], ACTOR, AT)).collisions).toEqual([2]);
      await s.recordIssued(other.id, [newCert('1e'), newCert('1f'), newCert('1e')], ACTOR, AT).then((r) => expect(r.collisions).toEqual([0, 1, 2]));
      // A batch run's items are recorded with their certificates.
      const batch = await s.startBatch(other.id, '/csr', '/out', 2, AT);
      const withItem = (serial: string, file: string) => ({ ...newCert(serial), batchItem: { batchId: batch, file, csrSha256: `sha-${file}` } });
      expect((await s.recordIssued(other.id, [withItem('2a', 'a.csr'), withItem('0a', 'dup.csr'), withItem('2b', 'b.csr')], ACTOR, AT)).collisions).toEqual([1]);
      expect((await s.batchItems(batch)).map((i) => [i.file, i.serial, i.csrSha256])).toEqual([
        ['a.csr', '2a', 'sha-a.csr'],
        ['b.csr', '2b', 'sha-b.csr'],
      ]);
      await s.finishBatch(batch, AT);
      expect((await s.latestBatch(other.id, '/csr', '/out'))?.finishedAt?.toISOString()).toBe(AT.toISOString());
      await s.recordIssued(other.id, [], ACTOR, AT);
      expect((await s.certificateKeys()).length).toBe(9);
      expect((await s.getCertificates('0a')).map((c) => c.issuerName).sort()).toEqual(['other', 'root']);
      const cert = (await s.getCertificates('0c', root.id))[0]!;
      expect(cert).toMatchObject({ serial: '0c', subjectDn: 'CN=host-0c', sans: ['host-0c.example'], isCa: false, revocation: null });
      expect(cert.der.equals(Buffer.from('der of 0c'))).toBe(true);
      expect((await s.findCertificates({ issuerId: root.id, status: 'valid', now: AT })).map((c) => c.serial).sort()).toEqual(['0a', '0b', '0c', '0d']);
    });
  });

  it('ok/revocations: all or none, every serial at fault named; the epoch moves once per revocation run', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a', '0b', '0c']);
      await s.revoke(root.id, [newRevocation('0a')], ACTOR, AT);
      const before = await s.crlStatus(root.id);
      let err: unknown;
      try {
        await s.revoke(root.id, [newRevocation('0b'), newRevocation('0a'), newRevocation('ff')], ACTOR, AT, (i) => `line ${i + 1}`);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PkiError);
      expect((err as PkiError).message).toMatch(/line 2: certificate 0a was already revoked/);
      expect((err as PkiError).message).toMatch(/line 3: no certificate with serial ff/);
      expect((await s.revocationKeys()).length).toBe(1);
      expect((await s.crlStatus(root.id)).epoch).toBe(before.epoch);
      const done = await s.revoke(root.id, [newRevocation('0b', 4), newRevocation('0c')], ACTOR, AT);
      expect(done.map((c) => [c.serial, c.revocation?.reason])).toEqual([
        ['0b', 4],
        ['0c', 1],
      ]);
      expect((await s.crlStatus(root.id)).epoch).toBe(before.epoch + 1);
      expect((await s.findCertificates({ status: 'revoked', now: AT })).length).toBe(3);
    });
  });

  it('ok/CRL transaction: entries stream in serial byte order; CRLs are kept, a reservation until its CRL is recorded; a throwing body commits nothing', async () => {
    await withStore(a, async (s) => {
      const serials = ['0100', '0a', 'ff', '7f01', '00ff'];
      const root = await rootWithCerts(s, [...serials, '0b']);
      await s.revoke(root.id, serials.map((x) => newRevocation(x)), ACTOR, AT);
      const sorted = [...serials].sort();
      const withReasons = await s.withCrlTransaction(root.id, async (tx) => collect(tx.entryBlocks(AT, true)));
      expect(withReasons.equals(Buffer.concat(sorted.map((x) => newRevocation(x).entryDer)))).toBe(true);
      const noReasons = await s.withCrlTransaction(root.id, async (tx) => collect(tx.entryBlocks(AT, false)));
      expect(noReasons.equals(Buffer.concat(sorted.map((x) => newRevocation(x).entryDerNoReason!)))).toBe(true);
      // Out of scope once the certificates have expired.
      expect((await s.withCrlTransaction(root.id, async (tx) => collect(tx.entryBlocks(new Date('2030-01-01T00:00:00Z'), true)))).length).toBe(0);

      await expect(
        s.withCrlTransaction(root.id, async (tx) => {
          await tx.reserveCrlNumber(7, AT);
          throw new PkiError('STATE_TEST', 'abort');
        }),
      ).rejects.toThrow('abort');
      expect(await s.withCrlTransaction(root.id, async (tx) => tx.lastReservedCrlNumber())).toBeUndefined();

      const der = Buffer.from('a stored CRL, in three chunks');
      await s.withCrlTransaction(root.id, async (tx) => {
        expect(await tx.revocationEpoch()).toBe(1);
        expect(await tx.revocationCount()).toBe(5);
        expect(await tx.revocationStatus('0a')).toEqual({ revoked: true, notAfter: new Date('2027-01-01T00:00:00Z') });
        expect(await tx.revocationStatus('0b')).toEqual({ revoked: false, notAfter: new Date('2027-01-01T00:00:00Z') });
        expect(await tx.revocationStatus('99')).toEqual({ revoked: false });
        await tx.reserveCrlNumber(1, AT);
      });
      await s.withCrlTransaction(root.id, async (tx) => {
        expect(await tx.lastReservedCrlNumber()).toBe(1);
        const chunks = async function* () {
          // One reused buffer, as app/crl/file.ts's fileChunks hands them on.
          const buf = Buffer.alloc(10);
          for (let i = 0; i < der.length; i += 10) {
            const n = der.copy(buf, 0, i, i + 10);
            yield buf.subarray(0, n);
          }
        };
        await tx.insertCrl(
          { issuerId: root.id, crlNumber: 1, thisUpdate: AT, nextUpdate: new Date('2026-03-08T12:00:00Z'), entries: 5, pruned: 0, reasons: true, derSize: der.length, pemSize: 99, sha256: 'ab', revocationEpoch: 1, createdAt: AT },
          chunks(),
          ACTOR,
          AT,
        );
      });
      expect((await s.crlDer(root.id, 1))!.equals(der)).toBe(true);
      expect(await s.withCrlTransaction(root.id, async (tx) => (await tx.crlDer(1))?.equals(der))).toBe(true);
      const st = await s.crlStatus(root.id);
      expect(st.last).toMatchObject({ crlNumber: 1, entries: 5, reasons: true, derSize: der.length, revocationEpoch: 1 });
      expect(st.last!.nextUpdate.toISOString()).toBe('2026-03-08T12:00:00.000Z');
      expect((await s.listCrls(root.id)).map((c) => c.crlNumber)).toEqual([1]);
      // The recorded CRL holds the high-water mark: its reservation is gone, and its number cannot be reserved again.
      expect(await s.withCrlTransaction(root.id, async (tx) => tx.lastReservedCrlNumber())).toBeUndefined();
      expect(await codeOf(s.withCrlTransaction(root.id, async (tx) => tx.reserveCrlNumber(1, AT)))).not.toBe('no error');
    });
  });

  it('ok/a call made while a CRL transaction awaits waits for it: it is not part of the transaction, which then rolls back', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a']);
      let reserved!: () => void;
      let release!: () => void;
      const inTx = new Promise<void>((r) => (reserved = r));
      const proceed = new Promise<void>((r) => (release = r));
      const crl = s.withCrlTransaction(root.id, async (tx) => {
        await tx.reserveCrlNumber(3, AT);
        reserved();
        await proceed;
        throw new PkiError('STATE_TEST', 'the signature failed');
      });
      await inTx;
      // Another caller on the same store (another part of the program), while the transaction is open and awaiting.
      let recorded = false;
      const outside = s.recordIssued(root.id, [newCert('0e')], ACTOR, AT).then(() => (recorded = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(recorded).toBe(false);
      release();
      await expect(crl).rejects.toThrow('the signature failed');
      await outside;
      expect(await s.getCertificates('0e', root.id)).toHaveLength(1);
      expect(await s.withCrlTransaction(root.id, async (tx) => tx.lastReservedCrlNumber())).toBeUndefined();
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
    });
  });

  it('ok/a call started just before a CRL transaction opens is not part of it: the transaction rolling back keeps it', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a']);
      // Started in the same tick, before the transaction: it has checked that the connection is free when the
      // transaction begins, and must finish on its own, not inside the transaction.
      const outside = s.recordIssued(root.id, [newCert('0e')], ACTOR, AT);
      const crl = s.withCrlTransaction(root.id, async (tx) => {
        await tx.reserveCrlNumber(5, AT);
        await new Promise((r) => setTimeout(r, 20));
        throw new PkiError('STATE_TEST', 'the signature failed');
      });
      await expect(crl).rejects.toThrow('the signature failed');
      expect((await outside).collisions).toEqual([]);
      expect(await s.getCertificates('0e', root.id)).toHaveLength(1);
      expect(await s.withCrlTransaction(root.id, async (tx) => tx.lastReservedCrlNumber())).toBeUndefined();
      // And when the transaction commits, both changes are kept (neither overwrites the other).
      const before = s.recordIssued(root.id, [newCert('0f')], ACTOR, AT);
      await s.withCrlTransaction(root.id, async (tx) => {
        await tx.reserveCrlNumber(6, AT);
        await new Promise((r) => setTimeout(r, 20));
      });
      expect((await before).collisions).toEqual([]);
      expect(await s.getCertificates('0f', root.id)).toHaveLength(1);
      expect(await s.withCrlTransaction(root.id, async (tx) => tx.lastReservedCrlNumber())).toBe(6);
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
    });
  });

  it('ok/a store call made from inside a CRL transaction body joins it: rolled back with it, or committed with it', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a']);
      await expect(
        s.withCrlTransaction(root.id, async (tx) => {
          await tx.reserveCrlNumber(4, AT);
          expect((await s.recordIssued(root.id, [newCert('0f')], ACTOR, AT)).collisions).toEqual([]);
          expect(await s.getCertificates('0f', root.id)).toHaveLength(1);
          throw new PkiError('STATE_TEST', 'abort');
        }),
      ).rejects.toThrow('abort');
      expect(await s.getCertificates('0f', root.id)).toHaveLength(0);
      await s.withCrlTransaction(root.id, async (tx) => {
        await tx.reserveCrlNumber(4, AT);
        await s.recordIssued(root.id, [newCert('0f')], ACTOR, AT);
      });
      expect(await s.getCertificates('0f', root.id)).toHaveLength(1);
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
    });
  });

  it('ok/the audit log is one chain over every kind of change, and names each change', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a', '0b']);
      await s.revoke(root.id, [newRevocation('0a')], ACTOR, AT);
      await s.addTarget({ name: 't1', region: 'eu-west-1', account: null, awsProfile: null, roleArn: null, endpoint: null, createdAt: AT }, ev('target.add', 't1'), ACTOR, AT);
      expect(await codeOf(s.addTarget({ name: 't1', region: 'eu-west-1', account: null, awsProfile: null, roleArn: null, endpoint: null, createdAt: AT }, ev('target.add', 't1'), ACTOR, AT))).toBe('USAGE_TARGET_EXISTS');
      await s.saveAnchor({ name: 'a1', arn: 'arn:a1', trustAnchorId: 'id1', region: 'eu-west-1', caNames: ['root'], bundleSha256: 'cd', updatedAt: AT }, ev('anchor.push', 'a1'), ACTOR, AT);
      expect(await s.getAnchor('a1')).toMatchObject({ caNames: ['root'], target: '', anchorName: 'a1' });
      const log = await s.auditLog();
      expect(log.map((r) => r.action)).toEqual(['ca.init', 'certificate.issue', 'certificate.issue', 'certificate.revoke', 'target.add', 'anchor.push']);
      expect(log.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(verifyAuditChain(log)).toBeUndefined();
    });
  });

  it('ok/rotation phases are compare-and-set; one open rotation per anchor; leases exclude other holders until they expire', async () => {
    await withStore(a, async (s) => {
      const root = await s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
      const next = await s.createCa(newCa('root-2'), null, ev('ca.init', 'root-2'), ACTOR, AT);
      await s.saveAnchor({ name: 'a1', arn: 'arn:a1', trustAnchorId: 'id1', region: 'eu-west-1', caNames: ['root'], bundleSha256: 'cd', updatedAt: AT }, ev('anchor.push', 'a1'), ACTOR, AT);
      const r = await s.createRotation({ anchorName: 'a1', oldCaId: root.id, newCaId: next.id, anchorChange: true, bundleBefore: ['root'], startedAt: AT }, ev('rotation.start', 'a1'), ACTOR, AT);
      expect(r.phase).toBe('starting');
      expect(await codeOf(s.createRotation({ anchorName: 'a1', oldCaId: root.id, newCaId: next.id, anchorChange: true, bundleBefore: ['root'], startedAt: AT }, ev('rotation.start', 'a1'), ACTOR, AT))).toBe('STATE_ROTATION_IN_PROGRESS');
      expect((await s.setRotationPhase(r.id, ['starting'], 'started', ev('rotation.started', 'a1'), ACTOR, AT)).phase).toBe('started');
      expect(await codeOf(s.setRotationPhase(r.id, ['starting'], 'started', ev('rotation.started', 'a1'), ACTOR, AT))).toBe('STATE_ROTATION_PHASE');
      const sw = await s.setRotationPhase(r.id, ['started'], 'switched', ev('rotation.switch', 'a1'), ACTOR, AT);
      expect(sw.switchedAt?.toISOString()).toBe(AT.toISOString());
      expect((await s.openRotation('a1'))?.phase).toBe('switched');

      const t0 = new Date('2026-03-01T12:00:00Z');
      const later = (s: number) => new Date(t0.getTime() + s * 1000);
      expect((await s.acquireLease('a1', 'node-a', t0, later(60))).acquired).toBe(true);
      const refused = await s.acquireLease('a1', 'node-b', later(10), later(70));
      expect(refused).toMatchObject({ acquired: false, holder: 'node-a' });
      const extended = await s.acquireLease('a1', 'node-a', later(20), later(80));
      expect(extended).toMatchObject({ acquired: true, holder: 'node-a' });
      expect(extended.acquiredAt.getTime()).toBe(t0.getTime());
      expect((await s.acquireLease('a1', 'node-b', later(81), later(140))).acquired).toBe(true);
      await s.releaseLease('a1', 'node-a');
      expect((await s.acquireLease('a1', 'node-a', later(82), later(140))).acquired).toBe(false);
    });
  });

  it('ok/import with history from an async source in one transaction; a serial listed twice imports nothing', async () => {
    await withStore(a, async (s) => {
      const entries = async function* (serials: string[]): AsyncGenerator<ImportedEntry> {
        for (const [i, serial] of serials.entries()) {
          await Promise.resolve();
          yield { where: `index.txt:${i + 1}`, cert: i % 3 === 2 ? { ...newCert(serial), der: Buffer.alloc(0) } : newCert(serial), revocation: i % 2 ? newRevocation(serial) : null };
        }
      };
      const many = Array.from({ length: 4500 }, (_, i) => (0x1000 + i).toString(16));
      const bad = [...many.slice(0, 3000), many[5]!, ...many.slice(3000)];
      let err: unknown;
      try {
        await s.importCaWithHistory(newCa('old'), entries(bad), { tool: 'openssl-ca', nextCrlNumber: 5, crlNumberSource: 'crlnumber' }, ev('ca.import-history', 'old'), ACTOR, AT);
      } catch (e) {
        err = e;
      }
      expect((err as PkiError).code).toBe('USAGE_DUPLICATE_SERIAL');
      expect((err as PkiError).message).toMatch(/^index\.txt:3001: serial 1005 is listed twice/);
      expect(await s.listCas()).toEqual([]);
      expect(await s.certificateKeys()).toEqual([]);
      expect(await s.auditLog()).toEqual([]);

      const { ca, history } = await s.importCaWithHistory(newCa('old'), entries(many), { tool: 'openssl-ca', nextCrlNumber: 5, crlNumberSource: 'crlnumber' }, ev('ca.import-history', 'old'), ACTOR, AT);
      expect(history).toMatchObject({ tool: 'openssl-ca', nextCrlNumber: 5, certificates: 3000, knownSerials: 1500, revocations: 2250 });
      expect((await s.caHistory(ca.id))?.revocations).toBe(2250);
      expect((await s.crlStatus(ca.id)).epoch).toBe(1);
      expect((await s.revocationKeys()).length).toBe(2250);
      const log = await s.auditLog();
      expect(log.at(-1)?.details).toMatchObject({ certificates: 3000, knownSerials: 1500, revocations: 2250 });
    });
  });

  it('ok/a multi-row change that fails commits none of its rows: a CA whose certificate collides is not created, and leaves no audit row', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a']);
      const log = (await s.auditLog()).length;
      expect(await codeOf(s.createCa(newCa('sub', root.id), { issuerId: root.id, cert: newCert('0a') }, ev('ca.create', 'sub'), ACTOR, AT))).toBe('STATE_SERIAL_COLLISION');
      expect(await s.getCa('sub')).toBeUndefined();
      expect((await s.listCas()).map((c) => c.name)).toEqual(['root']);
      expect((await s.auditLog()).length).toBe(log);
      // The name is free again: the same CA with a new serial is created.
      const sub = await s.createCa(newCa('sub', root.id), { issuerId: root.id, cert: newCert('0b') }, ev('ca.create', 'sub'), ACTOR, AT);
      expect((await s.getCertificates('0b', root.id))[0]?.issuerName).toBe('root');
      expect(sub.parentId).toBe(root.id);
      // recordIssued writes one audit row per certificate it recorded, none for a collision.
      const before = (await s.auditLog()).length;
      expect((await s.recordIssued(root.id, [newCert('0c'), newCert('0a')], ACTOR, AT)).collisions).toEqual([1]);
      const added = (await s.auditLog()).slice(before);
      expect(added.map((r) => [r.action, r.target])).toEqual([['certificate.issue', '0c']]);
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
    });
  });

  it('ok/a failing change made from inside a CRL transaction body rolls back alone (a savepoint); the transaction goes on and commits', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a']);
      await s.withCrlTransaction(root.id, async (tx) => {
        await tx.reserveCrlNumber(1, AT);
        expect(await codeOf(s.revoke(root.id, [newRevocation('0a'), newRevocation('ff')], ACTOR, AT))).toBe('NOT_FOUND_SERIAL');
        expect(await tx.revocationStatus('0a')).toEqual({ revoked: false, notAfter: new Date('2027-01-01T00:00:00Z') });
        expect(await tx.revocationEpoch()).toBe(0);
        // A change that wrote its CA row before it failed on the certificate: the row goes, the transaction stays.
        expect(await codeOf(s.createCa(newCa('sub', root.id), { issuerId: root.id, cert: newCert('0a') }, ev('ca.create', 'sub'), ACTOR, AT))).toBe('STATE_SERIAL_COLLISION');
        expect(await s.getCa('sub')).toBeUndefined();
      });
      expect(await s.withCrlTransaction(root.id, async (tx) => tx.lastReservedCrlNumber())).toBe(1);
      expect(await s.revocationKeys()).toEqual([]);
      expect(await s.getCa('sub')).toBeUndefined();
      expect((await s.auditLog()).map((r) => r.action)).toEqual(['ca.init', 'certificate.issue']);
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
    });
  });

  it('ok/CRL numbers: a reserved number whose CRL was never recorded stays a gap; reservations do not outlive the CRL that covers them; numbers are per CA; a number recorded twice is refused', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a']);
      const other = await s.createCa(newCa('other'), null, ev('ca.init', 'other'), ACTOR, AT);
      const crl = (n: number) => ({ issuerId: root.id, crlNumber: n, thisUpdate: AT, nextUpdate: new Date('2026-03-08T12:00:00Z'), entries: 0, pruned: 0, reasons: true, derSize: 3, pemSize: 9, sha256: `s${n}`, revocationEpoch: 0, createdAt: AT });
      // A run reserves 1 and dies before it records its CRL (the reservation commits; the CRL never does).
      await s.withCrlTransaction(root.id, async (tx) => tx.reserveCrlNumber(1, AT));
      await s.withCrlTransaction(root.id, async (tx) => {
        expect(await tx.lastCrl()).toBeUndefined();
        expect(await tx.lastReservedCrlNumber()).toBe(1);
        await tx.reserveCrlNumber(2, AT);
      });
      // Another CA's numbers are its own (and its reservations are not touched by this CA's CRLs).
      expect(await s.withCrlTransaction(other.id, async (tx) => tx.lastReservedCrlNumber())).toBeUndefined();
      await s.withCrlTransaction(other.id, async (tx) => tx.reserveCrlNumber(1, AT));
      expect((await s.crlStatus(other.id)).last).toBeUndefined();
      // A run that is still signing has reserved 3 when CRL 2 is recorded.
      await s.withCrlTransaction(root.id, async (tx) => tx.reserveCrlNumber(3, AT));
      await s.withCrlTransaction(root.id, async (tx) => tx.insertCrl(crl(2), [Buffer.from('abc')], ACTOR, AT));
      expect((await s.listCrls(root.id)).map((c) => c.crlNumber)).toEqual([2]);
      expect(await s.crlDer(root.id, 1)).toBeUndefined();
      expect((await s.crlStatus(root.id)).last?.crlNumber).toBe(2);
      // Reservations 1 (abandoned) and 2 (completed) are covered by CRL 2 and dropped; 3 stays above it, so the number
      // after it is still 4; a number not above the recorded CRL cannot be reserved.
      expect(await reservations(s, root.id)).toEqual([3]);
      expect(await s.withCrlTransaction(root.id, async (tx) => tx.lastReservedCrlNumber())).toBe(3);
      expect(await codeOf(s.withCrlTransaction(root.id, async (tx) => tx.reserveCrlNumber(2, AT)))).not.toBe('no error');
      expect(await reservations(s, other.id)).toEqual([1]);
      // Many CRLs later, no completed reservation lingers.
      for (let n = 3; n <= 12; n++) {
        if (n > 3) await s.withCrlTransaction(root.id, async (tx) => tx.reserveCrlNumber(n, AT));
        await s.withCrlTransaction(root.id, async (tx) => tx.insertCrl({ ...crl(n), sha256: `s${n}` }, [Buffer.from('abc')], ACTOR, AT));
      }
      expect(await reservations(s, root.id)).toEqual([]);
      expect(await s.withCrlTransaction(root.id, async (tx) => tx.lastReservedCrlNumber())).toBeUndefined();
      expect((await s.crlStatus(root.id)).last?.crlNumber).toBe(12);
      // The same number recorded again is refused, and the stored CRL is unchanged.
      expect(await codeOf(s.withCrlTransaction(root.id, async (tx) => tx.insertCrl({ ...crl(2), sha256: 'other' }, [Buffer.from('xyz')], ACTOR, AT)))).not.toBe('no error');
      expect((await s.crlDer(root.id, 2))!.toString()).toBe('abc');
      expect((await s.listCrls(root.id)).map((c) => c.sha256)).toEqual(['s2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 's12']);
      expect((await s.auditLog()).filter((r) => r.action === 'crl.generate').map((r) => r.target)).toEqual(['2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
    });
  });

  it('ok/CA lifecycle: revoking a CA certificate revokes the CA in the same transaction; retiring keeps "revoked", skips retired CAs; only a pending CA is activated', async () => {
    await withStore(a, async (s) => {
      const root = await s.createCa(newCa('root'), { issuerId: null, cert: newCert('01') }, ev('ca.init', 'root'), ACTOR, AT);
      const sub = await s.createCa({ ...newCa('sub', root.id), serial: '5b' }, { issuerId: root.id, cert: { ...newCert('5b'), isCa: true } }, ev('ca.create', 'sub'), ACTOR, AT);
      const sub2 = await s.createCa({ ...newCa('sub-2', root.id), serial: '5c' }, { issuerId: root.id, cert: { ...newCert('5c'), isCa: true } }, ev('ca.create', 'sub-2'), ACTOR, AT);
      const pending = await s.createCa({ ...newCa('pending', root.id), status: 'pending', certDer: null, csrDer: Buffer.from('csr'), serial: null, notBefore: null, notAfter: null }, null, ev('ca.csr', 'pending'), ACTOR, AT);
      await s.revoke(root.id, [newRevocation('5b', 4)], ACTOR, AT);
      expect((await s.getCaById(sub.id))?.status).toBe('revoked');
      expect((await s.auditLog()).slice(-2).map((r) => [r.action, r.target])).toEqual([
        ['certificate.revoke', '5b'],
        ['ca.revoked', 'sub'],
      ]);
      const later = new Date('2026-04-01T00:00:00Z');
      expect(await s.retireCas([sub.id, sub2.id, pending.id], [ev('ca.retire', 'sub'), ev('ca.retire', 'sub-2'), ev('ca.retire', 'pending')], ACTOR, later)).toEqual([sub.id, sub2.id]);
      expect(await s.getCaById(sub.id)).toMatchObject({ status: 'revoked', retiredAt: later });
      expect(await s.getCaById(sub2.id)).toMatchObject({ status: 'retired', retiredAt: later });
      expect(await s.retireCas([sub2.id], [ev('ca.retire', 'sub-2')], ACTOR, later)).toEqual([]);
      expect((await s.auditLog()).filter((r) => r.action === 'ca.retire').map((r) => r.target)).toEqual(['sub', 'sub-2']);
      const update = { certDer: Buffer.from('cert of pending'), parentId: root.id, externalChainPem: null, serial: '5d', notBefore: AT, notAfter: new Date('2031-01-01T00:00:00Z'), subjectDn: 'CN=pending' };
      expect(await codeOf(s.activateCa(sub2.id, update, ev('ca.activate', 'sub-2'), ACTOR, AT))).toBe('STATE_CA_NOT_PENDING');
      const active = await s.activateCa(pending.id, update, ev('ca.activate', 'pending'), ACTOR, AT);
      expect(active).toMatchObject({ status: 'active', serial: '5d', notAfter: new Date('2031-01-01T00:00:00Z') });
      expect(active.certDer?.toString()).toBe('cert of pending');
      expect(await codeOf(s.activateCa(pending.id, update, ev('ca.activate', 'pending'), ACTOR, AT))).toBe('STATE_CA_NOT_PENDING');
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
    });
  });

  it('ok/queries: certificate filters, the leaf summary of a rotation, key paths relative to the PKI directory, keys kept in the store', async () => {
    await withStore(a, async (s, ctx) => {
      const root = await s.createCa({ ...newCa('root'), keyPath: `${ctx.dir}/keys/root.key.pem`, keyPem: Buffer.from('PEM of root') }, null, ev('ca.init', 'root'), ACTOR, AT);
      expect(root.keyPath).toBe(`${ctx.dir}/keys/root.key.pem`);
      expect((await s.caKey?.('root'))?.toString()).toBe('PEM of root');
      const day = (d: number) => new Date(AT.getTime() + d * 86_400_000);
      await s.recordIssued(root.id, [newCert('01', day(-1)), newCert('02', day(5)), newCert('03', day(20)), newCert('04', day(40)), { ...newCert('05', day(60)), isCa: true }], ACTOR, AT);
      await s.revoke(root.id, [newRevocation('03')], ACTOR, AT);
      const serials = (cs: Array<{ serial: string }>) => cs.map((c) => c.serial);
      expect(serials(await s.findCertificates({ status: 'expired', now: AT }))).toEqual(['01']);
      expect(serials(await s.findCertificates({ status: 'valid', now: AT }))).toEqual(['02', '04', '05']);
      expect(serials(await s.findCertificates({ status: 'revoked', now: AT }))).toEqual(['03']);
      expect(serials(await s.findCertificates({ expiringWithinSeconds: 30 * 86_400, now: AT }))).toEqual(['02']);
      expect(serials(await s.findCertificates({ now: AT, limit: 2 }))).toEqual(['01', '02']);
      const valid = await s.leafSummary([root.id], AT, { revoked: false, sample: 1 });
      expect(valid.count).toBe(2);
      expect(valid.latestNotAfter).toEqual(day(40));
      expect(serials(valid.sample)).toEqual(['04']);
      expect((await s.leafSummary([root.id], AT, { revoked: false, sample: 5, expiringBy: day(10) })).count).toBe(1);
      expect(serials((await s.leafSummary([root.id], AT, { revoked: true, sample: 5 })).sample)).toEqual(['03']);
      expect(await s.leafSummary([], AT, { revoked: false, sample: 5 })).toEqual({ count: 0, latestNotAfter: null, sample: [] });
    });
  });

  it('ok/publishing: anchors and published CRLs are upserted, listed in order and deleted; targets removed; a finished rotation frees its anchor', async () => {
    await withStore(a, async (s) => {
      const root = await s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
      const next = await s.createCa(newCa('root-2'), null, ev('ca.init', 'root-2'), ACTOR, AT);
      const anchor = { name: 'b1', arn: 'arn:b1', trustAnchorId: 'id-b1', region: 'eu-west-1', caNames: ['root'], bundleSha256: 'cd', updatedAt: AT };
      await s.saveAnchor(anchor, ev('anchor.push', 'b1'), ACTOR, AT);
      await s.saveAnchor({ ...anchor, name: 'a1@t1', anchorName: 'a1', target: 't1' }, ev('anchor.push', 'a1@t1'), ACTOR, AT);
      await s.saveAnchor({ ...anchor, caNames: ['root', 'root-2'], bundleSha256: 'ef' }, ev('anchor.push', 'b1'), ACTOR, AT);
      expect((await s.listAnchors()).map((x) => [x.name, x.anchorName, x.target])).toEqual([
        ['a1@t1', 'a1', 't1'],
        ['b1', 'b1', ''],
      ]);
      expect(await s.getAnchor('b1')).toMatchObject({ caNames: ['root', 'root-2'], bundleSha256: 'ef' });
      const pub = { anchorName: 'b1', issuerId: next.id, crlId: 'crl-1', crlArn: 'arn:crl-1', crlNumber: 1, sha256: 'aa', publishedAt: AT };
      await s.savePublishedCrl(pub, ev('crl.publish', 'b1'), ACTOR, AT);
      await s.savePublishedCrl({ ...pub, issuerId: root.id }, ev('crl.publish', 'b1'), ACTOR, AT);
      await s.savePublishedCrl({ ...pub, crlNumber: 2, sha256: 'bb' }, ev('crl.publish', 'b1'), ACTOR, AT);
      expect((await s.listPublishedCrls('b1')).map((p) => [p.issuerId, p.crlNumber])).toEqual([
        [root.id, 1],
        [next.id, 2],
      ]);
      await s.deletePublishedCrl('b1', root.id, ev('crl.unpublish', 'b1'), ACTOR, AT);
      expect(await s.getPublishedCrl('b1', root.id)).toBeUndefined();
      expect((await s.getPublishedCrl('b1', next.id))?.sha256).toBe('bb');
      const target = (name: string) => ({ name, region: 'eu-west-1', account: '111122223333', awsProfile: null, roleArn: null, endpoint: null, createdAt: AT });
      await s.addTarget(target('z'), ev('target.add', 'z'), ACTOR, AT);
      await s.addTarget(target('m'), ev('target.add', 'm'), ACTOR, AT);
      expect((await s.listTargets()).map((t) => t.name)).toEqual(['m', 'z']);
      await s.removeTarget('z', ev('target.remove', 'z'), ACTOR, AT);
      expect(await s.getTarget('z')).toBeUndefined();
      expect((await s.getTarget('m'))?.account).toBe('111122223333');

      const r = await s.createRotation({ anchorName: 'b1', oldCaId: root.id, newCaId: next.id, anchorChange: true, bundleBefore: ['root'], startedAt: AT }, ev('rotation.start', 'b1'), ACTOR, AT);
      await s.setRotationPhase(r.id, ['starting'], 'aborting', ev('rotation.abort', 'b1'), ACTOR, AT);
      const done = await s.setRotationPhase(r.id, ['aborting'], 'aborted', ev('rotation.aborted', 'b1'), ACTOR, AT);
      expect(done.endedAt).toEqual(AT);
      expect(await s.openRotation('b1')).toBeUndefined();
      const again = await s.createRotation({ anchorName: 'b1', oldCaId: root.id, newCaId: next.id, anchorChange: false, bundleBefore: ['root', 'root-2'], startedAt: AT }, ev('rotation.start', 'b1'), ACTOR, AT);
      expect((await s.listRotations('b1')).map((x) => [x.id, x.phase, x.anchorChange])).toEqual([
        [r.id, 'aborted', true],
        [again.id, 'starting', false],
      ]);
      expect(await s.listRotations('elsewhere')).toEqual([]);
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
    });
  });

  it('fail/an import whose source throws part-way commits nothing', async () => {
    await withStore(a, async (s) => {
      async function* failing(): AsyncGenerator<ImportedEntry> {
        for (let i = 0; i < 50; i++) yield { where: `index.txt:${i + 1}`, cert: newCert((0x100 + i).toString(16)), revocation: i % 2 ? newRevocation((0x100 + i).toString(16)) : null };
        throw new PkiError('IO_READ_FAILED', 'index.txt: read error');
      }
      expect(await codeOf(s.importCaWithHistory(newCa('old'), failing(), { tool: 'openssl-ca', nextCrlNumber: null, crlNumberSource: null }, ev('ca.import-history', 'old'), ACTOR, AT))).toBe('IO_READ_FAILED');
      expect(await s.listCas()).toEqual([]);
      expect(await s.certificateKeys()).toEqual([]);
      expect(await s.revocationKeys()).toEqual([]);
      expect(await s.auditLog()).toEqual([]);
      // The store is usable afterwards, and ids are not a concern of the caller.
      const root = await rootWithCerts(s, ['0a']);
      expect((await s.getCertificates('0a', root.id)).length).toBe(1);
    });
  });

  it('ok/records hold copies of the stored bytes: changing a returned or a passed-in buffer never changes the store', async () => {
    await withStore(a, async (s) => {
      const der = Buffer.from('der of 0a');
      const root = await s.createCa({ ...newCa('root'), keyPem: Buffer.from('PEM of root') }, null, ev('ca.init', 'root'), ACTOR, AT);
      await s.recordIssued(root.id, [{ ...newCert('0a'), der }], ACTOR, AT);
      der.fill(0);
      (await s.getCertificates('0a', root.id))[0]!.der.fill(0);
      (await s.getCa('root'))!.certDer!.fill(0);
      (await s.caKey?.('root'))?.fill(0);
      expect((await s.getCertificates('0a', root.id))[0]!.der.toString()).toBe('der of 0a');
      expect((await s.getCa('root'))!.certDer!.toString()).toBe('cert of root');
      expect((await s.caKey?.('root'))?.toString()).toBe('PEM of root');
    });
  });

  it('fail/a store whose schema is newer than this pki is refused: STATE_STORE_TOO_NEW', async () => {
    const ctx = await a.fresh();
    await ctx.store.close();
    await ctx.setSchemaVersion(999);
    expect(await codeOf(ctx.open())).toBe('STATE_STORE_TOO_NEW');
  });

  it('ok/a second connection (another process or node) sees every committed change at once', async () => {
    await withStore(a, async (s, ctx) => {
      const other = await ctx.open();
      try {
        const root = await rootWithCerts(s, ['0a']);
        expect((await other.getCertificates('0a', root.id)).length).toBe(1);
        await other.revoke(root.id, [newRevocation('0a')], ACTOR, AT);
        expect((await s.getCertificates('0a', root.id))[0]!.revocation?.reason).toBe(1);
        expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
      } finally {
        await other.close();
      }
    });
  });

  // ---- Store.transaction: several calls committed together or not at all -----------------------------------------

  const target = (name: string) => ({ name, region: 'eu-west-1', account: null, awsProfile: null, roleArn: null, endpoint: null, createdAt: AT });
  const anchor = (name: string) => ({ name, arn: `arn:${name}`, trustAnchorId: `id-${name}`, region: 'eu-west-1', caNames: ['root'], bundleSha256: 'cd', updatedAt: AT });
  const crlOf = (issuerId: number, n: number) => ({ issuerId, crlNumber: n, thisUpdate: AT, nextUpdate: new Date('2026-03-08T12:00:00Z'), entries: 1, pruned: 0, reasons: true, derSize: 3, pemSize: 9, sha256: `s${n}`, revocationEpoch: 1, createdAt: AT });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('ok/transaction: several writes of different repositories commit together, read their own writes inside, and chain their audit rows in call order', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a', '0b']);
      const before = (await s.auditLog()).length;
      const result = await s.transaction(async (tx) => {
        expect((await tx.recordIssued(root.id, [newCert('0c')], ACTOR, AT)).collisions).toEqual([]);
        await tx.revoke(root.id, [newRevocation('0a')], ACTOR, AT);
        await tx.addTarget(target('t1'), ev('target.add', 't1'), ACTOR, AT);
        await tx.saveAnchor(anchor('a1'), ev('anchor.push', 'a1'), ACTOR, AT);
        await tx.startBatch(root.id, '/csr', '/out', 1, AT);
        // Its own writes are visible inside.
        expect(await tx.getCertificates('0c', root.id)).toHaveLength(1);
        expect((await tx.crlStatus(root.id)).epoch).toBe(1);
        expect(await tx.getTarget('t1')).toBeDefined();
        return 'done';
      });
      expect(result).toBe('done');
      expect(await s.getCertificates('0c', root.id)).toHaveLength(1);
      expect((await s.getCertificates('0a', root.id))[0]!.revocation?.reason).toBe(1);
      expect(await s.getTarget('t1')).toBeDefined();
      expect(await s.getAnchor('a1')).toBeDefined();
      expect(await s.latestBatch(root.id, '/csr', '/out')).toBeDefined();
      const log = await s.auditLog();
      expect(log.slice(before).map((r) => [r.seq, r.action])).toEqual([
        [before + 1, 'certificate.issue'],
        [before + 2, 'certificate.revoke'],
        [before + 3, 'target.add'],
        [before + 4, 'anchor.push'],
      ]);
      expect(verifyAuditChain(log)).toBeUndefined();
    });
  });

  it('fail/transaction: a throw rolls back every write, audit rows included, and is rethrown as it was; the chain still verifies and goes on', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a', '0b']);
      const before = await s.auditLog();
      const boom = new Error('the body failed');
      let caught: unknown;
      try {
        await s.transaction(async (tx) => {
          await tx.recordIssued(root.id, [newCert('0c')], ACTOR, AT);
          await tx.revoke(root.id, [newRevocation('0a')], ACTOR, AT);
          await tx.addTarget(target('t1'), ev('target.add', 't1'), ACTOR, AT);
          await tx.createCa(newCa('sub', root.id), { issuerId: root.id, cert: newCert('0d') }, ev('ca.create', 'sub'), ACTOR, AT);
          await sleep(5);
          throw boom;
        });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBe(boom);
      // A PkiError from the body comes back as it is too.
      expect(await codeOf(s.transaction(async (tx) => {
        await tx.addTarget(target('t2'), ev('target.add', 't2'), ACTOR, AT);
        throw new PkiError('STATE_TEST', 'refused');
      }))).toBe('STATE_TEST');
      expect(await s.getCertificates('0c', root.id)).toHaveLength(0);
      expect(await s.getCertificates('0d', root.id)).toHaveLength(0);
      expect(await s.revocationKeys()).toEqual([]);
      expect((await s.crlStatus(root.id)).epoch).toBe(0);
      expect(await s.listTargets()).toEqual([]);
      expect(await s.getCa('sub')).toBeUndefined();
      expect(await s.auditLog()).toEqual(before);
      // The chain goes on from where it was.
      await s.addTarget(target('t3'), ev('target.add', 't3'), ACTOR, AT);
      const log = await s.auditLog();
      expect(log.map((r) => r.seq)).toEqual([...before.map((r) => r.seq), before.length + 1]);
      expect(verifyAuditChain(log)).toBeUndefined();
    });
  });

  it('ok/transaction isolation: a call on the same store waits until it settles; another connection never sees its uncommitted rows', async () => {
    await withStore(a, async (s, ctx) => {
      const root = await rootWithCerts(s, ['0a']);
      const other = await ctx.open();
      try {
        let opened!: () => void;
        let release!: () => void;
        const inTx = new Promise<void>((r) => (opened = r));
        const proceed = new Promise<void>((r) => (release = r));
        let released = false;
        const t = s.transaction(async (tx) => {
          await tx.recordIssued(root.id, [newCert('0e')], ACTOR, AT);
          await tx.addTarget(target('t1'), ev('target.add', 't1'), ACTOR, AT);
          opened();
          await proceed;
        });
        await inTx;
        // The same store, another part of the program: waits for the transaction.
        let sameDone = false;
        const same = s.getCertificates('0e', root.id).then((r) => ((sameDone = true), r));
        // Another connection: either it does not see the rows yet, or it waited for the commit (in-memory).
        const seen = other.getCertificates('0e', root.id).then((r) => ({ rows: r.length, released }));
        const targets = other.listTargets().then((r) => ({ rows: r.length, released }));
        await sleep(50);
        expect(sameDone).toBe(false);
        released = true;
        release();
        await t;
        expect(await same).toHaveLength(1);
        for (const r of [await seen, await targets]) if (!r.released) expect(r.rows).toBe(0);
        expect(await other.getCertificates('0e', root.id)).toHaveLength(1);
        expect(await other.getTarget('t1')).toBeDefined();
        expect(verifyAuditChain(await other.auditLog())).toBeUndefined();
      } finally {
        await other.close();
      }
    });
  });

  it('ok/nested transactions join as savepoints: an inner one commits with the outer, rolls back alone when it throws, and with the outer when the outer throws; side-by-side inner ones run one after the other', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a']);
      await s.transaction(async (tx) => {
        await tx.transaction(async (t2) => {
          await t2.recordIssued(root.id, [newCert('0c')], ACTOR, AT);
        });
        expect(
          await codeOf(
            tx.transaction(async (t2) => {
              await t2.addTarget(target('t1'), ev('target.add', 't1'), ACTOR, AT);
              // Deeper still: joins too.
              await s.transaction(async (t3) => t3.saveAnchor(anchor('a1'), ev('anchor.push', 'a1'), ACTOR, AT));
              throw new PkiError('STATE_TEST', 'inner');
            }),
          ),
        ).toBe('STATE_TEST');
        expect(await tx.getTarget('t1')).toBeUndefined();
        expect(await tx.getAnchor('a1')).toBeUndefined();
        expect(await tx.getCertificates('0c', root.id)).toHaveLength(1);
        // Side by side: the second starts when the first has settled; the first's failure keeps nothing of it.
        const order: string[] = [];
        await Promise.all([
          tx
            .transaction(async (t2) => {
              order.push('first begins');
              await t2.recordIssued(root.id, [newCert('1a')], ACTOR, AT);
              await sleep(20);
              order.push('first ends');
              throw new PkiError('STATE_TEST', 'first');
            })
            .catch(() => undefined),
          tx.transaction(async (t2) => {
            order.push('second begins');
            await t2.recordIssued(root.id, [newCert('1b')], ACTOR, AT);
          }),
        ]);
        expect(order.indexOf('second begins')).toBeGreaterThan(order.indexOf('first ends'));
      });
      expect(await s.getCertificates('0c', root.id)).toHaveLength(1);
      expect(await s.getCertificates('1a', root.id)).toHaveLength(0);
      expect(await s.getCertificates('1b', root.id)).toHaveLength(1);
      expect(await s.getTarget('t1')).toBeUndefined();
      expect(await s.getAnchor('a1')).toBeUndefined();
      // The outer throwing takes a committed inner one with it.
      await expect(
        s.transaction(async (tx) => {
          await tx.transaction(async (t2) => t2.addTarget(target('t2'), ev('target.add', 't2'), ACTOR, AT));
          throw new PkiError('STATE_TEST', 'outer');
        }),
      ).rejects.toThrow('outer');
      expect(await s.getTarget('t2')).toBeUndefined();
      expect((await s.auditLog()).map((r) => r.action)).toEqual(['ca.init', 'certificate.issue', 'certificate.issue', 'certificate.issue']);
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
      // The tx handed to the body is refused once the transaction has ended.
      let kept!: Parameters<Parameters<Store['transaction']>[0]>[0];
      await s.transaction(async (tx) => {
        kept = tx;
      });
      expect(await codeOf(kept.getCa('root'))).toBe('INTERNAL_TRANSACTION_ENDED');
      expect(await codeOf(kept.addTarget(target('t9'), ev('target.add', 't9'), ACTOR, AT))).toBe('INTERNAL_TRANSACTION_ENDED');
      expect(await s.getTarget('t9')).toBeUndefined();
      expect((kept as unknown as Record<string, unknown>).close).toBeUndefined();
    });
  });

  it('ok/a CRL transaction inside a transaction joins it (committed or rolled back with it); a transaction inside a CRL transaction body joins that', async () => {
    await withStore(a, async (s) => {
      const root = await rootWithCerts(s, ['0a', '0b']);
      const run = (fail: boolean) =>
        s.transaction(async (tx) => {
          await tx.revoke(root.id, [newRevocation('0a')], ACTOR, AT);
          await tx.withCrlTransaction(root.id, async (crl) => {
            expect(await crl.revocationEpoch()).toBe(1);
            expect(await crl.revocationStatus('0a')).toMatchObject({ revoked: true });
            const n = ((await crl.lastReservedCrlNumber()) ?? 0) + 1;
            await crl.reserveCrlNumber(n, AT);
            await crl.insertCrl(crlOf(root.id, n), [Buffer.from('abc')], ACTOR, AT);
          });
          if (fail) throw new PkiError('STATE_TEST', 'after the CRL');
        });
      expect(await codeOf(run(true))).toBe('STATE_TEST');
      expect(await s.revocationKeys()).toEqual([]);
      expect(await s.listCrls(root.id)).toEqual([]);
      expect(await s.withCrlTransaction(root.id, async (crl) => crl.lastReservedCrlNumber())).toBeUndefined();
      expect((await s.auditLog()).map((r) => r.action)).toEqual(['ca.init', 'certificate.issue', 'certificate.issue']);
      await run(false);
      expect((await s.listCrls(root.id)).map((c) => c.crlNumber)).toEqual([1]);
      expect((await s.crlStatus(root.id)).epoch).toBe(1);
      expect((await s.auditLog()).slice(3).map((r) => r.action)).toEqual(['certificate.revoke', 'crl.generate']);

      // The other way round: transactions from a CRL transaction's body are savepoints in it.
      await s.withCrlTransaction(root.id, async (crl) => {
        await crl.reserveCrlNumber(2, AT);
        expect(await codeOf(s.transaction(async (tx) => {
          await tx.recordIssued(root.id, [newCert('0c')], ACTOR, AT);
          throw new PkiError('STATE_TEST', 'inner');
        }))).toBe('STATE_TEST');
        await s.transaction(async (tx) => tx.addTarget(target('t1'), ev('target.add', 't1'), ACTOR, AT));
      });
      expect(await s.withCrlTransaction(root.id, async (crl) => crl.lastReservedCrlNumber())).toBe(2);
      expect(await s.getCertificates('0c', root.id)).toHaveLength(0);
      expect(await s.getTarget('t1')).toBeDefined();
      expect(verifyAuditChain(await s.auditLog())).toBeUndefined();
    });
  });

  it('ok/transactions on two connections at once (two processes or nodes): every change kept, the audit log one chain', async () => {
    // SQLite: another connection in this process would wait for the write lock synchronously (blocking the event
    // loop that must finish the first transaction); two processes are covered by the CLI concurrency tests.
    if (a.name === 'sqlite') return;
    await withStore(a, async (s, ctx) => {
      const root = await rootWithCerts(s, ['0a']);
      const other = await ctx.open();
      try {
        const work = (store: Store, prefix: string) =>
          Array.from({ length: 4 }, (_, i) =>
            store.transaction(async (tx) => {
              await tx.recordIssued(root.id, [newCert(`${prefix}${i}`)], ACTOR, AT);
              await sleep(2);
              await tx.addTarget(target(`${prefix}-t${i}`), ev('target.add', `${prefix}-t${i}`), ACTOR, AT);
              if (i === 3) throw new PkiError('STATE_TEST', 'the last one fails');
            }),
          );
        const settled = await Promise.allSettled([...work(s, 'a'), ...work(other, 'b'), s.revoke(root.id, [newRevocation('0a')], ACTOR, AT)]);
        expect(settled.filter((r) => r.status === 'rejected')).toHaveLength(2);
        expect((await s.listTargets()).map((t) => t.name).sort()).toEqual(['a-t0', 'a-t1', 'a-t2', 'b-t0', 'b-t1', 'b-t2']);
        expect(await s.getCertificates('a3', root.id)).toHaveLength(0);
        const log = await other.auditLog();
        expect(log).toHaveLength(2 + 12 + 1);
        expect(verifyAuditChain(log)).toBeUndefined();
        // Each transaction's rows are one stretch of the chain.
        for (const p of ['a', 'b'])
          for (let i = 0; i < 3; i++) {
            const k = log.findIndex((r) => r.target === `${p}${i}`);
            expect(log[k + 1]).toMatchObject({ action: 'target.add', target: `${p}-t${i}` });
          }
      } finally {
        await other.close();
      }
    });
  });

  it('ok/PostgreSQL: an open transaction holds no audit lock before its commit: another node revoking meanwhile is not held up, and the two cannot deadlock', async () => {
    // SQLite and the in-memory store: one writer at a time (another connection waits for the whole transaction).
    if (a.name !== 'postgres') return;
    await withStore(a, async (s, ctx) => {
      const root = await rootWithCerts(s, ['0a']);
      const other = await ctx.open();
      try {
        let wrote!: () => void;
        let proceed!: () => void;
        const firstWrite = new Promise<void>((r) => (wrote = r));
        const go = new Promise<void>((r) => (proceed = r));
        const t = s.transaction(async (tx) => {
          await tx.addTarget(target('t1'), ev('target.add', 't1'), ACTOR, AT);
          wrote();
          await go;
          // The other node revoked it meanwhile (its row lock, then the audit lock, then its commit).
          expect(await codeOf(tx.revoke(root.id, [newRevocation('0a')], ACTOR, AT))).toBe('STATE_ALREADY_REVOKED');
          await tx.saveAnchor(anchor('a1'), ev('anchor.push', 'a1'), ACTOR, AT);
        });
        await firstWrite;
        // Another node's change: it appends to the audit chain while the transaction is open, without waiting.
        let otherDone = false;
        const revoked = other.revoke(root.id, [newRevocation('0a')], ACTOR, AT).then(() => (otherDone = true));
        await Promise.race([revoked, sleep(5000)]);
        expect(otherDone).toBe(true);
        proceed();
        await t;
        const log = await s.auditLog();
        expect(log.slice(2).map((r) => [r.action, r.target])).toEqual([
          ['certificate.revoke', '0a'],
          ['target.add', 't1'],
          ['anchor.push', 'a1'],
        ]);
        expect(verifyAuditChain(log)).toBeUndefined();
      } finally {
        await other.close();
      }
    });
  });
});
