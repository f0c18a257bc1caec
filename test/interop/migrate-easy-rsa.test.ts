/**
 * Migration from a real easy-rsa 3 PKI (Debian package easy-rsa: /usr/share/easy-rsa/easyrsa): build-ca, clients,
 * revoke, gen-crl; then `pki import easy-rsa` and pki's first CRL checked with openssl.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, makeDeps, pkiIn, snapshot, tempDir } from '../helpers.js';

const EASYRSA = ['/usr/share/easy-rsa/easyrsa', '/usr/bin/easyrsa'].find((p) => fs.existsSync(p));

function easyrsa(pkiDir: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync(EASYRSA!, args, {
    cwd: join(pkiDir, '..'),
    env: { ...process.env, EASYRSA_BATCH: '1', EASYRSA_PKI: pkiDir, EASYRSA_ALGO: 'ec', EASYRSA_CURVE: 'prime256v1', EASYRSA_DIGEST: 'sha256', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

function verifyWithCrl(ca: string, crl: string, leaf: string): string {
  const r = spawnSync('openssl', ['verify', '-crl_check', '-CAfile', ca, '-CRLfile', crl, leaf], { encoding: 'utf8' });
  if (r.status === 0) return 'ok';
  return /certificate revoked/.test(r.stdout + r.stderr) ? 'revoked' : r.stdout + r.stderr;
}

describe.skipIf(!EASYRSA)('pki import easy-rsa (real easyrsa)', () => {
  it('ok/imports an easy-rsa PKI (issued/, revoked/certs_by_serial/, crl.pem) and the first CRL keeps its revocations', async () => {
    const cwd = tempDir('pki-easyrsa-');
    const erDir = join(cwd, 'er', 'pki');
    fs.mkdirSync(join(cwd, 'er'));
    easyrsa(erDir, ['init-pki']);
    const pass = join(cwd, 'ca-pass.txt');
    fs.writeFileSync(pass, 'old easy-rsa passphrase\n');
    easyrsa(erDir, ['--req-cn=Legacy easy-rsa CA', 'build-ca', 'nopass']);
    for (const n of ['alice', 'bob', 'carol']) easyrsa(erDir, ['build-client-full', n, 'nopass']);
    // Copies of the certificates before revoke moves them.
    for (const n of ['alice', 'bob', 'carol']) fs.copyFileSync(join(erDir, 'issued', `${n}.crt`), join(cwd, `${n}.crt`));
    easyrsa(erDir, ['revoke', 'bob', 'keyCompromise']);
    easyrsa(erDir, ['gen-crl']);
    // A passphrase-protected CA key, as build-ca without nopass leaves it (easy-rsa 3.1 cannot read --passout from a
    // file twice, so the key is encrypted afterwards with openssl).
    const key = join(erDir, 'private', 'ca.key');
    execFileSync('openssl', ['pkey', '-in', key, '-aes256', '-passout', `file:${pass}`, '-out', `${key}.enc`]);
    fs.renameSync(`${key}.enc`, key);
    expect(fs.readFileSync(join(erDir, 'private', 'ca.key'), 'utf8')).toContain('ENCRYPTED');

    const deps = makeDeps(cwd, { now: new Date(), seed: 'easyrsa' });
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=New Root CA', '--no-passphrase'], deps)).code).toBe(0);
    const pki = pkiIn(dir, deps);

    // Without the old key's passphrase: refused, nothing written.
    const before = snapshot(dir);
    const noPass = await pki.run(['import', 'easy-rsa', '--name', 'vpn', '--pki-dir', erDir, '--no-passphrase']);
    expect(noPass.json.error.code).toBe('CRYPTO_PASSPHRASE_REQUIRED');
    expect(snapshot(dir)).toEqual(before);

    const imp = await pki.ok(['import', 'easy-rsa', '--name', 'vpn', '--pki-dir', erDir, '--key-passphrase-file', pass, '--no-passphrase']);
    expect(imp).toMatchObject({ tool: 'easy-rsa', certificates: 3, knownSerials: 0, revocations: 1 });
    const rows = await pki.ok(['list', '--ca', 'vpn']);
    expect(rows.map((r: any) => `${r.subject}:${r.status}`).sort()).toEqual(['CN=alice:valid', 'CN=bob:revoked', 'CN=carol:valid']);

    await pki.ok(['revoke', '--ca', 'vpn', '--cert', join(cwd, 'carol.crt'), '--reason', 'superseded']);
    const out = join(cwd, 'first.pem');
    const gen = await pki.ok(['crl', 'generate', '--ca', 'vpn', '--out', out]);
    expect(gen.crl.entries).toBe(2);
    const ca = join(erDir, 'ca.crt');
    expect(verifyWithCrl(ca, out, join(cwd, 'bob.crt'))).toBe('revoked');
    expect(verifyWithCrl(ca, out, join(cwd, 'carol.crt'))).toBe('revoked');
    expect(verifyWithCrl(ca, out, join(cwd, 'alice.crt'))).toBe('ok');
  });

  it('fail/a directory that is not an easy-rsa CA is refused naming what is missing (NOT_FOUND_FILE, exit 5)', async () => {
    const cwd = tempDir('pki-easyrsa-');
    const erDir = join(cwd, 'er', 'pki');
    fs.mkdirSync(join(cwd, 'er'));
    easyrsa(erDir, ['init-pki']);
    const deps = makeDeps(cwd, { now: new Date() });
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=New Root CA', '--no-passphrase'], deps)).code).toBe(0);
    const before = snapshot(dir);
    const r = await pkiIn(dir, deps).run(['import', 'easy-rsa', '--name', 'vpn', '--pki-dir', erDir, '--no-passphrase']);
    expect(r.code).toBe(5);
    expect(r.json.error.message).toMatch(/ca\.crt, private\/ca\.key, index\.txt missing/);
    expect(snapshot(dir)).toEqual(before);
  });
});
