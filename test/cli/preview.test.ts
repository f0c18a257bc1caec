/** `pki preview`, and `pki issue` warning about (or refusing) values Roles Anywhere would drop as session tags. */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, makeDeps, snapshot, tempDir } from '../helpers.js';

async function pki() {
  const cwd = tempDir('pki-preview-');
  const deps = makeDeps(cwd);
  const dir = join(cwd, 'pki');
  const run = (argv: string[]) => cli([...argv, '--dir', dir], deps);
  expect((await run(['init', '--subject', 'CN=Preview Root,O=Example', '--no-passphrase'])).code).toBe(0);
  return { cwd, dir, deps, run };
}

describe('pki preview and issue-time session-tag checks', () => {
  it('issue warns on stderr about a value STS would drop; preview lists it and exits 10; a clean certificate exits 0', async () => {
    const t = await pki();
    const issued = await t.run(['issue', '--ca', 'root', '--subject', 'CN=app-01,OU=team (blue),O=Example', '--key-out', join(t.cwd, 'a.key'), '--out', join(t.cwd, 'a.pem')]);
    expect(issued.code).toBe(0);
    expect(issued.stderr).toContain('warning: generated key: session tag x509Subject/OU="team (blue)" would be dropped by Roles Anywhere');
    const p = await t.run(['preview', '--cert', join(t.cwd, 'a.pem'), '--json']);
    expect(p.code).toBe(10);
    expect(p.json.data).toMatchObject({ sourceIdentity: 'CN=app-01', tags: { 'x509Subject/CN': 'app-01', 'x509Subject/O': 'Example', 'x509Issuer/CN': 'Preview Root' } });
    expect(p.json.data.dropped).toEqual([{ tag: 'x509Subject/OU', value: 'team (blue)', reason: expect.stringContaining('"(" ")"') }]);
    expect(p.json.data.roleSessionName).toBe(p.json.data.serial);
    const text = await t.run(['preview', '--cert', join(t.cwd, 'a.pem')]);
    expect(text.stdout).toContain('aws:PrincipalTag/x509Subject/CN  app-01');
    expect(text.stdout).toMatch(/Dropped:\n {2}x509Subject\/OU="team \(blue\)"/);

    const clean = await t.run(['issue', '--ca', 'root', '--subject', 'CN=app-02,O=Example', '--key-out', join(t.cwd, 'b.key'), '--out', join(t.cwd, 'b.pem')]);
    expect(clean.stderr).not.toContain('warning');
    expect((await t.run(['preview', '--cert', join(t.cwd, 'b.pem')])).code).toBe(0);
  });

  it('a profile with droppedSessionTags: refuse refuses the certificate (POLICY_SESSION_TAG_DROPPED), nothing written or recorded', async () => {
    const t = await pki();
    fs.mkdirSync(join(t.dir, 'profiles'), { recursive: true });
    const shipped = fs.readFileSync(join(process.cwd(), 'profiles/roles-anywhere-workload.yaml'), 'utf8');
    fs.writeFileSync(join(t.dir, 'profiles/strict.yaml'), shipped.replace('name: roles-anywhere-workload', 'name: strict') + 'droppedSessionTags: refuse\n');
    const before = snapshot(t.cwd);
    const r = await t.run(['issue', '--ca', 'root', '--profile', 'strict', '--subject', 'CN=app!01,O=Example', '--key-out', join(t.cwd, 'c.key'), '--out', join(t.cwd, 'c.pem'), '--json']);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_SESSION_TAG_DROPPED');
    expect(r.json.error.message).toContain('x509Subject/CN="app!01"');
    expect(snapshot(t.cwd)).toEqual(before);
  });

  it('--profile-mapping takes the get-profile answer; --chain is checked (issuer first, at most 5)', async () => {
    const t = await pki();
    expect((await t.run(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Issuing 1', '--no-passphrase'])).code).toBe(0);
    await t.run(['issue', '--ca', 'issuing-1', '--subject', 'CN=app,O=Example', '--san', 'dns:app.example.com', '--key-out', join(t.cwd, 'k'), '--out', join(t.cwd, 'c.pem'), '--chain-out', join(t.cwd, 'chain.pem')]);
    fs.writeFileSync(
      join(t.cwd, 'profile.json'),
      JSON.stringify({ profile: { name: 'app', attributeMappings: [{ certificateField: 'x509Subject', mappingRules: [{ specifier: 'CN' }] }, { certificateField: 'x509SAN', mappingRules: [{ specifier: 'DNS' }] }] } }),
    );
    const r = await t.run(['preview', '--cert', join(t.cwd, 'c.pem'), '--chain', join(t.cwd, 'chain.pem'), '--profile-mapping', join(t.cwd, 'profile.json'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json.data.tags).toEqual({ 'x509Subject/CN': 'app', 'x509SAN/DNS': 'app.example.com' });
    expect(r.json.data.chainCertificates).toBe(1);
    expect(r.json.data.warnings).toEqual([]);
    const wrongChain = await t.run(['preview', '--cert', join(t.cwd, 'c.pem'), '--chain', join(t.cwd, 'c.pem'), '--json']);
    expect(wrongChain.json.data.warnings[0]).toMatch(/is not the issuer of --cert/);
    fs.writeFileSync(join(t.cwd, 'bad.json'), '{"x509Subjet": ["CN"]}');
    const bad = await t.run(['preview', '--cert', join(t.cwd, 'c.pem'), '--profile-mapping', join(t.cwd, 'bad.json'), '--json']);
    expect(bad.code).toBe(2);
    expect(bad.json.error.message).toContain('unknown field x509Subjet');
  });
});
