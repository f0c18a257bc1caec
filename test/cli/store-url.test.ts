/** the store URL: pki init --store / $PKI_STORE_URL and store.url in pki.yaml choose the store (SQLite here). */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, makeDeps, tempDir } from '../helpers.js';

describe('store URL', () => {
  it('ok/pki init --store sqlite:FILE puts the SQLite store there; later commands use it', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    const r = await cli(['init', '--dir', dir, '--subject', 'CN=Url Root', '--no-passphrase', '--store', 'sqlite:ca.db', '--json'], deps);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.store).toBe(join(dir, 'ca.db'));
    expect(fs.existsSync(join(dir, 'ca.db'))).toBe(true);
    expect(fs.existsSync(join(dir, 'pki.db'))).toBe(false);
    expect((await cli(['ca', 'list', '--dir', dir, '--json'], deps)).json.data.map((c: { name: string }) => c.name)).toEqual(['root']);
    // A SQLite file serves one machine (pki node join refuses it): pki.yaml does not call it shared.
    const yaml = fs.readFileSync(join(dir, 'pki.yaml'), 'utf8');
    expect(yaml).toMatch(/sqlite:|sqlite: /);
    expect(yaml).not.toMatch(/shared|node join/);
  });

  it('ok/$PKI_STORE_URL is the default of pki init --store', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_STORE_URL: 'sqlite:from-env.db' } });
    const r = await cli(['init', '--dir', join(cwd, 'pki'), '--subject', 'CN=Env Url', '--no-passphrase'], deps);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(join(cwd, 'pki/from-env.db'))).toBe(true);
  });

  it('fail/a --store that is no store URL is USAGE_BAD_STORE_URL (exit 2) and nothing is created; a bad store.url in pki.yaml is CONFIG_INVALID (exit 3)', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const r = await cli(['init', '--dir', join(cwd, 'pki'), '--subject', 'CN=X', '--no-passphrase', '--store', 'mysql://db/pki', '--json'], deps);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE_BAD_STORE_URL');
    expect(fs.existsSync(join(cwd, 'pki'))).toBe(false);
    const dir = join(cwd, 'ok');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=Y', '--no-passphrase'], deps)).code).toBe(0);
    fs.appendFileSync(join(dir, 'pki.yaml'), '');
    fs.writeFileSync(join(dir, 'pki.yaml'), fs.readFileSync(join(dir, 'pki.yaml'), 'utf8').replace('  sqlite: pki.db', '  url: mysql://db/pki'));
    const bad = await cli(['list', '--dir', dir, '--json'], deps);
    expect(bad.code).toBe(3);
    expect(bad.json.error.code).toBe('CONFIG_INVALID');
  });
});
