/** store URLs: the password is redacted from every form of a PostgreSQL URL that is printed. */
import * as fs from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { redactIn, redactUrl } from '../../src/adapters/store/url.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

/** The password node-postgres itself takes from the URL (what must never be printed). */
const pgPassword = (url: string): string => String((new pg.Client({ connectionString: url }) as unknown as { connectionParameters: { password?: unknown } }).connectionParameters.password ?? '');

describe('redactUrl / redactIn', () => {
  const cases: Array<[string, string]> = [
    ['postgres://pki:p@ssWORD@127.0.0.1:1/db', 'postgres://pki:***@127.0.0.1:1/db'],
    ['postgres://pki:p@ss@WORD@db.example/pki?sslmode=require', 'postgres://pki:***@db.example/pki?sslmode=require'],
    ['postgres://pki:p%40ssWORD@db.example/pki', 'postgres://pki:***@db.example/pki'],
    ['postgresql://pki:pa:ssWORD@db.example:5433/pki', 'postgresql://pki:***@db.example:5433/pki'],
    ['postgres://pki:s3cretWORD@[::1]:5432/pki', 'postgres://pki:***@[::1]:5432/pki'],
    ['postgres://pki@db.example/pki', 'postgres://pki@db.example/pki'],
    ['postgres://[::1]:5432/pki', 'postgres://[::1]:5432/pki'],
    ['postgres://pki@db.example/pki?sslmode=require&password=qu@eryWORD', 'postgres://pki@db.example/pki?sslmode=require&password=***'],
    ['postgres://pki:a@bWORD@db.example/pki?password=otherWORD#x', 'postgres://pki:***@db.example/pki?password=***#x'],
    // A "?" in the password ends the authority: node-postgres reads host pki, port 12; what was meant as the password is hidden anyway.
    ['postgres://pki:12?ssWORD@db.example/pki', 'postgres://pki:***@db.example/pki'],
  ];
  for (const [url, shown] of cases)
    it(`ok/${url} is shown as ${shown}`, () => {
      expect(redactUrl(url)).toBe(shown);
      expect(redactUrl(url)).not.toMatch(/WORD/);
      // The password node-postgres would send is in neither form.
      const pw = pgPassword(url);
      if (pw) expect(redactUrl(url)).not.toContain(pw);
      // A driver message that quotes the URL, or the password alone (raw or decoded), loses it too.
      const text = `connect to ${url} failed for password "${pw}" (raw ${url.replace(/^.*?:\/\/[^/?#]*?:/, '')})`;
      expect(redactIn(text, url)).not.toMatch(/WORD/);
    });

  it('fail/pki init --store with a raw @ in the password: the database unreachable (exit 12), the password in no output', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    for (const json of [false, true]) {
      const r = await cli(['init', '--dir', `${cwd}/pki`, '--subject', 'CN=X', '--no-passphrase', '--store', 'postgres://pki:p@ssWORD@127.0.0.1:1/db', ...(json ? ['--json'] : [])], deps);
      expect(r.code, r.stderr).toBe(12);
      expect(`${r.stdout}${r.stderr}`).toContain('postgres://pki:***@127.0.0.1:1/db');
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/ssWORD/);
    }
  });
});

describe('a malformed PostgreSQL URL', () => {
  const bad = ['postgres://pki@127.0.0.1:99999/db', 'postgres://pki@127.0.0.1:abc/db', 'postgres://pki:s3cretXYZ@[::1/db', 'postgres://pki:s3c?retXYZ@127.0.0.1/db', 'postgres://pki:s3c/retXYZ@127.0.0.1/db', 'postgres://pki:s3c#retXYZ@127.0.0.1/db'];
  for (const url of bad)
    it(`fail/${url} is USAGE_BAD_STORE_URL (exit 2) naming the flag (pki init, node join, store migrate), CONFIG_INVALID (exit 3) naming pki.yaml; nothing created`, async () => {
      const cwd = tempDir();
      const deps = makeDeps(cwd);
      for (const [argv, flag] of [
        [['init', '--dir', join(cwd, 'a'), '--subject', 'CN=X', '--no-passphrase', '--store', url], '--store'],
        [['node', 'join', '--dir', join(cwd, 'b'), '--store', url], '--store'],
      ] as const) {
        const r = await cli([...argv, '--json'], deps);
        expect(r.code, r.stderr).toBe(2);
        expect(r.json.error.code).toBe('USAGE_BAD_STORE_URL');
        expect(r.json.error.message).toContain(flag);
        expect(r.json.error.message).not.toMatch(/s3c|retXYZ/);
      }
      expect(fs.existsSync(join(cwd, 'a'))).toBe(false);
      expect(fs.existsSync(join(cwd, 'b'))).toBe(false);
      const dir = join(cwd, 'sqlite');
      expect((await cli(['init', '--dir', dir, '--subject', 'CN=Y', '--no-passphrase'], deps)).code).toBe(0);
      const m = await cli(['store', 'migrate', '--dir', dir, '--to', url, '--json'], deps);
      expect(m.code, m.stderr).toBe(2);
      expect(m.json.error.code).toBe('USAGE_BAD_STORE_URL');
      expect(m.json.error.message).toContain('--to');
      expect(fs.readFileSync(join(dir, 'pki.yaml'), 'utf8')).not.toContain('url:');
      fs.writeFileSync(join(dir, 'pki.yaml'), fs.readFileSync(join(dir, 'pki.yaml'), 'utf8').replace('  sqlite: pki.db', `  url: ${JSON.stringify(url)}`));
      const l = await cli(['list', '--dir', dir, '--json'], deps);
      expect(l.code, l.stderr).toBe(3);
      expect(l.json.error.code).toBe('CONFIG_INVALID');
      expect(l.json.error.message).toContain(join(dir, 'pki.yaml'));
      expect(l.json.error.message).toContain('store.url');
      expect(l.json.error.message).not.toMatch(/s3c|retXYZ/);
    });

  it('fail/an sslcert= file that does not exist is an IO error (exit 8) naming the file, not INTERNAL', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const missing = join(cwd, 'no-such-client.crt');
    const r = await cli(['node', 'join', '--dir', join(cwd, 'b'), '--store', `postgres://pki@127.0.0.1:1/db?sslmode=verify-full&sslcert=${missing}`, '--json'], deps);
    expect(r.code, r.stderr).toBe(8);
    expect(r.json.error.code).toMatch(/^IO_/);
    expect(r.json.error.message).toContain(missing);
    expect(r.json.error.message).toContain('sslcert');
    expect(fs.existsSync(join(cwd, 'b'))).toBe(false);
  });
});
