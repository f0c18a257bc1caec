/**
 * Our CRLs are accepted by openssl (crl -verify, verify -crl_check), GnuTLS (certtool --crl-info / --verify-crl) and
 * pyca/cryptography; our decoder reads openssl's CRLs and ours with identical entries (empty, 1 entry, reason-coded,
 * 100k entries). Fixed clock 2026-01-01 with long validities, as in validators.test.ts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { crlDerFromFile, decodeCrl, encodeCrlEntry, walkCrlEntries, type CrlEntry } from '../../src/x509/crl.js';
import { cli, makeDeps, tempDir } from '../helpers.js';
// @ts-expect-error a plain .mjs module shared with the benchmark
import { populateRevocations } from '../../bench/synthetic.mjs';

const NOW = new Date('2026-01-01T00:00:00Z');
const ATTIME = String(Math.floor(NOW.getTime() / 1000) + 3600);
const sh = (cmd: string, args: string[], input?: string) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(input ? { input } : {}) });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

let cwd: string;
let dir: string;
let deps: ReturnType<typeof makeDeps>;
const files: Record<string, string> = {};
const ok = async (argv: string[]) => {
  const r = await cli([...argv, '--dir', dir], deps);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}${r.stdout}`);
  return r;
};

function entriesOf(path: string): CrlEntry[] {
  const crl = decodeCrl(crlDerFromFile(fs.readFileSync(path), path), path);
  const out: CrlEntry[] = [];
  walkCrlEntries(crl, path, (e) => out.push(e));
  return out;
}

beforeAll(async () => {
  cwd = tempDir('pki-crl-interop-');
  dir = join(cwd, 'pki');
  deps = makeDeps(cwd, { now: NOW, seed: 'crl-interop' });
  await ok(['init', '--subject', 'CN=CRL Interop Root,O=Interop', '--key-type', 'rsa-2048', '--validity', '20y', '--no-passphrase']);
  await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=CRL Interop Issuing,O=Interop', '--validity', '14y', '--no-passphrase']);
  fs.writeFileSync(join(cwd, 'long.yaml'), 'kind: leaf\nvalidity: { default: 13y, max: 13y }\n');
  for (const name of ['good', 'revoked', 'superseded']) {
    await ok(['issue', '--ca', 'issuing-1', '--subject', `CN=${name},O=Interop`, '--key-out', join(cwd, `${name}.key`), '--out', join(cwd, `${name}.pem`), '--profile', join(cwd, 'long.yaml')]);
  }
  await ok(['revoke', '--ca', 'issuing-1', '--cert', join(cwd, 'revoked.pem'), '--reason', 'keyCompromise', '--invalidity-date', '2025-12-31T00:00:00Z']);
  await ok(['revoke', '--ca', 'issuing-1', '--cert', join(cwd, 'superseded.pem'), '--reason', 'superseded']);
  for (const [name, args] of [
    // certtool judges freshness by the real clock: nextUpdate far enough to cover any run date.
    ['issuing', ['crl', 'generate', '--ca', 'issuing-1', '--next-update', '13y']],
    ['root', ['crl', 'generate', '--ca', 'root', '--next-update', '13y']],
  ] as const) {
    files[name] = join(cwd, `${name}.crl.pem`);
    await ok([...args, '--out', files[name]!]);
  }
  files.root_cert = join(cwd, 'root.pem');
  files.issuing_cert = join(cwd, 'issuing.pem');
  await ok(['ca', 'export', 'root', '--out', files.root_cert]);
  await ok(['ca', 'export', 'issuing-1', '--out', files.issuing_cert]);
  fs.writeFileSync(join(cwd, 'crls.pem'), fs.readFileSync(files.issuing!, 'utf8') + fs.readFileSync(files.root!, 'utf8'));
});

describe('validators accept our CRLs', () => {
  it('openssl crl -verify; openssl verify -crl_check_all rejects the revoked leaves and accepts the good one', () => {
    expect(sh('openssl', ['crl', '-in', files.issuing!, '-CAfile', files.issuing_cert!, '-noout', '-verify']).out).toContain('verify OK');
    expect(sh('openssl', ['crl', '-in', files.root!, '-CAfile', files.root_cert!, '-noout', '-verify']).out).toContain('verify OK');
    const base = ['verify', '-x509_strict', '-attime', ATTIME, '-crl_check_all', '-CAfile', files.root_cert!, '-untrusted', files.issuing_cert!, '-CRLfile', join(cwd, 'crls.pem')];
    const good = sh('openssl', [...base, join(cwd, 'good.pem')]);
    expect(good.out).toContain('good.pem: OK');
    expect(good.status).toBe(0);
    for (const bad of ['revoked', 'superseded']) {
      const r = sh('openssl', [...base, join(cwd, `${bad}.pem`)]);
      expect(r.out, bad).toContain('certificate revoked');
      expect(r.status).not.toBe(0);
    }
    const text = sh('openssl', ['crl', '-in', files.issuing!, '-noout', '-text']).out;
    expect(text).toMatch(/X509v3 CRL Number: \n\s+1/);
    expect(text).toContain('Key Compromise');
    expect(text).toContain('Superseded');
    expect(text).toMatch(/Invalidity Date: \n\s+Dec 31 00:00:00 2025 GMT/);
  });

  it('GnuTLS certtool --crl-info and --verify-crl', () => {
    const info = sh('certtool', ['--crl-info', '--infile', files.issuing!]);
    expect(info.status).toBe(0);
    expect(info.out).toMatch(/Revoked certificates \(2\)/);
    expect(info.out).toMatch(/CRL Number \(not critical\): 01/);
    const v = sh('certtool', ['--verify-crl', '--load-ca-certificate', files.issuing_cert!, '--infile', files.issuing!]);
    expect(v.out).toMatch(/Verification output: Verified/);
    const wrong = sh('certtool', ['--verify-crl', '--load-ca-certificate', files.root_cert!, '--infile', files.issuing!]);
    expect(wrong.out).not.toMatch(/Verification output: Verified/);
  });

  it('pyca/cryptography loads it, checks the signature and reads the entries', (ctx) => {
    if (!sh('python3', ['-c', 'import cryptography; print("ok")']).out.includes('ok')) ctx.skip();
    const script = `
import sys
from cryptography import x509
crl = x509.load_pem_x509_crl(open(sys.argv[1],'rb').read())
ca = x509.load_pem_x509_certificate(open(sys.argv[2],'rb').read())
assert crl.is_signature_valid(ca.public_key()), "signature"
num = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
reasons = sorted(str(e.extensions.get_extension_for_class(x509.CRLReason).value.reason.name) for e in crl)
print(num, len(crl), ",".join(reasons))
`;
    const r = sh('python3', ['-c', script, files.issuing!, files.issuing_cert!]);
    expect(r.out.trim()).toBe('1 2 key_compromise,superseded');
  });
});

describe('round trip: our decoder reads openssl CRLs and ours with identical entries', () => {
  /** Builds an openssl CA over our issuing CA's key and an index.txt with the given revocations; returns the CRL path. */
  function opensslCrl(name: string, revoked: Array<{ serial: string; reason?: string }>): string {
    const d = join(cwd, `openssl-${name}`);
    fs.mkdirSync(d);
    const lines = revoked.map((r) => `R\t491231235959Z\t260101000000Z${r.reason ? `,${r.reason}` : ''}\t${r.serial.toUpperCase()}\tunknown\t/CN=x`).join('\n');
    fs.writeFileSync(join(d, 'index.txt'), lines ? `${lines}\n` : '');
    fs.writeFileSync(join(d, 'crlnumber'), '1000\n');
    fs.writeFileSync(
      join(d, 'ca.cnf'),
      `[ca]\ndefault_ca = c\n[c]\ndatabase = ${d}/index.txt\ncrlnumber = ${d}/crlnumber\ncertificate = ${files.issuing_cert}\nprivate_key = ${join(dir, 'keys/issuing-1.key.pem')}\ndefault_md = sha256\ndefault_crl_days = 30\ncrl_extensions = ext\n[ext]\nauthorityKeyIdentifier = keyid\n`,
    );
    const out = join(d, 'crl.pem');
    const r = sh('openssl', ['ca', '-gencrl', '-config', join(d, 'ca.cnf'), '-out', out]);
    if (r.status !== 0) throw new Error(r.out);
    return out;
  }

  it.each([
    ['empty', [] as Array<{ serial: string; reason?: string }>],
    ['one entry', [{ serial: '4f2a00c1deadbeef' }]],
    ['reason-coded', [{ serial: '01', reason: 'keyCompromise' }, { serial: '7fffffff', reason: 'superseded' }, { serial: 'ff00', reason: 'cessationOfOperation' }]],
  ])('openssl %s CRL', (name, revoked) => {
    const path = opensslCrl(name.replace(/\s/g, '-'), revoked);
    const crl = decodeCrl(crlDerFromFile(fs.readFileSync(path), path), path);
    expect(crl.crlNumber).toBe(0x1000n);
    const got = entriesOf(path).map((e) => [e.serialHex, e.reason ?? null]);
    const reasonCodes: Record<string, number> = { keyCompromise: 1, superseded: 4, cessationOfOperation: 5 };
    const want = revoked.map((r) => [r.serial.replace(/^(00)+/, ''), r.reason ? reasonCodes[r.reason]! : null]);
    expect(got.sort()).toEqual(want.sort());
  });

  it('100k entries: ours and openssl\'s, same serials, decoded identically', async () => {
    const serials: string[] = await populateRevocations(join(dir, 'pki.db'), 'issuing-1', 100_000, { reasonEvery: 3, revokedAt: NOW, notAfter: new Date('2040-01-01T00:00:00Z'), encodeCrlEntry });
    const ours = join(cwd, 'big.crl.pem');
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '1d', '--max-pem-bytes', '10000000', '--out', ours, '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data.crl.entries).toBe(100_002);
    expect(sh('openssl', ['crl', '-in', ours, '-CAfile', files.issuing_cert!, '-noout', '-verify']).out).toContain('verify OK');
    const mine = new Map(entriesOf(ours).map((e) => [e.serialHex, e.reason ?? 0]));
    expect(mine.size).toBe(100_002);
    for (const [i, s] of serials.entries()) expect(mine.get(s)).toBe(i % 3 === 0 ? 1 : 0);
    const theirs = opensslCrl('big', serials.map((s, i) => ({ serial: s, ...(i % 3 === 0 ? { reason: 'keyCompromise' } : {}) })));
    const decoded = entriesOf(theirs);
    expect(decoded.length).toBe(100_000);
    for (const e of decoded) expect(mine.get(e.serialHex)).toBe(e.reason ?? 0);
  }, 120_000);
});
