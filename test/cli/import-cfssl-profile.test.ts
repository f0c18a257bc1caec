import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../src/profile/load.js';
import { goDurationSeconds } from '../../src/app/import/cfssl-profile.js';
import { cli, makeDeps, makePki, snapshot, tempDir } from '../helpers.js';

const CONFIG = {
  signing: {
    default: { expiry: '168h' },
    profiles: {
      intermediate_ca: { usages: ['signing', 'digital signature', 'key encipherment', 'cert sign', 'crl sign', 'server auth', 'client auth'], expiry: '43800h', ca_constraint: { is_ca: true, max_path_len: 0, max_path_len_zero: true } },
      client: { usages: ['signing', 'digital signature', 'key encipherment', 'client auth'], expiry: '8760h', backdate: '10m' },
      server: { usages: ['signing', 'key encipherment', 'server auth'], expiry: '720h' },
    },
  },
};

describe('pki profile import cfssl', () => {
  it('ok/writes one pki profile per signing profile; they load, and pki issue uses one', async () => {
    const { cwd, dir, deps } = await makePki();
    fs.writeFileSync(join(cwd, 'config.json'), JSON.stringify(CONFIG));
    const out = join(dir, 'profiles');
    fs.mkdirSync(out);
    const r = await cli(['profile', 'import', 'cfssl', join(cwd, 'config.json'), '--out-dir', out, '--ignore-unmapped', '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data.profiles.map((p: any) => p.name).sort()).toEqual(['client', 'intermediate_ca', 'server']);
    expect(r.json.data.ignored).toEqual([expect.stringContaining('signing.default (it has no usages')]);
    expect(r.stderr).toContain('warning: not mapped (left out)');
    const client = loadProfile(join(out, 'client.yaml'), undefined, cwd);
    expect(client).toMatchObject({ kind: 'leaf', keyUsage: ['digitalSignature', 'keyEncipherment'], extendedKeyUsage: ['clientAuth'], validity: { default: 8760 * 3600, max: 8760 * 3600 }, backdate: 600 });
    const ca = loadProfile(join(out, 'intermediate_ca.yaml'), undefined, cwd);
    expect(ca).toMatchObject({ kind: 'intermediate-ca', pathLen: 0, keyUsage: ['digitalSignature', 'keyEncipherment', 'keyCertSign', 'cRLSign'], extendedKeyUsage: ['serverAuth', 'clientAuth'] });
    const issued = await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=web-01', '--key-out', join(cwd, 'w.key'), '--out', join(cwd, 'w.pem'), '--profile', 'client', '--validity', '24h', '--dir', dir, '--json'], deps);
    expect(issued.code, issued.stdout).toBe(0);
  });

  it('fail/a usage pki cannot map, a leaf without digitalSignature (Roles Anywhere) and unmapped settings are each named; nothing is written', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    fs.writeFileSync(
      join(cwd, 'config.json'),
      JSON.stringify({ signing: { profiles: { server: { usages: ['signing', 'digital signing', 'server auth'], expiry: '8760h' }, enc: { usages: ['key encipherment', 'client auth'], expiry: '24h' }, peer: { usages: ['signing', 'client auth'], expiry: '1y', auth_key: 'k' } } } }),
    );
    const before = snapshot(cwd);
    const r = await cli(['profile', 'import', 'cfssl', join(cwd, 'config.json'), '--json'], deps);
    expect(r.code).toBe(2);
    const messages = r.json.error.details.problems.map((p: any) => `${p.code} ${p.message}`).join('\n');
    expect(messages).toContain('signing.profiles.server.usages[1]: "digital signing" is not a cfssl usage pki maps');
    expect(messages).toMatch(/PROFILE_INVALID .*signing profile "enc" would not be a valid pki profile: .*digitalSignature/);
    expect(messages).toContain('signing.profiles.peer.expiry: "1y" is not a duration');
    expect(messages).toMatch(/USAGE_CFSSL_NOT_MAPPED .*signing\.profiles\.peer\.auth_key/);
    expect(snapshot(cwd)).toEqual(before);
  });

  it('fail/existing files are not overwritten without --force', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    fs.writeFileSync(join(cwd, 'config.json'), JSON.stringify({ signing: { profiles: { client: CONFIG.signing.profiles.client } } }));
    fs.writeFileSync(join(cwd, 'client.yaml'), 'mine\n');
    const r = await cli(['profile', 'import', 'cfssl', join(cwd, 'config.json'), '--json'], deps);
    expect(r.json.error.code).toBe('STATE_OUTPUT_EXISTS');
    expect(fs.readFileSync(join(cwd, 'client.yaml'), 'utf8')).toBe('mine\n');
    expect((await cli(['profile', 'import', 'cfssl', join(cwd, 'config.json'), '--force'], deps)).code).toBe(0);
    expect(loadProfile(join(cwd, 'client.yaml'), undefined, cwd).name).toBe('client');
  });

  it('reads Go durations', () => {
    expect(goDurationSeconds('8760h')).toBe(8760 * 3600);
    expect(goDurationSeconds('1h30m')).toBe(5400);
    expect(goDurationSeconds('1.5h')).toBe(5400);
    expect(goDurationSeconds('1y')).toBeUndefined();
    expect(goDurationSeconds('')).toBeUndefined();
  });
});
