/**
 * bounded input: every reader refuses a file over its documented limit before reading it (certificates, CSRs,
 * bundles and keys 1 MiB; CRLs 1 GiB, decoded as they are read), with POLICY_INPUT_TOO_LARGE (exit 4) naming the
 * file and the limit; hostile PEM is refused in linear time. Large files are sparse (no disk used).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, makeDeps, snapshot, tempDir, type TestDeps } from '../helpers.js';

let cwd: string;
let deps: TestDeps;
const run = (argv: string[]) => cli([...argv, '--json'], deps);
/** A sparse file of `size` bytes starting with `head`. */
const sparse = (name: string, size: number, head = '') => {
  const p = join(cwd, name);
  fs.writeFileSync(p, head);
  fs.truncateSync(p, size);
  return p;
};
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

beforeAll(() => {
  cwd = tempDir('pki-limits-');
  deps = makeDeps(cwd);
  const ossl = (args: string[]) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Limits CA', '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  // A real CRL of 60,000 entries signed by openssl: about 1.8 MB of PEM, 1.3 MB of DER, over the 1 MiB limit of certificates.
  fs.mkdirSync(join(cwd, 'ca'));
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) lines.push(`R\t301231000000Z\t250101000000Z\t${(0x100000 + i).toString(16).toUpperCase()}\tunknown\t/CN=w${i}`);
  fs.writeFileSync(join(cwd, 'ca/index.txt'), lines.join('\n') + '\n');
  fs.writeFileSync(join(cwd, 'ca/crlnumber'), '01\n');
  fs.writeFileSync(join(cwd, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndatabase=ca/index.txt\ncrlnumber=ca/crlnumber\ndefault_md=sha256\ndefault_crl_days=3650\n');
  ossl(['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'big-crl.pem']);
});

describe('bounded input', () => {
  it('a 2 MB file of repeated "-----BEGIN X509 CRL-----" lines is refused as bad PEM by crl inspect (30-40 s before: quadratic scan)', async () => {
    fs.writeFileSync(join(cwd, 'hostile.pem'), '-----BEGIN X509 CRL-----\n'.repeat(Math.ceil((2 * MiB) / 25)));
    const r = await run(['crl', 'inspect', join(cwd, 'hostile.pem')]);
    expect(r.code).toBe(7);
    expect(r.json.error.code).toBe('CRYPTO_BAD_PEM');
    expect(r.json.error.message).toContain('hostile.pem');
  }, 15_000);

  it('... and by lint and inspect', async () => {
    for (const cmd of [['lint'], ['inspect']]) {
      const r = await run([...cmd, join(cwd, 'hostile.pem')]);
      expect(r.json.error.code, cmd[0]).toBe('CRYPTO_BAD_PEM');
      expect(r.code).toBe(7);
    }
  }, 15_000);

  it('a 600 MB PEM CRL file (an internal error at 1.8 GB RSS before) is read as it streams: refused on its first bad byte, exit 7 not 1', async () => {
    const big = sparse('600m.pem', 600 * MiB, '-----BEGIN X509 CRL-----\nMIIB\n');
    for (const argv of [['crl', 'inspect', big], ['crl', 'check', '--crl', big], ['lint', big], ['inspect', big], ['verify', '--cert', join(cwd, 'ca.pem'), '--anchor-bundle', join(cwd, 'ca.pem'), '--crl', big]]) {
      const r = await run(argv);
      expect(r.json?.error?.code, `${argv.join(' ')}: ${r.stdout}`).toBe('CRYPTO_BAD_PEM');
      expect(r.json.error.message).toMatch(/600m\.pem: PEM block X509 CRL is not valid base64 \(byte 0x00\) \(line 3\)/);
      expect(r.code).toBe(7);
    }
  }, 60_000);

  it('CRLs over 1 GiB are refused from their size, before reading, by every command that reads a CRL', async () => {
    const huge = sparse('huge.crl', 2 * GiB, '-----BEGIN X509 CRL-----\n');
    for (const argv of [['crl', 'inspect', huge], ['crl', 'check', '--crl', huge], ['lint', huge], ['inspect', huge], ['verify', '--cert', join(cwd, 'ca.pem'), '--anchor-bundle', join(cwd, 'ca.pem'), '--crl', huge]]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(4);
      expect(r.json.error.code).toBe('POLICY_INPUT_TOO_LARGE');
      expect(r.json.error.message).toContain(huge);
      expect(r.json.error.message).toContain('1 GiB');
    }
  });

  it('lint and inspect read certificates, CSRs and bundles up to 1 MiB only (they read up to 1 GiB before); a CRL may be larger', async () => {
    const cert = fs.readFileSync(join(cwd, 'ca.pem'), 'utf8');
    fs.writeFileSync(join(cwd, 'bundle.pem'), cert.repeat(Math.ceil((1.5 * MiB) / cert.length)));
    const zeros = sparse('zeros.der', 2 * MiB);
    // A DER certificate followed by 2 MiB: its first bytes say "certificate".
    const der = execFileSync('openssl', ['x509', '-in', join(cwd, 'ca.pem'), '-outform', 'DER']);
    const bigDer = sparse('big-cert.der', 2 * MiB);
    fs.writeFileSync(bigDer, der, { flag: 'r+' });
    for (const file of [join(cwd, 'bundle.pem'), zeros, bigDer]) {
      for (const cmd of ['lint', 'inspect']) {
        const r = await run([cmd, file]);
        expect(r.code, `${cmd} ${file}: ${r.stdout}`).toBe(4);
        expect(r.json.error.code).toBe('POLICY_INPUT_TOO_LARGE');
        expect(r.json.error.message).toContain(file);
        expect(r.json.error.message).toContain('1 MiB');
      }
    }
    const bigCrl = join(cwd, 'big-crl.pem');
    expect(fs.statSync(bigCrl).size).toBeGreaterThan(1.5 * MiB);
    const lint = await run(['lint', bigCrl]);
    expect(lint.json.data.results[0]).toMatchObject({ as: 'crl', subject: 'CN=Limits CA' });
    const inspect = await run(['inspect', bigCrl]);
    expect(inspect.json.data).toMatchObject({ type: 'crl', crl: { entries: 60_000 } });
    const crlInspect = await run(['crl', 'inspect', bigCrl, '--issuer', join(cwd, 'ca.pem')]);
    expect(crlInspect.json.data).toMatchObject({ entries: 60_000, signatureValid: true });
    // The same CRL as DER, also over 1 MiB.
    execFileSync('openssl', ['crl', '-in', bigCrl, '-outform', 'DER', '-out', join(cwd, 'big-crl.der')]);
    expect(fs.statSync(join(cwd, 'big-crl.der')).size).toBeGreaterThan(MiB);
    expect((await run(['inspect', join(cwd, 'big-crl.der')])).json.data).toMatchObject({ type: 'crl', crl: { entries: 60_000 } });
    const lintDer = await run(['lint', join(cwd, 'big-crl.der'), '--as', 'crl']);
    expect(lintDer.json.data?.results[0], lintDer.stdout).toMatchObject({ as: 'crl' });
  }, 60_000);

  it('every certificate, chain, key and passphrase reader refuses over 1 MiB before reading (sparse 2 GiB files)', async () => {
    const big = sparse('big.pem', 2 * GiB);
    const cert = join(cwd, 'ca.pem');
    const cases: string[][] = [
      ['verify', '--cert', big, '--anchor-bundle', cert],
      ['verify', '--cert', cert, '--anchor-bundle', big],
      ['verify', '--cert', cert, '--chain', big, '--anchor-bundle', cert],
      ['lint', cert, '--chain', big],
      ['crl', 'inspect', join(cwd, 'big-crl.pem'), '--issuer', big],
      ['crl', 'check', '--crl', join(cwd, 'big-crl.pem'), '--issuer', big],
      ['preview', '--cert', big],
      ['credential-process', '--certificate', big, '--private-key', join(cwd, 'ca.key'), '--trust-anchor-arn', 'arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/0c4e4b3c-7e57-4e57-8e57-0c4e4b3c7e57',
        '--profile-arn', 'arn:aws:rolesanywhere:us-east-1:111122223333:profile/0c4e4b3c-7e57-4e57-8e57-0c4e4b3c7e57', '--role-arn', 'arn:aws:iam::111122223333:role/app', '--endpoint', 'http://127.0.0.1:9'],
    ];
    for (const argv of cases) {
      const r = await run(argv);
      expect(r.code, `${argv.join(' ')}: ${r.stdout}`).toBe(4);
      expect(r.json.error.code).toBe('POLICY_INPUT_TOO_LARGE');
      expect(r.json.error.message).toContain(big);
      expect(r.json.error.message).toContain('1 MiB');
    }
  });

  it('no file descriptor is left open when a read is refused half-way (bad PEM, not a CRL, too large)', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const cert = fs.readFileSync(join(cwd, 'ca.pem'), 'utf8');
    fs.writeFileSync(join(cwd, 'bundle2.pem'), cert.repeat(Math.ceil((1.5 * MiB) / cert.length)));
    const bad = sparse('bad-crl.pem', 3 * MiB, '-----BEGIN X509 CRL-----\nMIIB\n');
    const before = fds();
    for (let i = 0; i < 5; i++) {
      for (const argv of [['lint', bad], ['inspect', join(cwd, 'bundle2.pem')], ['crl', 'inspect', bad], ['verify', '--cert', join(cwd, 'ca.pem'), '--anchor-bundle', join(cwd, 'ca.pem'), '--crl', bad]]) {
        const r = await run(argv);
        expect([4, 7], argv.join(' ')).toContain(r.code);
      }
    }
    expect(fds()).toBe(before);
  });

  it('the store-side readers too: CSR 64 KiB, serial list 256 MiB, --previous CRL 1 GiB, CA certificate, key and passphrase files 1 MiB; nothing is written', async () => {
    const dir = join(cwd, 'pki');
    expect((await run(['init', '--dir', dir, '--subject', 'CN=Limits Root', '--no-passphrase'])).code).toBe(0);
    const big = sparse('big-store.bin', 2 * GiB);
    const cases: [string[], string][] = [
      [['issue', '--ca', 'root', '--csr', big], '64 KiB'],
      [['revoke', '--ca', 'root', '--batch', big, '--reason', 'keyCompromise'], '256 MiB'],
      [['crl', 'generate', '--ca', 'root', '--previous', big, '--out', join(cwd, 'never.pem')], '1 GiB'],
      [['ca', 'import', 'ext', '--cert', big, '--key', join(cwd, 'ca.key')], '1 MiB'],
      [['ca', 'import', 'ext', '--cert', join(cwd, 'ca.pem'), '--key', big], '1 MiB'],
      [['ca', 'create', 'sub', '--parent', 'root', '--subject', 'CN=Sub', '--new-passphrase-file', big], '1 MiB'],
    ];
    const before = snapshot(dir);
    for (const [argv, limit] of cases) {
      const r = await run([...argv, '--dir', dir]);
      expect(r.code, `${argv.join(' ')}: ${r.stdout}`).toBe(4);
      expect(r.json.error.code).toBe('POLICY_INPUT_TOO_LARGE');
      expect(r.json.error.message).toContain(big);
      expect(r.json.error.message).toContain(limit);
    }
    expect(snapshot(dir)).toEqual(before);
    expect(fs.existsSync(join(cwd, 'never.pem'))).toBe(false);
  });
});
