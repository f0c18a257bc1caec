/**
 * the in-memory store adapter (src/adapters/store/memory.ts) as the store factory opens it: `memory:NAME` names a database
 * of this process, shared by every connection opened on it; it is never created implicitly, and pki init refuses it
 * (not durable). Its behaviour as a store is checked by test/store/contract.test.ts with the other adapters.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { defaultStoreFactory } from '../../src/adapters/store/factory.js';
import { MemoryDatabase, MemoryStore } from '../../src/adapters/store/memory.js';
import { storeKind } from '../../src/adapters/store/url.js';
import { verifyAuditChain } from '../../src/domain/audit.js';
import { cli, fixture, makeDeps, tempDir } from '../helpers.js';
import { ACTOR, AT, ev, memoryStoreFactory, newCa, newCert } from './fixtures.js';

const where = (dir: string) => ({ baseDir: dir, keysDir: join(dir, 'keys') });

describe('in-memory store', () => {
  it('ok/memory:NAME is one database of this process: a second open sees the first connection\'s changes, also after it closed', async () => {
    const dir = tempDir('pki-memory-');
    expect(storeKind('memory:shared')).toBe('memory');
    const a = await defaultStoreFactory.open('memory:shared-1', where(dir), { create: true });
    const root = await a.createCa(newCa('root'), { issuerId: null, cert: newCert('01') }, ev('ca.init', 'root'), ACTOR, AT);
    await a.close();
    const b = await defaultStoreFactory.open('memory:shared-1', where(dir), { create: false });
    expect((await b.getCa('root'))?.id).toBe(root.id);
    expect(await b.getCertificates('01', root.id)).toHaveLength(1);
    // Another name is another database.
    const c = await defaultStoreFactory.open('memory:shared-2', where(dir), { create: true });
    expect(await c.listCas()).toEqual([]);
  });

  it('fail/a memory: store that this process did not create is NOT_FOUND_STORE (nothing is created by opening it)', async () => {
    const dir = tempDir('pki-memory-');
    let err: unknown;
    try {
      await defaultStoreFactory.open('memory:never-created', where(dir), { create: false, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PkiError);
    expect((err as PkiError).code).toBe('NOT_FOUND_STORE');
    expect((err as PkiError).message).toMatch(/memory:never-created.*not durable/);
    expect((err as PkiError).exitCode).toBe(5);
  });

  it('fail/pki init --store memory:NAME is refused (USAGE_BAD_STORE_URL, exit 2): an in-memory store is not durable; nothing is written', async () => {
    const parent = tempDir('pki-memory-');
    const dir = join(parent, 'pki');
    const deps = makeDeps(parent);
    const r = await cli(['init', '--dir', dir, '--subject', 'CN=Memory Root', '--no-passphrase', '--store', 'memory:x', '--json'], deps);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE_BAD_STORE_URL');
    expect(existsSync(dir)).toBe(false);
  });

  it('ok/a closed connection refuses further calls; the database stays for other connections', async () => {
    const db = new MemoryDatabase();
    const s = MemoryStore.open(db);
    await s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
    s.close();
    await expect(s.listCas()).rejects.toThrow(/closed/);
    expect((await MemoryStore.open(db).listCas()).map((c) => c.name)).toEqual(['root']);
  });

  it('ok/the commands run unchanged on the in-memory store given as Deps.storeFactory: init, ca create, issue, revoke, crl generate, audit verify; no database file', async () => {
    const cwd = tempDir('pki-memory-');
    const dir = join(cwd, 'pki');
    const factory = memoryStoreFactory();
    const deps = { ...makeDeps(cwd), storeFactory: factory };
    const ok = async (argv: string[]) => {
      const r = await cli([...argv, '--dir', dir, '--json'], deps);
      expect(r.code, `${argv.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
      return r.json.data;
    };
    await ok(['init', '--subject', 'CN=Memory Root', '--no-passphrase']);
    await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Memory Issuing 1', '--no-passphrase']);
    const a = await ok(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'a.pem')]);
    const b = await ok(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'b.pem')]);
    await ok(['revoke', '--ca', 'issuing-1', '--serial', a.serial]);
    await ok(['crl', 'generate', '--ca', 'issuing-1']);
    await ok(['audit', 'verify']);
    expect(existsSync(join(dir, 'pki.db'))).toBe(false);
    const store = MemoryStore.open(factory.databases.get(dir)!, { baseDir: dir });
    const issuing = (await store.getCa('issuing-1'))!;
    expect((await store.getCertificates(a.serial, issuing.id))[0]?.revocation?.reason).toBeDefined();
    expect((await store.getCertificates(b.serial, issuing.id))[0]?.revocation).toBeNull();
    expect((await store.listCrls(issuing.id)).map((c) => [c.crlNumber, c.entries])).toEqual([[1, 1]]);
    const log = await store.auditLog();
    expect(log.map((r) => r.action)).toEqual(['ca.init', 'ca.create', 'certificate.issue', 'certificate.issue', 'certificate.revoke', 'crl.generate']);
    expect(verifyAuditChain(log)).toBeUndefined();
  });
});
