/** `pki inspect`: certificates (PEM and DER), bundles, CSRs and CRLs, detected; values cross-checked with openssl. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, makeDeps, tempDir } from '../helpers.js';

describe('pki inspect', () => {
  it('detects and describes certificates, bundles, CSRs and CRLs; serial and fingerprint agree with openssl', async () => {
    const cwd = tempDir('pki-inspect-');
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    const run = (argv: string[]) => cli([...argv, '--dir', dir, '--json'], deps);
    await run(['init', '--subject', 'CN=Inspect Root,O=Example', '--no-passphrase']);
    const leaf = (await run(['issue', '--ca', 'root', '--subject', 'CN=app-01,O=Example', '--san', 'dns:app.example.com', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c.pem'), '--validity', '24h'])).json.data;
    const r = await run(['inspect', join(cwd, 'c.pem')]);
    expect(r.code).toBe(0);
    const c = r.json.data.certificate;
    expect(c).toMatchObject({ subject: 'CN=app-01,O=Example', serialHex: leaf.serial, sans: ['dns:app.example.com'], keyUsage: ['digitalSignature'], extendedKeyUsage: ['clientAuth'], validity: '1d left', key: 'ecdsa-p256' });
    expect(c.rolesAnywhere).toMatchObject({ roleSessionName: leaf.serial, sourceIdentity: 'CN=app-01' });
    const ossl = execFileSync('openssl', ['x509', '-in', join(cwd, 'c.pem'), '-noout', '-serial', '-fingerprint', '-sha256']).toString();
    expect(ossl.toLowerCase()).toContain(`serial=${leaf.serial}`);
    expect(ossl.replace(/:/g, '').toLowerCase()).toContain(c.sha256);
    expect(BigInt(`0x${leaf.serial}`).toString()).toBe(c.serialDecimal);
    // DER, a bundle, a CSR, a CRL.
    execFileSync('openssl', ['x509', '-in', join(cwd, 'c.pem'), '-outform', 'DER', '-out', join(cwd, 'c.der')]);
    expect((await run(['inspect', join(cwd, 'c.der')])).json.data.certificate.sha256).toBe(c.sha256);
    await run(['ca', 'export', 'root', '--out', join(cwd, 'root.pem')]);
    fs.writeFileSync(join(cwd, 'bundle.pem'), fs.readFileSync(join(cwd, 'root.pem'), 'utf8') + fs.readFileSync(join(cwd, 'c.pem'), 'utf8'));
    const b = (await run(['inspect', join(cwd, 'bundle.pem')])).json.data;
    expect(b.type).toBe('bundle');
    expect(b.certificates.map((x: { selfSigned: boolean }) => x.selfSigned)).toEqual([true, false]);
    await run(['ca', 'csr', 'sub', '--subject', 'CN=Sub CA', '--out', join(cwd, 'sub.csr'), '--no-passphrase']);
    expect((await run(['inspect', join(cwd, 'sub.csr')])).json.data).toMatchObject({ type: 'csr', csr: { subject: 'CN=Sub CA', signature: 'valid' } });
    await run(['crl', 'generate', '--ca', 'root', '--out', join(cwd, 'crl.der'), '--format', 'der']);
    expect((await run(['inspect', join(cwd, 'crl.der')])).json.data).toMatchObject({ type: 'crl', crl: { issuer: 'CN=Inspect Root,O=Example', crlNumber: '1', entries: 0 } });
    const text = await cli(['inspect', join(cwd, 'c.pem')], deps);
    expect(text.stdout).toMatch(/serial +[0-9a-f]+ \(decimal \d+\)/);
    expect(text.stdout).toContain('SourceIdentity CN=app-01');
    fs.writeFileSync(join(cwd, 'junk'), 'not a certificate');
    const junk = await run(['inspect', join(cwd, 'junk')]);
    expect(junk.code).toBe(7);
    expect(junk.json.error.message).toContain('junk');
  });
});
