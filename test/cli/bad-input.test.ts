/**
 * Every bad input named in the foundation issue: a named error, its documented exit code, and nothing written
 * (the file tree and the store's row counts are identical before and after).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fixture, makeDeps, makePki, snapshot, tempDir } from '../helpers.js';

async function expectRefused(argv: string[], code: string, exit: number, setup?: (ctx: { cwd: string; dir: string }) => void | Promise<void>) {
  const pki = await makePki();
  await setup?.(pki);
  const before = snapshot(pki.cwd);
  const r = await cli([...argv.map((a) => a.replaceAll('$CWD', pki.cwd)), '--dir', pki.dir, '--json'], pki.deps);
  expect(r.json.ok, r.stdout).toBe(false);
  expect(r.json.error.code).toBe(code);
  expect(r.code).toBe(exit);
  expect(snapshot(pki.cwd)).toEqual(before);
  return r.json.error as { code: string; message: string; details: Record<string, unknown> };
}

const TIGHT_PROFILE = `name: tight
kind: leaf
validity: { default: 1h, max: 12h }
subject:
  allow: ['CN=[a-z0-9-]+\\.svc,O=Example']
san:
  allow:
    dns: ['[a-z0-9-]+\\.example\\.com']
`;

describe('bad input: named error, documented exit code, nothing written', () => {
  it.each([
    ['garbage.csr', 'CRYPTO_BAD_CSR', 7],
    ['truncated.csr', 'CRYPTO_BAD_CSR', 7],
    ['badsig.csr', 'CRYPTO_BAD_CSR_SIGNATURE', 7],
    ['sha1.csr', 'POLICY_WEAK_SIGNATURE', 4],
    ['rsa1024.csr', 'POLICY_KEY_TOO_SMALL', 4],
    ['p521.csr', 'POLICY_KEY_TYPE_NOT_ALLOWED', 4],
    ['ed25519.csr', 'CRYPTO_UNSUPPORTED_ALGORITHM', 7],
  ])('fail/CSR %s → %s (exit %i), message names the file', async (file, code, exit) => {
    const err = await expectRefused(['issue', '--ca', 'issuing-1', '--csr', fixture(`csr/${file}`), '--out', '$CWD/out.pem'], code, exit);
    expect(err.message).toContain(file);
  });

  it('fail/malformed PEM body (bad base64) → CRYPTO_BAD_CSR', async () => {
    await expectRefused(['issue', '--ca', 'issuing-1', '--csr', '$CWD/bad.csr', '--out', '$CWD/out.pem'], 'CRYPTO_BAD_CSR', 7, ({ cwd }) =>
      fs.writeFileSync(join(cwd, 'bad.csr'), '-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n'),
    );
  });

  it('fail/DER with trailing garbage → CRYPTO_BAD_CSR', async () => {
    await expectRefused(['issue', '--ca', 'issuing-1', '--csr', '$CWD/trailing.der', '--out', '$CWD/out.pem'], 'CRYPTO_BAD_CSR', 7, ({ cwd }) => {
      const pem = fs.readFileSync(fixture('csr/p256.csr'), 'utf8');
      const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
      fs.writeFileSync(join(cwd, 'trailing.der'), Buffer.concat([der, Buffer.from([0, 0])]));
    });
  });

  it('fail/a SAN the profile does not allow → POLICY_SAN_NOT_ALLOWED', async () => {
    const err = await expectRefused(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/disallowed-san.csr'), '--profile', '$CWD/tight.yaml', '--out', '$CWD/out.pem'], 'POLICY_SUBJECT_NOT_ALLOWED', 4, ({ cwd }) =>
      fs.writeFileSync(join(cwd, 'tight.yaml'), TIGHT_PROFILE),
    );
    // Subject and SAN are both refused; every problem is reported at once.
    const codes = (err.details.problems as Array<{ code: string }>).map((p) => p.code);
    expect(codes).toEqual(['POLICY_SUBJECT_NOT_ALLOWED', 'POLICY_SAN_NOT_ALLOWED']);
  });

  it('fail/--san outside the allow-list with an allowed subject → POLICY_SAN_NOT_ALLOWED', async () => {
    await expectRefused(
      ['issue', '--ca', 'issuing-1', '--subject', 'CN=api.svc,O=Example', '--san', 'dns:api.attacker.net', '--key-out', '$CWD/k.pem', '--profile', '$CWD/tight.yaml'],
      'POLICY_SAN_NOT_ALLOWED',
      4,
      ({ cwd }) => fs.writeFileSync(join(cwd, 'tight.yaml'), TIGHT_PROFILE),
    );
  });

  it('fail/malformed --san → USAGE_BAD_SAN (exit 2)', async () => {
    await expectRefused(['issue', '--ca', 'issuing-1', '--subject', 'CN=x', '--san', 'dns:not a name', '--key-out', '$CWD/k.pem'], 'USAGE_BAD_SAN', 2);
  });

  it('fail/validity over the profile maximum → POLICY_VALIDITY_TOO_LONG', async () => {
    await expectRefused(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--validity', '91d', '--out', '$CWD/out.pem'], 'POLICY_VALIDITY_TOO_LONG', 4);
  });

  it('fail/validity past the issuer notAfter → POLICY_VALIDITY_EXCEEDS_ISSUER', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=Short Root', '--validity', '30d', '--no-passphrase'], deps)).code).toBe(0);
    const before = snapshot(cwd);
    const r = await cli(['issue', '--ca', 'root', '--csr', fixture('csr/p256.csr'), '--validity', '60d', '--out', join(cwd, 'o.pem'), '--dir', dir, '--json'], deps);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_VALIDITY_EXCEEDS_ISSUER');
    expect(snapshot(cwd)).toEqual(before);
  });

  it('fail/a subject with a bad attribute → USAGE_BAD_SUBJECT', async () => {
    await expectRefused(['issue', '--ca', 'issuing-1', '--subject', 'XX=web,C=USA', '--key-out', '$CWD/k.pem'], 'USAGE_BAD_SUBJECT', 2);
  });

  it('fail/unknown CA → NOT_FOUND_CA (exit 5) naming the known CAs', async () => {
    const err = await expectRefused(['issue', '--ca', 'nope', '--csr', fixture('csr/p256.csr'), '--out', '$CWD/out.pem'], 'NOT_FOUND_CA', 5);
    expect(err.message).toContain('root, issuing-1');
  });

  it('fail/unknown serial → NOT_FOUND_SERIAL (exit 5)', async () => {
    await expectRefused(['revoke', '--ca', 'issuing-1', '--serial', '0badc0ffee'], 'NOT_FOUND_SERIAL', 5);
    await expectRefused(['show', '0badc0ffee'], 'NOT_FOUND_SERIAL', 5);
  });

  it('fail/a missing CSR file → NOT_FOUND_FILE (exit 5) naming the flag and path', async () => {
    const err = await expectRefused(['issue', '--ca', 'issuing-1', '--csr', '$CWD/missing.csr', '--out', '$CWD/out.pem'], 'NOT_FOUND_FILE', 5);
    expect(err.message).toMatch(/--csr .*missing\.csr/);
  });

  it('fail/an output file that exists without --force → STATE_OUTPUT_EXISTS (exit 6); --force overwrites', async () => {
    const pki = await makePki();
    const out = join(pki.cwd, 'exists.pem');
    fs.writeFileSync(out, 'keep me');
    const before = snapshot(pki.cwd);
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', out, '--dir', pki.dir, '--json'], pki.deps);
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('STATE_OUTPUT_EXISTS');
    expect(snapshot(pki.cwd)).toEqual(before);
    const forced = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', out, '--force', '--dir', pki.dir], pki.deps);
    expect(forced.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('fail/--key-out that exists is refused before a key is generated or a certificate recorded; --force replaces it', async () => {
    await expectRefused(['issue', '--ca', 'issuing-1', '--subject', 'CN=x', '--key-out', '$CWD/k.pem', '--out', '$CWD/c.pem'], 'STATE_OUTPUT_EXISTS', 6, ({ cwd }) =>
      fs.writeFileSync(join(cwd, 'k.pem'), 'old key'),
    );
    const pki = await makePki();
    fs.writeFileSync(join(pki.cwd, 'k.pem'), 'old key');
    const r = await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=x', '--key-out', join(pki.cwd, 'k.pem'), '--out', join(pki.cwd, 'c.pem'), '--force', '--dir', pki.dir], pki.deps);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(join(pki.cwd, 'k.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(fs.statSync(join(pki.cwd, 'k.pem')).mode & 0o777).toBe(0o600);
  });

  it('fail/an unwritable output directory → IO_NOT_WRITABLE (exit 8)', async () => {
    const pki = await makePki();
    // As root, directory permissions are not enforced, so a path below a regular file stands in for "unwritable".
    const blocked = process.getuid?.() === 0 ? join(pki.cwd, 'a-file') : join(pki.cwd, 'ro');
    if (process.getuid?.() === 0) fs.writeFileSync(blocked, '');
    else fs.mkdirSync(blocked, { mode: 0o555 });
    const before = snapshot(pki.cwd);
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(blocked, 'x.pem'), '--dir', pki.dir, '--json'], pki.deps);
    expect(r.code).toBe(8);
    expect(r.json.error.code).toBe('IO_NOT_WRITABLE');
    expect(r.json.error.message).toContain(blocked);
    expect(snapshot(pki.cwd)).toEqual(before);
  });

  it('fail/revoking twice → STATE_ALREADY_REVOKED (exit 6)', async () => {
    const pki = await makePki();
    const issued = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(pki.cwd, 'c.pem'), '--dir', pki.dir, '--json'], pki.deps);
    const serial: string = issued.json.data.serial;
    expect((await cli(['revoke', '--ca', 'issuing-1', '--serial', serial, '--dir', pki.dir], pki.deps)).code).toBe(0);
    const before = snapshot(pki.cwd);
    const again = await cli(['revoke', '--ca', 'issuing-1', '--serial', serial, '--reason', 'keyCompromise', '--dir', pki.dir, '--json'], pki.deps);
    expect(again.code).toBe(6);
    expect(again.json.error.code).toBe('STATE_ALREADY_REVOKED');
    expect(snapshot(pki.cwd)).toEqual(before);
  });

  it.each([
    ['certificateHold', 'USAGE_BAD_REASON'],
    ['stolen', 'USAGE_BAD_REASON'],
  ])('fail/--reason %s → %s (exit 2)', async (reason, code) => {
    await expectRefused(['revoke', '--ca', 'issuing-1', '--serial', '01', '--reason', reason], code, 2);
  });

  it('fail/a wrong passphrase → CRYPTO_BAD_PASSPHRASE (exit 7); a missing one → CRYPTO_PASSPHRASE_REQUIRED', async () => {
    const cwd = tempDir();
    const pass = join(cwd, 'pass');
    fs.writeFileSync(pass, 'the right passphrase\n');
    const wrong = join(cwd, 'wrong');
    fs.writeFileSync(wrong, 'not the passphrase\n');
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=Enc Root', '--passphrase-file', pass, '--pbkdf2-iterations', '10000'], deps)).code).toBe(0);
    const before = snapshot(cwd);
    const r = await cli(['ca', 'create', 'i1', '--parent', 'root', '--subject', 'CN=I1', '--passphrase-file', wrong, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(7);
    expect(r.json.error.code).toBe('CRYPTO_BAD_PASSPHRASE');
    expect(JSON.stringify(r.json)).not.toContain('not the passphrase');
    const none = await cli(['issue', '--ca', 'root', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'x.pem'), '--dir', dir, '--json'], deps);
    expect(none.code).toBe(7);
    expect(none.json.error.code).toBe('CRYPTO_PASSPHRASE_REQUIRED');
    expect(snapshot(cwd)).toEqual(before);
    const ok = await cli(['ca', 'create', 'i1', '--parent', 'root', '--subject', 'CN=I1', '--passphrase-file', pass, '--dir', dir], deps);
    expect(ok.code).toBe(0);
  });

  it('fail/init over an existing PKI → STATE_ALREADY_INITIALISED; init with a bad subject leaves no directory', async () => {
    const pki = await makePki();
    const before = snapshot(pki.cwd);
    const again = await cli(['init', '--dir', pki.dir, '--subject', 'CN=Again', '--no-passphrase', '--json'], pki.deps);
    expect(again.code).toBe(6);
    expect(again.json.error.code).toBe('STATE_ALREADY_INITIALISED');
    const bad = await cli(['init', '--dir', join(pki.cwd, 'new'), '--subject', 'C=Germany', '--no-passphrase', '--json'], pki.deps);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('USAGE_BAD_SUBJECT');
    expect(snapshot(pki.cwd)).toEqual(before);
  });

  it('fail/an imported CA certificate that does not match its key → CRYPTO_KEY_MISMATCH', async () => {
    const { execFileSync } = await import('node:child_process');
    await expectRefused(['ca', 'import', 'legacy', '--cert', '$CWD/ca.pem', '--key', '$CWD/other.key', '--no-passphrase'], 'CRYPTO_KEY_MISMATCH', 7, ({ cwd }) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(cwd, 'ca.key'), '-out', join(cwd, 'ca.pem'),
        '-subj', '/CN=Legacy', '-days', '3650', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
      execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(cwd, 'other.key')], { stdio: 'ignore' });
    });
  });

  it('fail/a profile with an unknown key reports file:line:col (exit 3)', async () => {
    const err = await expectRefused(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--profile', '$CWD/typo.yaml', '--out', '$CWD/o.pem'], 'PROFILE_INVALID', 3, ({ cwd }) =>
      fs.writeFileSync(join(cwd, 'typo.yaml'), 'kind: leaf\nvalidity: { default: 1h, max: 2h }\nextendedKeyUsages: [clientAuth]\n'),
    );
    expect(err.message).toMatch(/typo\.yaml:3:1: extendedKeyUsages: unknown key/);
  });

  it('fail/unknown flags and missing required flags → USAGE_INVALID_ARGUMENTS (exit 2)', async () => {
    await expectRefused(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--bogus', 'x'], 'USAGE_INVALID_ARGUMENTS', 2);
    // A passphrase value on the command line has its own code (and is never echoed: test/cli/security.test.ts).
    await expectRefused(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--passphrase', 'secret'], 'USAGE_PASSPHRASE_ARGUMENT', 2);
    await expectRefused(['revoke', '--serial', '01'], 'USAGE_INVALID_ARGUMENTS', 2);
  });

  it('fail/batch with one bad CSR issues nothing and reports every bad file', async () => {
    const pki = await makePki();
    const batch = join(pki.cwd, 'csrs');
    fs.mkdirSync(batch);
    for (const f of ['p256.csr', 'sha1.csr', 'p384.csr', 'garbage.csr']) fs.copyFileSync(fixture(`csr/${f}`), join(batch, f));
    const outDir = join(pki.cwd, 'out');
    fs.mkdirSync(outDir);
    const before = snapshot(pki.cwd);
    const r = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', pki.dir, '--json'], pki.deps);
    expect(r.json.ok).toBe(false);
    expect(r.code).toBe(7);
    const files = (r.json.error.details.problems as Array<{ file: string }>).map((p) => p.file.split('/').pop());
    expect(files).toEqual(['garbage.csr', 'sha1.csr']);
    expect(snapshot(pki.cwd)).toEqual(before);
  });
});
