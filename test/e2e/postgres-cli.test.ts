/**
 * the CLI on a PostgreSQL store: init → create → issue → revoke → crl generate → verify → audit verify, against a
 * throwaway cluster (skipped, with the reason printed, where no PostgreSQL binaries are installed).
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, makeDeps, tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';
import { decodeCrl, walkCrlEntries } from '../../src/x509/crl.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';

const cluster = await startPostgres();
if ('skip' in cluster) console.log(`PostgreSQL CLI tests skipped: ${cluster.skip}`);
afterAll(async () => {
  if ('stop' in cluster) await cluster.stop();
});

const crlSerials = (file: string): string[] => {
  const crl = decodeCrl(decodePemBlocks(fs.readFileSync(file, 'utf8'), file)[0]!.der, file);
  const out: string[] = [];
  walkCrlEntries(crl, file, (e) => out.push(e.serialHex));
  return out.sort();
};

describe.skipIf('skip' in cluster)('pki on a PostgreSQL store', () => {
  it('ok/lifecycle: init --store, ca create, issue, revoke, crl generate, crl verify and audit verify; the store URL is in pki.yaml, no pki.db', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('cli_lifecycle');
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'node-a');
    const ok = async (argv: string[]) => {
      const r = await cli([...argv, '--dir', dir, '--json'], deps);
      if (r.code !== 0) throw new Error(`${argv.join(' ')} → ${r.code}: ${r.stdout}${r.stderr}`);
      return r.json.data;
    };
    const init = await ok(['init', '--subject', 'CN=PG Root', '--no-passphrase', '--store', url]);
    expect(init.store).toBe(url);
    expect(fs.readFileSync(join(dir, 'pki.yaml'), 'utf8')).toContain(`url: "${url}"`);
    expect(fs.existsSync(join(dir, 'pki.db'))).toBe(false);
    // The unencrypted-key warning names where the key is kept: the shared store, not the file written on the way.
    expect(deps.err.join('')).toContain('store:root (in the shared store) is stored UNENCRYPTED');
    expect(deps.err.join('')).not.toContain('root.key.pem');
    await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=PG Issuing 1', '--no-passphrase']);
    expect(deps.err.join('')).toContain('store:issuing-1 (in the shared store) is stored UNENCRYPTED');
    const serials: string[] = [];
    for (let i = 0; i < 3; i++) serials.push((await ok(['issue', '--ca', 'issuing-1', '--subject', `CN=host-${i}`, '--out', join(cwd, `h${i}.pem`), '--key-out', join(cwd, `h${i}.key`)])).serial);
    await ok(['revoke', '--serial', serials[1]!, '--ca', 'issuing-1', '--reason', 'keyCompromise']);
    const crl = await ok(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'i1.crl')]);
    expect(crl.crl).toMatchObject({ crlNumber: 1, entries: 1 });
    expect(crlSerials(join(cwd, 'i1.crl'))).toEqual([serials[1]]);
    const second = await ok(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'i1b.crl')]);
    expect(second.crl.crlNumber).toBe(2);
    const chain = join(cwd, 'chain.pem');
    fs.writeFileSync(chain, (await cli(['ca', 'export', 'issuing-1', '--dir', dir], deps)).stdout);
    const anchor = join(cwd, 'root.pem');
    fs.writeFileSync(anchor, (await cli(['ca', 'export', 'root', '--dir', dir], deps)).stdout);
    const good = await cli(['verify', '--cert', join(cwd, 'h0.pem'), '--chain', chain, '--anchor-bundle', anchor, '--crl', join(cwd, 'i1b.crl')], deps);
    expect(good.code).toBe(0);
    const revoked = await cli(['verify', '--cert', join(cwd, 'h1.pem'), '--chain', chain, '--anchor-bundle', anchor, '--crl', join(cwd, 'i1b.crl')], deps);
    expect(revoked.code).toBe(11);
    expect(revoked.stdout + revoked.stderr).toMatch(/revoked/i);
    const audit = await cli(['audit', 'verify', '--dir', dir, '--json'], deps);
    expect(audit.code).toBe(0);
    expect(audit.json.data).toMatchObject({ intact: true });
    const list = await ok(['list', '--ca', 'issuing-1']);
    expect(JSON.stringify(list)).toContain(serials[2]);
  });

  it('ok/pki node join: a second directory on the same database sees every record at once and signs with the CA keys kept in the store (encrypted, the operators\' passphrase)', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('cli_join');
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: 'operators passphrase' } });
    const [a, b] = [join(cwd, 'node-a'), join(cwd, 'node-b')];
    const on = (dir: string) => async (argv: string[]) => {
      const r = await cli([...argv, '--dir', dir, '--json'], deps);
      if (r.code !== 0) throw new Error(`${argv.join(' ')} → ${r.code}: ${r.stdout}${r.stderr}`);
      return r.json.data;
    };
    await on(a)(['init', '--subject', 'CN=Shared Root', '--store', url, '--pbkdf2-iterations', '10000']);
    const created = await on(a)(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Shared Issuing 1']);
    expect(created.keyFile).toBe('store:issuing-1');
    expect(created.keyEncrypted).toBe(true);
    // The keys live in the store, not in node A's key directory.
    expect(fs.readdirSync(join(a, 'keys'))).toEqual([]);
    const joined = await on(b)(['node', 'join', '--store', url]);
    expect(joined.cas.map((c: { name: string; access: string }) => [c.name, c.access])).toEqual([
      ['root', 'store'],
      ['issuing-1', 'store'],
    ]);
    expect(joined.needs.join('\n')).toMatch(/passphrase of CA issuing-1/);
    expect(fs.readFileSync(join(b, 'pki.yaml'), 'utf8')).toContain(`url: "${url}"`);
    const leaf = await on(b)(['issue', '--ca', 'issuing-1', '--subject', 'CN=from-b', '--out', join(cwd, 'b.pem'), '--key-out', join(cwd, 'b.key')]);
    expect(JSON.stringify(await on(a)(['show', leaf.serial]))).toContain('CN=from-b');
    await on(a)(['revoke', '--serial', leaf.serial, '--ca', 'issuing-1']);
    const crlB = await on(b)(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'b.crl')]);
    expect(crlSerials(join(cwd, 'b.crl'))).toEqual([leaf.serial]);
    const crlA = await on(a)(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'a.crl')]);
    expect(crlA.crl.crlNumber).toBe(crlB.crl.crlNumber + 1);
    // A wrong passphrase on node B cannot sign.
    const wrong = await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=x', '--out', join(cwd, 'x.pem'), '--key-out', join(cwd, 'x.key'), '--dir', b], makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: 'not it' } }));
    expect(wrong.code).toBe(7);
    expect((await cli(['audit', 'verify', '--dir', b, '--json'], deps)).json.data).toMatchObject({ intact: true });
    // Joining twice, or a store with no PKI, is refused.
    expect((await cli(['node', 'join', '--dir', b, '--store', url], deps)).code).toBe(6);
    const empty = await cluster.createDb('cli_join_empty');
    const r = await cli(['node', 'join', '--dir', join(cwd, 'node-c'), '--store', empty], deps);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/STATE_STORE_EMPTY/);
    expect(fs.existsSync(join(cwd, 'node-c'))).toBe(false);
  });

  it('ok/pki node join is recorded in the shared audit chain: host, directory and the store URL without its password, seen from either node; a join whose audit row cannot be written leaves nothing', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('cli_join_audit');
    // Trust authentication: the password is never asked for, so it only has to stay out of what is recorded.
    const withPassword = url.replace('postgres://pki@', 'postgres://pki:join-s3cret@');
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const [a, b, c] = [join(cwd, 'node-a'), join(cwd, 'node-b'), join(cwd, 'node-c')];
    const on = (dir: string) => async (argv: string[]) => {
      const r = await cli([...argv, '--dir', dir, '--json'], deps);
      if (r.code !== 0) throw new Error(`${argv.join(' ')} → ${r.code}: ${r.stdout}${r.stderr}`);
      return r.json.data;
    };
    await on(a)(['init', '--subject', 'CN=Audited Root', '--no-passphrase', '--store', url]);
    const before = (await on(a)(['audit', 'log'])) as Array<{ seq: number }>;
    const joined = await on(b)(['node', 'join', '--store', withPassword]);
    expect(joined.audit.seq).toBe(before.length + 1);
    const text = await cli(['node', 'join', '--dir', join(cwd, 'node-t'), '--store', url], deps);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`audit row #${before.length + 2}`));
    for (const dir of [a, b]) {
      const log = (await on(dir)(['audit', 'log'])) as Array<{ seq: number; at: string; actor: string; action: string; target: string; details: Record<string, unknown>; hash: string }>;
      const row = log.find((r) => r.seq === joined.audit.seq)!;
      expect(row).toMatchObject({ action: 'node.join', target: `${hostname()}:${b}`, actor: 'tester@test', at: deps.now().toISOString(), hash: joined.audit.hash });
      expect(row.details).toEqual({ host: hostname(), dir: b, config: join(b, 'pki.yaml'), store: withPassword.replace('join-s3cret', '***'), cas: 1 });
      expect(JSON.stringify(log)).not.toContain('join-s3cret');
      const v = await cli(['audit', 'verify', '--dir', dir, '--json'], deps);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(v.json.data).toMatchObject({ intact: true, rows: before.length + 2 });
    }
    // A join refused before anything is written records nothing.
    expect((await cli(['node', 'join', '--dir', b, '--store', url], deps)).code).toBe(6);
    // The audit row is written last: when it cannot be, the new node directory is removed again.
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await db.query("CREATE TRIGGER audit_refuse BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION pki_refuse_change('audit refused for the test')");
      const refused = await cli(['node', 'join', '--dir', c, '--store', url], deps);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/audit refused for the test/);
      expect(fs.existsSync(c)).toBe(false);
      await db.query('DROP TRIGGER audit_refuse ON audit');
    } finally {
      await db.end();
    }
    expect(((await on(a)(['audit', 'log'])) as unknown[]).length).toBe(before.length + 2);
    expect((await on(c)(['node', 'join', '--store', url])).audit.seq).toBe(before.length + 3);
    expect((await on(c)(['audit', 'verify'])).intact).toBe(true);
  });

  it('fail/pki init --store on a database that already holds a PKI: STATE_STORE_NOT_EMPTY (exit 6), nothing written', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('cli_not_empty');
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    expect((await cli(['init', '--dir', join(cwd, 'a'), '--subject', 'CN=A', '--no-passphrase', '--store', url], deps)).code).toBe(0);
    const r = await cli(['init', '--dir', join(cwd, 'b'), '--subject', 'CN=B', '--no-passphrase', '--store', url], deps);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/STATE_STORE_NOT_EMPTY/);
    expect(r.stderr).toMatch(/pki node join/);
    expect(fs.existsSync(join(cwd, 'b'))).toBe(false);
  });

  it('fail/an unreachable store is STORE_UNAVAILABLE (exit 12) and the password in the URL is never printed', async () => {
    if (!('stop' in cluster)) return;
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const url = `postgres://pki:s3cret-pw@127.0.0.1:1/nothing`;
    const r = await cli(['init', '--dir', join(cwd, 'x'), '--subject', 'CN=X', '--no-passphrase', '--store', url], deps);
    expect(r.code).toBe(12);
    expect(r.stderr).toMatch(/STORE_UNAVAILABLE/);
    expect(r.stderr).toContain('postgres://pki:***@127.0.0.1:1/nothing');
    expect(r.stderr + r.stdout).not.toContain('s3cret-pw');
    expect(fs.existsSync(join(cwd, 'x'))).toBe(false);
    const j = await cli(['init', '--dir', join(cwd, 'x'), '--subject', 'CN=X', '--no-passphrase', '--store', url, '--json'], deps);
    expect(j.stdout).not.toContain('s3cret-pw');
    expect(j.json.error.code).toBe('STORE_UNAVAILABLE');
  });

  it('fail/pki backup on a PostgreSQL store points to pg_dump (exit 2), and writes nothing', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('cli_backup');
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    expect((await cli(['init', '--dir', join(cwd, 'a'), '--subject', 'CN=A', '--no-passphrase', '--store', url], deps)).code).toBe(0);
    const r = await cli(['backup', '--dir', join(cwd, 'a'), '--out', join(cwd, 'a.tar')], deps);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/USAGE_BACKUP_UNSUPPORTED/);
    expect(r.stderr).toMatch(/pg_dump/);
    expect(fs.existsSync(join(cwd, 'a.tar'))).toBe(false);
  });
});
