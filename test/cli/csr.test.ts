import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, makeDeps, makePki, snapshot, tempDir } from '../helpers.js';

const subjectOf = (csr: string) => execFileSync('openssl', ['req', '-in', csr, '-noout', '-subject']).toString().trim();

describe('pki csr', () => {
  it('ok/openssl\'s slash form is encoded in the order written; RFC 4514 most specific first: both give the same name', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const a = await cli(['csr', '--subject', '/C=US/O=Example/CN=web-01', '--san', 'dns:web-01.example.com', '--key-out', join(cwd, 'a.key'), '--out', join(cwd, 'a.csr'), '--json'], deps);
    expect(a.code, a.stdout).toBe(0);
    expect(a.json.data).toMatchObject({ subject: 'CN=web-01,O=Example,C=US', sans: ['dns:web-01.example.com'], keyType: 'ecdsa-p256' });
    const b = await cli(['csr', '--subject', 'CN=web-01,O=Example,C=US', '--key-out', join(cwd, 'b.key'), '--out', join(cwd, 'b.csr')], deps);
    expect(b.code).toBe(0);
    expect(subjectOf(join(cwd, 'a.csr'))).toBe('subject=C = US, O = Example, CN = web-01');
    expect(subjectOf(join(cwd, 'b.csr'))).toBe(subjectOf(join(cwd, 'a.csr')));
    // Written order is kept, whatever it is.
    expect((await cli(['csr', '--subject', '/CN=web-02/O=Example', '--key-out', join(cwd, 'c.key'), '--out', join(cwd, 'c.csr')], deps)).code).toBe(0);
    expect(subjectOf(join(cwd, 'c.csr'))).toBe('subject=CN = web-02, O = Example');
    execFileSync('openssl', ['req', '-in', join(cwd, 'a.csr'), '-noout', '-verify']);
    expect(execFileSync('openssl', ['req', '-in', join(cwd, 'a.csr'), '-noout', '-text']).toString()).toContain('DNS:web-01.example.com');
    expect(fs.statSync(join(cwd, 'a.key')).mode & 0o777).toBe(0o600);
  });

  it('ok/the CSR is issued by pki issue --csr', async () => {
    const { cwd, dir, deps } = await makePki();
    expect((await cli(['csr', '--subject', '/O=Example/CN=web-03', '--key-type', 'rsa-2048', '--key-out', join(cwd, 'w.key'), '--out', join(cwd, 'w.csr')], deps)).code).toBe(0);
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', join(cwd, 'w.csr'), '--out', join(cwd, 'w.pem'), '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data.subject).toBe('CN=web-03,O=Example');
  });

  it('fail/a bad slash subject is USAGE_BAD_SUBJECT (exit 2) and nothing is written', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const before = snapshot(cwd);
    const r = await cli(['csr', '--subject', '/C=USA/CN=x', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c'), '--json'], deps);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE_BAD_SUBJECT');
    expect(r.json.error.message).toContain('two-letter ISO 3166');
    const r2 = await cli(['csr', '--subject', '/O=Example//CN=x', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c'), '--json'], deps);
    expect(r2.json.error.code).toBe('USAGE_BAD_SUBJECT');
    expect(snapshot(cwd)).toEqual(before);
  });

  describe('--from-cfssl', () => {
    it('ok/maps CN, names, hosts and key the way cfssl encodes them (C, ST, L, O, OU, CN)', async () => {
      const cwd = tempDir();
      const deps = makeDeps(cwd);
      fs.writeFileSync(
        join(cwd, 'csr.json'),
        JSON.stringify({ CN: 'web-01', hosts: ['web-01.example.com', '10.0.0.7', 'ops@example.com', 'spiffe://example.com/web'], key: { algo: 'ecdsa', size: 384 }, names: [{ C: 'IN', ST: 'Karnataka', L: 'Bengaluru', O: 'Example', OU: 'Platform' }] }),
      );
      const r = await cli(['csr', '--from-cfssl', join(cwd, 'csr.json'), '--key-out', join(cwd, 'w.key'), '--out', join(cwd, 'w.csr'), '--json'], deps);
      expect(r.code, r.stdout).toBe(0);
      expect(r.json.data).toMatchObject({ keyType: 'ecdsa-p384', sans: ['dns:web-01.example.com', 'ip:10.0.0.7', 'email:ops@example.com', 'uri:spiffe://example.com/web'] });
      expect(subjectOf(join(cwd, 'w.csr'))).toBe('subject=C = IN, ST = Karnataka, L = Bengaluru, O = Example, OU = Platform, CN = web-01');
    });

    it('fail/the cfssl tutorial\'s "C": "India" gets the fix, every unmappable value is named, nothing is written', async () => {
      const cwd = tempDir();
      const deps = makeDeps(cwd);
      fs.writeFileSync(join(cwd, 'csr.json'), JSON.stringify({ CN: 'web-01', names: [{ C: 'India', O: 'Example', E: 'x@example.com' }], key: { algo: 'ed25519' }, ca: { expiry: '8760h' } }));
      const before = snapshot(cwd);
      const r = await cli(['csr', '--from-cfssl', join(cwd, 'csr.json'), '--key-out', join(cwd, 'w.key'), '--out', join(cwd, 'w.csr'), '--json'], deps);
      expect(r.code).toBe(2);
      const messages = r.json.error.details.problems.map((p: any) => p.message).join('\n');
      expect(messages).toContain('names[0].C: C must be a two-letter ISO 3166 code: did you mean "IN"?');
      expect(messages).toContain('names[0].E: "E" cannot be mapped');
      expect(messages).toContain('key.algo: "ed25519" cannot be mapped');
      expect(messages).toMatch(/ca: CA settings cannot be mapped/);
      expect(snapshot(cwd)).toEqual(before);
    });
  });
});
