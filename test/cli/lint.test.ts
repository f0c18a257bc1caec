/**
 * `pki lint`: one case per rule, on certificates made with openssl (the commands are the fixtures' provenance,
 * run here so nothing opaque is committed), and every certificate the shipped profiles produce lints clean.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintCrl, lintLeaf } from '../../src/app/lint.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { decodeCrl } from '../../src/x509/crl.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

async function setup() {
  const cwd = tempDir('pki-lint-');
  const deps = makeDeps(cwd);
  deps.now = () => new Date();
  const dir = join(cwd, 'pki');
  const run = (argv: string[]) => cli([...argv, '--dir', dir, '--json'], deps);
  expect((await run(['init', '--subject', 'CN=Lint Root,O=Example', '--no-passphrase'])).code).toBe(0);
  expect((await run(['ca', 'export', 'root', '--out', join(cwd, 'root.pem')])).code).toBe(0);
  const ossl = (args: string[]) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });
  let n = 0;
  /** A leaf: openssl req for the key and CSR, openssl x509 -req signed by the PKI's root key with `ext`. */
  const leaf = (opts: { ext?: string | null; subj?: string; key?: string[]; digest?: string; serial?: string } = {}) => {
    const name = `l${++n}`;
    ossl(['req', '-new', ...(opts.key ?? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']), '-nodes', '-keyout', `${name}.key`, '-subj', opts.subj ?? '/CN=app/O=Example', '-out', `${name}.csr`]);
    const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', 'root.pem', '-CAkey', join(dir, 'keys/root.key.pem'), '-days', '30', `-${opts.digest ?? 'sha256'}`, '-set_serial', opts.serial ?? '0x5a3c9e0f1b2d4c6e', '-out', `${name}.pem`];
    const ext = opts.ext === undefined ? 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' : opts.ext;
    if (ext !== null) {
      fs.writeFileSync(join(cwd, `${name}.ext`), ext);
      args.push('-extfile', `${name}.ext`);
    }
    ossl(args);
    return `${name}.pem`;
  };
  /** A self-signed CA with openssl req -x509 and these -addext values. */
  const ca = (addext: string[]) => {
    const name = `ca${++n}`;
    ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${name}`, '-days', '365', ...addext.flatMap((a) => ['-addext', a]), '-out', `${name}.pem`]);
    return `${name}.pem`;
  };
  const lint = async (files: string[], extra: string[] = []) => {
    const r = await cli(['lint', ...files.map((f) => join(cwd, f)), ...extra, '--json'], deps);
    return { code: r.code, codes: (r.json.data?.results ?? []).flatMap((x: { findings: Array<{ code: string; severity: string }> }) => x.findings.map((f) => `${f.severity}:${f.code}`)), json: r.json };
  };
  return { cwd, dir, deps, run, ossl, leaf, ca, lint };
}

describe('pki lint', () => {
  it('a leaf that follows the rules (openssl with the right extensions) has no findings; exit 0', async () => {
    const t = await setup();
    expect(await t.lint([t.leaf()])).toMatchObject({ code: 0, codes: [] });
  });

  it.each([
    ['X.509 v1 (openssl x509 -req without -extfile)', { ext: null }, ['error:RA_NOT_V3', 'error:RA_LEAF_NO_DIGITAL_SIGNATURE', 'warning:X509_NO_SKI', 'warning:X509_NO_AKI']],
    ['CA:TRUE on a leaf', { ext: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' }, ['error:RA_LEAF_IS_CA']],
    ['keyUsage without digitalSignature', { ext: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' }, ['error:RA_LEAF_NO_DIGITAL_SIGNATURE']],
    ['a SHA-1 signature', { digest: 'sha1' }, ['error:RA_WEAK_SIGNATURE']],
    ['EKU serverAuth only', { ext: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' }, ['warning:RA_EKU_NO_CLIENT_AUTH']],
    ['an OU STS would drop', { subj: '/CN=app/OU=R&D/O=Example' }, ['warning:RA_SESSION_TAG_DROPPED']],
    ['a CN of 63 characters', { subj: `/CN=${'a'.repeat(63)}` }, ['notice:RA_SOURCE_IDENTITY_NO_PREFIX']],
    ['a one-octet serial', { serial: '0x05' }, ['warning:RA_SERIAL_SHORT']],
    ['a 21-octet serial', { serial: `0x7${'1'.repeat(41)}` }, ['error:X509_SERIAL_TOO_LONG']],
    ['a P-521 key', { key: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'] }, ['warning:RA_KEY_CURVE']],
    ['an Ed25519 key', { key: ['-newkey', 'ed25519'] }, ['error:RA_KEY_TYPE']],
    ['RSA-1024', { key: ['-newkey', 'rsa:1024'] }, ['warning:RA_RSA_SHORT']],
    ['no SKI or AKI', { ext: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n' }, ['warning:X509_NO_SKI', 'warning:X509_NO_AKI']],
    ['keyUsage not critical', { ext: 'basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' }, ['notice:X509_KU_NOT_CRITICAL']],
  ] as const)('leaf: %s', async (_name, opts, expected) => {
    const t = await setup();
    const r = await t.lint([t.leaf(opts as Parameters<typeof t.leaf>[0])], ['--as', 'leaf']);
    expect([...r.codes].sort()).toEqual([...expected].sort());
    expect(r.code).toBe(expected.some((c) => c.startsWith('error:')) ? 4 : 0);
  });

  it('encodings and dates, on openssl certificates with one byte changed (lint reads, it does not need the signature)', async () => {
    const t = await setup();
    const der = (file: string) => decodePemBlocks(fs.readFileSync(join(t.cwd, file), 'utf8'), file)[0]!.der;
    const write = (name: string, b: Buffer) => fs.writeFileSync(join(t.cwd, name), b);
    // keyUsage digitalSignature is 03 02 07 80; with 00 unused bits the BIT STRING is not minimal.
    const ku = Buffer.from(der(t.leaf()));
    const at = ku.indexOf(Buffer.from([0x03, 0x02, 0x07, 0x80]));
    ku[at + 2] = 0x00;
    write('ku.der', ku);
    expect((await t.lint(['ku.der'], ['--as', 'leaf'])).codes).toEqual(['error:X509_KU_NOT_MINIMAL']);
    // A notAfter after 2049 is GeneralizedTime; with its year turned into 2049 it must have been UTCTime.
    const long = t.leaf({ serial: '0x6f1e2d3c4b5a6978' });
    t.ossl(['x509', '-req', '-in', long.replace('.pem', '.csr'), '-CA', 'root.pem', '-CAkey', join(t.dir, 'keys/root.key.pem'), '-days', '9500', '-set_serial', '0x6f1e2d3c4b5a6979', '-extfile', long.replace('.pem', '.ext'), '-out', 'late.pem']);
    const late = Buffer.from(der('late.pem'));
    const g = late.indexOf(Buffer.from([0x18, 0x0f, 0x32, 0x30, 0x35]));
    expect(g).toBeGreaterThan(0);
    late.write('2049', g + 2);
    write('time.der', late);
    expect((await t.lint(['time.der'], ['--as', 'leaf'])).codes).toEqual(['error:X509_TIME_ENCODING']);
    // A negative serial (openssl writes what it is given).
    expect((await t.lint([t.leaf({ serial: '-0x1234567890' })], ['--as', 'leaf'])).codes).toEqual(['error:X509_SERIAL_NOT_POSITIVE']);
    // Dates: expired, not yet valid (the clock moved, not the certificate).
    const now = t.deps.now;
    const ok = t.leaf();
    t.deps.now = () => new Date(Date.now() + 40 * 86_400_000);
    expect((await t.lint([ok])).codes).toEqual(['error:X509_EXPIRED']);
    t.deps.now = () => new Date(Date.now() - 86_400_000);
    expect((await t.lint([ok])).codes).toEqual(['warning:X509_NOT_YET_VALID']);
    t.deps.now = now;
  });

  it('subjects: empty (with a SAN), a CN over 64 characters', async () => {
    const t = await setup();
    const empty = t.leaf({ subj: '/', ext: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=critical,DNS:app.example.com\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' });
    expect((await t.lint([empty])).codes).toContain('error:RA_EMPTY_SUBJECT');
    // openssl refuses to write a CN over 64 characters, so the rule is run on a parsed certificate given one.
    const parsed = readCertificate(fs.readFileSync(join(t.cwd, t.leaf())), 'c');
    const findings = lintLeaf({ ...parsed, subject: [[{ type: 'CN', oid: '2.5.4.3', value: 'c'.repeat(70) }]] }, new Date());
    expect(findings.map((f) => `${f.severity}:${f.code}`)).toEqual(['warning:RA_CN_TOO_LONG']);
  });

  it('a bundle over 8,000 characters is a warning, over 16,000 an error', async () => {
    const t = await setup();
    const sans = Array.from({ length: 70 }, (_, i) => `DNS:host-${i}.a-rather-long-domain-name.example.com`).join(',');
    const big = t.ca(['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', `subjectAltName=${sans}`]);
    const pem = fs.readFileSync(join(t.cwd, big), 'utf8');
    expect(pem.length).toBeGreaterThan(4000);
    expect(pem.length).toBeLessThan(8000);
    fs.writeFileSync(join(t.cwd, 'two.pem'), pem + pem);
    fs.writeFileSync(join(t.cwd, 'five.pem'), pem.repeat(5));
    expect((await t.lint(['two.pem'])).codes).toEqual(['warning:RA_BUNDLE_TOO_LARGE']);
    expect((await t.lint(['five.pem'])).codes.sort()).toEqual(['error:RA_BUNDLE_TOO_LARGE', 'error:RA_BUNDLE_TOO_MANY']);
  });

  it('CA certificates and bundles: no CA:TRUE, no keyCertSign, no cRLSign, no SKI, more than 2 in a bundle', async () => {
    const t = await setup();
    const good = t.ca(['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
    expect((await t.lint([good])).codes).toEqual([]);
    expect((await t.lint([t.ca(['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyCertSign,cRLSign'])], ['--as', 'ca'])).codes).toEqual(['error:RA_CA_NOT_CA']);
    expect((await t.lint([t.ca(['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature'])])).codes).toEqual(['error:RA_CA_NO_KEY_CERT_SIGN']);
    expect((await t.lint([t.ca(['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'])])).codes).toEqual(['notice:RA_CA_NO_CRL_SIGN']);
    expect((await t.lint([t.ca(['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=none'])])).codes).toEqual(['error:X509_NO_SKI']);
    expect((await t.lint([t.ca(['basicConstraints=CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'])])).codes).toEqual(['warning:X509_BC_NOT_CRITICAL']);
    const bundle = join(t.cwd, 'bundle.pem');
    fs.writeFileSync(bundle, [good, 'root.pem', good].map((f) => fs.readFileSync(join(t.cwd, f), 'utf8')).join(''));
    const r = await t.lint(['bundle.pem']);
    expect(r.json.data.results[0].as).toBe('anchor-bundle');
    expect(r.codes).toEqual(['error:RA_BUNDLE_TOO_MANY']);
    expect(r.code).toBe(4);
  });

  it('CRLs: a fresh one is clean; expired, over the size limit, without CRL Number or AKI (openssl ca -gencrl without extensions)', async () => {
    const t = await setup();
    expect((await t.run(['crl', 'generate', '--ca', 'root', '--out', join(t.cwd, 'crl.pem'), '--next-update', '1d'])).code).toBe(0);
    expect((await t.lint(['crl.pem'])).codes).toEqual([]);
    const later = t.deps.now;
    t.deps.now = () => new Date(Date.now() + 2 * 86_400_000);
    expect((await t.lint(['crl.pem'])).codes).toEqual(['error:RA_CRL_EXPIRED']);
    t.deps.now = later;
    const crl = decodeCrl(decodePemBlocks(fs.readFileSync(join(t.cwd, 'crl.pem'), 'utf8'), 'crl')[0]!.der, 'crl');
    expect(lintCrl(crl, 300_001, new Date()).map((f) => `${f.severity}:${f.code}`)).toEqual(['error:RA_CRL_TOO_LARGE']);
    expect(lintCrl(crl, 250_000, new Date()).map((f) => `${f.severity}:${f.code}`)).toEqual(['warning:RA_CRL_TOO_LARGE']);
    // openssl ca -gencrl with no crlnumber file and no extensions: a v1 CRL without number or AKI.
    fs.writeFileSync(join(t.cwd, 'index.txt'), '');
    fs.writeFileSync(join(t.cwd, 'ca.cnf'), `[ca]\ndefault_ca = c\n[c]\ndatabase = ${t.cwd}/index.txt\ncertificate = ${t.cwd}/root.pem\nprivate_key = ${t.dir}/keys/root.key.pem\ndefault_md = sha256\ndefault_crl_days = 7\n`);
    t.ossl(['ca', '-gencrl', '-config', 'ca.cnf', '-out', 'v1.crl']);
    expect((await t.lint(['v1.crl'])).codes.sort()).toEqual(['error:RA_CRL_NOT_V2', 'warning:X509_CRL_NO_NUMBER', 'warning:X509_NO_AKI']);
  });

  it('--chain: more than 5 intermediates is an error', async () => {
    const t = await setup();
    const leafFile = t.leaf();
    const root = fs.readFileSync(join(t.cwd, 'root.pem'), 'utf8');
    fs.writeFileSync(join(t.cwd, 'six.pem'), root.repeat(6));
    const r = await t.lint([leafFile], ['--chain', join(t.cwd, 'six.pem')]);
    expect(r.codes).toEqual(['error:RA_CHAIN_TOO_LONG']);
  });

  it('every certificate the shipped profiles produce lints clean (root, intermediate, workload, CRL)', async () => {
    const t = await setup();
    expect((await t.run(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Lint Issuing,O=Example', '--no-passphrase'])).code).toBe(0);
    expect((await t.run(['ca', 'export', 'issuing-1', '--out', join(t.cwd, 'issuing.pem')])).code).toBe(0);
    for (const kt of ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'])
      expect((await t.run(['issue', '--ca', 'issuing-1', '--subject', 'CN=app-01,O=Example', '--san', 'dns:app.example.com', '--key-type', kt, '--key-out', join(t.cwd, `${kt}.key`), '--out', join(t.cwd, `${kt}.pem`)])).code).toBe(0);
    expect((await t.run(['crl', 'generate', '--ca', 'issuing-1', '--out', join(t.cwd, 'i.crl')])).code).toBe(0);
    const r = await t.lint(['root.pem', 'issuing.pem', 'ecdsa-p256.pem', 'ecdsa-p384.pem', 'rsa-2048.pem', 'i.crl']);
    expect(r.codes).toEqual([]);
    expect(r.json.data.results.map((x: { as: string }) => x.as)).toEqual(['ca', 'ca', 'leaf', 'leaf', 'leaf', 'crl']);
    expect(r.code).toBe(0);
  });
});
