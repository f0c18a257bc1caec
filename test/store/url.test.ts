/** #19 store URLs: the password is redacted from every form of a PostgreSQL URL that is printed. */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { redactIn, redactUrl } from '../../src/store/url.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

/** The password node-postgres itself takes from the URL (what must never be printed). */
const pgPassword = (url: string): string => String((new pg.Client({ connectionString: url }) as unknown as { connectionParameters: { password?: unknown } }).connectionParameters.password ?? '');

describe('#19 redactUrl / redactIn', () => {
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
