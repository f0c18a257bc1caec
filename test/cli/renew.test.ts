/**
 * pki renew: the same subject (exact DER), SANs and profile, a new serial, validity and key; refusals for
 * revoked, foreign and CA certificates and bad flag combinations leave the directory as it was.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCertificate } from '../../src/x509/certificate.js';
import { cli, FIXED_NOW, makeDeps, makePki, ROOT, snapshot } from '../helpers.js';

const LATER = new Date(FIXED_NOW.getTime() + 20 * 3600_000);

async function setup() {
  const p = await makePki();
  const run = (argv: string[], deps = p.deps) => cli([...argv, '--dir', p.dir, '--json'], deps);
  const issued = await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=app-01,OU=payments,O=Example', '--san', 'dns:app-01.example.com', '--san', 'uri:spiffe://example.com/app', '--key-out', join(p.cwd, 'app.key'), '--out', join(p.cwd, 'app.pem')]);
  expect(issued.code, issued.stderr).toBe(0);
  const later = makeDeps(p.cwd, { now: LATER, seed: 'later' });
  return { ...p, run, later, old: issued.json.data };
}

const read = (path: string) => readCertificate(fs.readFileSync(path), path);

describe('pki renew', () => {
  it('ok/--key-out in place with --force --revoke-old superseded: same subject bytes, SANs and profile; new serial, validity and key', async () => {
    const t = await setup();
    const before = read(join(t.cwd, 'app.pem'));
    const oldKey = fs.readFileSync(join(t.cwd, 'app.key'), 'utf8');
    const r = await t.run(['renew', '--ca', 'issuing-1', '--cert', join(t.cwd, 'app.pem'), '--key-out', join(t.cwd, 'app.key'), '--out', join(t.cwd, 'app.pem'), '--force', '--revoke-old', 'superseded'], t.later);
    expect(r.code, r.stderr).toBe(0);
    const after = read(join(t.cwd, 'app.pem'));
    expect(after.subjectDer.equals(before.subjectDer)).toBe(true);
    expect(after.sans).toEqual(before.sans);
    expect(after.serialHex).not.toBe(before.serialHex);
    expect(after.notAfter.getTime() - LATER.getTime()).toBe(24 * 3600_000);
    expect(after.spki.equals(before.spki)).toBe(false);
    expect(fs.readFileSync(join(t.cwd, 'app.key'), 'utf8')).not.toBe(oldKey);
    expect(fs.statSync(join(t.cwd, 'app.key')).mode & 0o777).toBe(0o600);
    expect(r.json.data).toMatchObject({ oldSerial: before.serialHex, serial: after.serialHex, profile: 'roles-anywhere-workload', revokedOld: 'superseded' });
    // The key written belongs to the certificate written.
    const pub = execFileSync('openssl', ['pkey', '-in', join(t.cwd, 'app.key'), '-pubout'], { encoding: 'utf8' });
    expect(pub).toBe(execFileSync('openssl', ['x509', '-in', join(t.cwd, 'app.pem'), '-noout', '-pubkey'], { encoding: 'utf8' }));
    const oldShown = await t.run(['show', before.serialHex, '--ca', 'issuing-1'], t.later);
    expect(oldShown.json.data).toMatchObject({ status: 'revoked', revocation: { reason: 'superseded' } });
    const newShown = await t.run(['show', after.serialHex, '--ca', 'issuing-1'], t.later);
    expect(newShown.json.data).toMatchObject({ status: 'valid', subject: t.old.subject, sans: t.old.sans, profile: 'roles-anywhere-workload' });
  });

  it('ok/--csr: the CSR gives only the key; its subject and SANs are ignored; the old certificate stays valid without --revoke-old', async () => {
    const t = await setup();
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(t.cwd, 'new.key'), '-subj', '/CN=somebody-else', '-out', join(t.cwd, 'new.csr')], { stdio: 'pipe' });
    const r = await t.run(['renew', '--ca', 'issuing-1', '--cert', join(t.cwd, 'app.pem'), '--csr', join(t.cwd, 'new.csr'), '--out', join(t.cwd, 'new.pem'), '--validity', '12h'], t.later);
    expect(r.code, r.stderr).toBe(0);
    const renewed = read(join(t.cwd, 'new.pem'));
    expect(renewed.subjectDer.equals(read(join(t.cwd, 'app.pem')).subjectDer)).toBe(true);
    expect(renewed.notAfter.getTime() - LATER.getTime()).toBe(12 * 3600_000);
    const pub = execFileSync('openssl', ['pkey', '-in', join(t.cwd, 'new.key'), '-pubout'], { encoding: 'utf8' });
    expect(pub).toBe(execFileSync('openssl', ['x509', '-in', join(t.cwd, 'new.pem'), '-noout', '-pubkey'], { encoding: 'utf8' }));
    expect((await t.run(['show', t.old.serial, '--ca', 'issuing-1'], t.later)).json.data.status).toBe('valid');
    expect(r.json.data.revokedOld).toBeNull();
  });

  it('ok/--serial as pki list prints it; a profile given as a file at issuance needs --profile to be found again', async () => {
    const t = await setup();
    const due = await t.run(['list', '--expiring-within', '1d'], t.later);
    expect(due.json.data.map((c: { serial: string }) => c.serial)).toEqual([t.old.serial]);
    const r = await t.run(['renew', '--ca', 'issuing-1', '--serial', t.old.serial, '--key-out', join(t.cwd, 'n.key'), '--out', join(t.cwd, 'n.pem')], t.later);
    expect(r.code, r.stderr).toBe(0);
    expect(read(join(t.cwd, 'n.pem')).subjectDer.equals(read(join(t.cwd, 'app.pem')).subjectDer)).toBe(true);
    // A leaf profile from a file outside the profiles directory.
    const yaml = fs.readFileSync(join(ROOT, 'profiles/roles-anywhere-workload.yaml'), 'utf8').replace(/^name:.*$/m, '');
    fs.writeFileSync(join(t.cwd, 'custom-leaf.yaml'), yaml);
    const custom = await t.run(['issue', '--ca', 'issuing-1', '--profile', join(t.cwd, 'custom-leaf.yaml'), '--subject', 'CN=custom', '--key-out', join(t.cwd, 'c.key'), '--out', join(t.cwd, 'c.pem')]);
    expect(custom.code, custom.stderr).toBe(0);
    const before = snapshot(t.cwd);
    const lost = await t.run(['renew', '--ca', 'issuing-1', '--cert', join(t.cwd, 'c.pem'), '--key-out', join(t.cwd, 'c2.key'), '--out', join(t.cwd, 'c2.pem')], t.later);
    expect(lost.code).toBe(5);
    expect(lost.json.error).toMatchObject({ code: 'NOT_FOUND_PROFILE', hint: expect.stringContaining('--profile') });
    expect(snapshot(t.cwd)).toEqual(before);
    const found = await t.run(['renew', '--ca', 'issuing-1', '--cert', join(t.cwd, 'c.pem'), '--profile', join(t.cwd, 'custom-leaf.yaml'), '--key-out', join(t.cwd, 'c2.key'), '--out', join(t.cwd, 'c2.pem')], t.later);
    expect(found.code, found.stderr).toBe(0);
    expect(found.json.data.profile).toBe('custom-leaf');
  });

  it('fail/revoked, foreign and CA certificates, and bad flags: error code, exit code, nothing changed', async () => {
    const t = await setup();
    // Another CA of the same PKI, and a certificate of another PKI.
    expect((await t.run(['ca', 'create', 'issuing-2', '--parent', 'root', '--subject', 'CN=Test Issuing CA 2,O=Example', '--no-passphrase'])).code).toBe(0);
    const other = await makePki({ seed: 'other' });
    expect((await cli(['issue', '--dir', other.dir, '--ca', 'issuing-1', '--subject', 'CN=app-01', '--key-out', join(t.cwd, 'foreign.key'), '--out', join(t.cwd, 'foreign.pem')], other.deps)).code).toBe(0);
    fs.writeFileSync(join(t.cwd, 'root.pem'), (await t.run(['ca', 'export', 'root'])).json.data.pem ?? '');
    const base = ['renew', '--ca', 'issuing-1', '--key-out', join(t.cwd, 'n.key'), '--out', join(t.cwd, 'n.pem')];
    const cases: Array<[string, string[], string, number]> = [
      ['another CA', ['renew', '--ca', 'issuing-2', '--cert', join(t.cwd, 'app.pem'), '--key-out', join(t.cwd, 'n.key'), '--out', join(t.cwd, 'n.pem')], 'NOT_FOUND_SERIAL', 5],
      ['another PKI', [...base, '--cert', join(t.cwd, 'foreign.pem')], 'NOT_FOUND_SERIAL', 5],
      ['both --csr and --key-out', [...base, '--cert', join(t.cwd, 'app.pem'), '--csr', join(t.cwd, 'x.csr')], 'USAGE_CONFLICT', 2],
      ['neither --csr nor --key-out', ['renew', '--ca', 'issuing-1', '--cert', join(t.cwd, 'app.pem'), '--out', join(t.cwd, 'n.pem')], 'USAGE_MISSING_INPUT', 2],
      ['--out exists', ['renew', '--ca', 'issuing-1', '--cert', join(t.cwd, 'app.pem'), '--key-out', join(t.cwd, 'n.key'), '--out', join(t.cwd, 'app.pem')], 'STATE_OUTPUT_EXISTS', 6],
      ['a bad --revoke-old reason', [...base, '--cert', join(t.cwd, 'app.pem'), '--revoke-old', 'certificateHold'], 'USAGE_BAD_REASON', 2],
      ['a CA certificate', ['renew', '--ca', 'root', '--cert', join(t.cwd, 'root.pem'), '--key-out', join(t.cwd, 'n.key'), '--out', join(t.cwd, 'n.pem')], 'USAGE_NOT_A_LEAF', 2],
      ['both --cert and --serial', [...base, '--cert', join(t.cwd, 'app.pem'), '--serial', t.old.serial], 'USAGE_MISSING_INPUT', 2],
      ['an unknown --serial', [...base, '--serial', '0badc0de'], 'NOT_FOUND_SERIAL', 5],
      ['a missing --cert', [...base, '--cert', join(t.cwd, 'missing.pem')], 'NOT_FOUND_FILE', 5],
    ];
    for (const [name, argv, code, exit] of cases) {
      const before = snapshot(t.cwd);
      const r = await t.run(argv, t.later);
      expect([name, r.code, r.json?.error.code]).toEqual([name, exit, code]);
      expect(snapshot(t.cwd), name).toEqual(before);
    }
    await t.run(['revoke', '--ca', 'issuing-1', '--cert', join(t.cwd, 'app.pem'), '--reason', 'keyCompromise']);
    const before = snapshot(t.cwd);
    const revoked = await t.run([...base, '--cert', join(t.cwd, 'app.pem')], t.later);
    expect(revoked.code).toBe(6);
    expect(revoked.json.error.code).toBe('STATE_CERTIFICATE_REVOKED');
    expect(revoked.json.error.message).toContain(t.old.serial);
    expect(snapshot(t.cwd)).toEqual(before);
  });
});
