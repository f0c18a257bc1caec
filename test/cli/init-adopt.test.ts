/**
 * `pki init --root-cert --root-key`: adopt an existing root (made here by openssl, as cfssl/easy-rsa users have
 * one) instead of making one; refused inputs leave nothing behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, makeDeps, tempDir } from '../helpers.js';

function existingRoot() {
  const cwd = tempDir('pki-adopt-');
  const o = (args: string[]) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });
  const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'old-root.key', '-subj', '/O=Example/CN=Old Root', '-days', '365', ...caExt, '-out', 'old-root.pem']);
  fs.writeFileSync(join(cwd, 'pass.txt'), 'old root secret\n');
  o(['pkcs8', '-topk8', '-in', 'old-root.key', '-v2', 'aes-256-cbc', '-passout', 'file:pass.txt', '-out', 'old-root.enc.key']);
  // Another root's key, and a certificate that is not self-signed.
  o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-subj', '/CN=Other', '-days', '30', ...caExt, '-out', 'other.pem']);
  o(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'sub.key', '-subj', '/CN=Sub CA', '-out', 'sub.csr']);
  fs.writeFileSync(join(cwd, 'sub.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  o(['x509', '-req', '-in', 'sub.csr', '-CA', 'old-root.pem', '-CAkey', 'old-root.key', '-days', '30', '-sha256', '-set_serial', '0x5ab1', '-extfile', 'sub.ext', '-out', 'sub.pem']);
  const deps = makeDeps(cwd);
  deps.now = () => new Date();
  return { cwd, deps, dir: join(cwd, 'pki') };
}

describe('pki init --root-cert --root-key', () => {
  it('ok/adopts the root: new issuing CAs and leaves chain to the original root certificate; its first CRL needs the old numbering', async () => {
    const { cwd, deps, dir } = existingRoot();
    const run = (argv: string[]) => cli([...argv, '--dir', dir, '--json'], deps);
    const init = await run(['init', '--root-cert', join(cwd, 'old-root.pem'), '--root-key', join(cwd, 'old-root.enc.key'), '--root-key-passphrase-file', join(cwd, 'pass.txt'), '--no-passphrase']);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.json.data).toMatchObject({ adopted: true, ca: { name: 'root', subject: 'CN=Old Root,O=Example' } });
    expect(fs.statSync(join(dir, 'keys/root.key.pem')).mode & 0o777).toBe(0o600);
    expect((await run(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', '/O=Example/CN=Issuing 1', '--validity', '180d', '--no-passphrase'])).code).toBe(0);
    const leaf = await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=web-01', '--key-out', join(cwd, 'web.key'), '--out', join(cwd, 'web.pem'), '--chain-out', join(cwd, 'chain.pem')]);
    expect(leaf.code, leaf.stdout).toBe(0);
    const v = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', join(cwd, 'old-root.pem'), '-untrusted', join(cwd, 'chain.pem'), join(cwd, 'web.pem')], { encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
    // The old root may have published CRLs: its first CRL here is not silently #1.
    const crl = await run(['crl', 'generate', '--ca', 'root', '--out', join(cwd, 'root.crl')]);
    expect([crl.code, crl.json.error?.code]).toEqual([6, 'STATE_CRL_HISTORY_UNKNOWN']);
    const numbered = await run(['crl', 'generate', '--ca', 'root', '--first-crl-number', '7', '--out', join(cwd, 'root.crl')]);
    expect(numbered.code, numbered.stdout).toBe(0);
    expect(numbered.json.data.crl.crlNumber).toBe(7);
    expect((await run(['audit', 'verify'])).code).toBe(0);
  });

  it.each([
    ['a key of another root', (c: string) => ['--root-cert', join(c, 'old-root.pem'), '--root-key', join(c, 'other.key')], 7, 'CRYPTO_KEY_MISMATCH'],
    ['a certificate that is not self-signed', (c: string) => ['--root-cert', join(c, 'sub.pem'), '--root-key', join(c, 'sub.key')], 4, 'POLICY_NOT_A_ROOT'],
    ['--subject as well', (c: string) => ['--root-cert', join(c, 'old-root.pem'), '--root-key', join(c, 'old-root.key'), '--subject', 'CN=X'], 2, 'USAGE_CONFLICT'],
    ['--root-cert without --root-key', (c: string) => ['--root-cert', join(c, 'old-root.pem')], 2, 'USAGE_MISSING_INPUT'],
    ['neither --subject nor --root-cert', () => [], 2, 'USAGE_MISSING_INPUT'],
  ])('fail/%s is refused and nothing is created', async (_what, args, exit, code) => {
    const { cwd, deps, dir } = existingRoot();
    const r = await cli(['init', ...args(cwd), '--no-passphrase', '--dir', dir, '--json'], deps);
    expect([r.code, r.json.error.code]).toEqual([exit, code]);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
