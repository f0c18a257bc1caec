/**
 * security review items, each with a test: passphrases and private keys never leak; outputs never follow
 * symlinks and keys are 0600 whatever the umask; batch output names never come from certificate contents; untrusted
 * inputs are bounded. (Tampering with the audit table: test/cli/audit.test.ts. Emulator on loopback only:
 * test/e2e/emulator.test.ts.)
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSans, encodeExtension, encodeSans, MAX_SANS } from '../../src/x509/extensions.js';
import { buildCsrWithKey as buildCsr } from '../helpers.js';
import { signatureAlgorithmFor } from '../../src/crypto/keys.js';
import { decodeNameDer, encodeName, MAX_NAME_ATTRIBUTES, parseDn } from '../../src/x509/name.js';
import { toPem } from '../../src/asn1/pem.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

const SECRET = 'Sekrit-Passphrase-9f3a';

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map((f) => join(dir, String(f))).filter((f) => fs.statSync(f).isFile());
}

describe('security review', () => {
  it('a passphrase given by environment never appears in output, errors (even --debug), the store, the audit log or any file', async () => {
    const cwd = tempDir('pki-sec-');
    const deps = makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: SECRET } });
    const dir = join(cwd, 'pki');
    const outputs: string[] = [];
    const run = async (argv: string[]) => {
      const r = await cli([...argv, '--dir', dir], deps);
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    expect((await run(['init', '--subject', 'CN=Sec Root', '--pbkdf2-iterations', '10000'])).code).toBe(0);
    expect((await run(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Sec Issuing', '--json'])).code).toBe(0);
    const leaf = await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=w', '--key-out', join(cwd, 'w.key'), '--json', '--debug']);
    expect(leaf.code).toBe(0);
    await run(['revoke', '--ca', 'issuing-1', '--serial', leaf.json.data.serial, '--json']);
    await run(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'crl.pem'), '--debug']);
    await run(['audit', 'log', '--json']);
    // A wrong passphrase, with --debug: the error names the key file, not the passphrase tried.
    deps.env = { PKI_CA_PASSPHRASE: `${SECRET}-wrong` };
    const wrong = await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=x', '--key-out', join(cwd, 'x.key'), '--debug']);
    expect(wrong.code).toBe(7);
    for (const o of outputs) expect(o).not.toContain('Sekrit');
    for (const f of allFiles(cwd)) expect(fs.readFileSync(f).includes(Buffer.from('Sekrit')), f).toBe(false);
    // The workload key went only to --key-out: not to stdout, the JSON result, or the store.
    for (const o of outputs) expect(o).not.toContain('PRIVATE KEY');
    expect(fs.readFileSync(join(dir, 'pki.db')).includes(Buffer.from('PRIVATE KEY'))).toBe(false);
  });

  it('--passphrase VALUE is refused without echoing the value', async () => {
    const cwd = tempDir('pki-sec-');
    const deps = makeDeps(cwd);
    for (const argv of [['init', '--subject', 'CN=R', '--passphrase', SECRET], ['init', '--subject', 'CN=R', `--passphrase=${SECRET}`]]) {
      for (const json of [false, true]) {
        const r = await cli([...argv, '--dir', join(cwd, 'pki'), ...(json ? ['--json'] : [])], deps);
        expect(r.code).toBe(2);
        expect(r.stdout + r.stderr).toContain('USAGE_PASSPHRASE_ARGUMENT');
        expect(r.stdout + r.stderr).not.toContain(SECRET);
      }
    }
    expect(fs.existsSync(join(cwd, 'pki'))).toBe(false);
  });

  it('outputs never follow symlinks (refused even with --force); keys are 0600 under any umask', async () => {
    const cwd = tempDir('pki-sec-');
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=R', '--no-passphrase'], deps)).code).toBe(0);
    const victim = join(cwd, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, join(cwd, 'out.pem'));
    fs.symlinkSync(victim, join(cwd, 'out.key'));
    const args = ['issue', '--dir', dir, '--ca', 'root', '--subject', 'CN=w', '--out', join(cwd, 'out.pem'), '--key-out', join(cwd, 'out.key'), '--json'];
    // A symlink at an output path is refused, with or without --force: nothing is written through it.
    for (const extra of [[], ['--force']]) {
      const refused = await cli([...args, ...extra], deps);
      expect(refused.code).toBe(8);
      expect(refused.json.error.code).toBe('IO_SYMLINK_REFUSED');
    }
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    fs.unlinkSync(join(cwd, 'out.pem'));
    fs.unlinkSync(join(cwd, 'out.key'));
    // Keys are created 0600 even with a umask that would allow more.
    const old = process.umask(0o000);
    try {
      expect((await cli(args, deps)).code).toBe(0);
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(join(cwd, 'out.key')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(join(cwd, 'out.pem')).mode & 0o777).toBe(0o644);
    expect(fs.statSync(join(dir, 'keys/root.key.pem')).mode & 0o777).toBe(0o600);
  });

  it('batch output names come from the CSR file names, never from their contents (no path traversal from a CN)', async () => {
    const cwd = tempDir('pki-sec-');
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=R', '--no-passphrase'], deps)).code).toBe(0);
    fs.mkdirSync(join(cwd, 'csrs'));
    fs.mkdirSync(join(cwd, 'out'));
    const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    fs.writeFileSync(join(cwd, 'csrs/a.csr'), toPem('CERTIFICATE REQUEST', buildCsr(encodeName(parseDn('CN=../../evil')), key, signatureAlgorithmFor('ecdsa-p256'), [])));
    const r = await cli(['issue', '--dir', dir, '--ca', 'root', '--batch', join(cwd, 'csrs'), '--out-dir', join(cwd, 'out'), '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(fs.readdirSync(join(cwd, 'out'))).toEqual(['a.pem']);
    expect(fs.readdirSync(cwd).sort()).toEqual(['csrs', 'out', 'pki']);
  });

  it('untrusted inputs are bounded: an oversized CSR, an endless device, too many SAN entries or name attributes', async () => {
    const cwd = tempDir('pki-sec-');
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=R', '--no-passphrase'], deps)).code).toBe(0);
    fs.writeFileSync(join(cwd, 'big.csr'), Buffer.alloc(70 * 1024, 0x41));
    for (const csr of [join(cwd, 'big.csr'), '/dev/zero']) {
      const r = await cli(['issue', '--dir', dir, '--ca', 'root', '--csr', csr, '--json'], deps);
      expect(r.code).toBe(4);
      expect(r.json.error.code).toBe('POLICY_INPUT_TOO_LARGE');
      expect(r.json.error.message).toContain(csr);
    }
    const manySans = encodeSans(Array.from({ length: MAX_SANS + 1 }, (_, i) => ({ type: 'dns' as const, value: `h${i}.example.com` })));
    expect(() => decodeSans(manySans)).toThrow(/at most 1024/);
    const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    fs.writeFileSync(join(cwd, 'sans.csr'), toPem('CERTIFICATE REQUEST', buildCsr(encodeName(parseDn('CN=many')), key, signatureAlgorithmFor('ecdsa-p256'), [encodeExtension('2.5.29.17', false, manySans)])));
    const r = await cli(['issue', '--dir', dir, '--ca', 'root', '--csr', join(cwd, 'sans.csr'), '--json'], deps);
    expect(r.json.error.code).toBe('CRYPTO_BAD_CSR');
    expect(r.json.error.message).toMatch(/at most 1024/);
    const longName = encodeName(Array.from({ length: MAX_NAME_ATTRIBUTES + 1 }, (_, i) => [{ type: 'OU', oid: '2.5.4.11', value: `u${i}` }]));
    expect(() => decodeNameDer(longName)).toThrow(/at most 128/);
  });
});
