/**
 * Independent validators accept what we produce: openssl verify -x509_strict, GnuTLS certtool --verify-chain,
 * NSS vfychain, and (when its Python package is present) pyca/cryptography's ClientVerifier. `.ci/run` installs
 * openssl, gnutls-bin and libnss3-tools.
 *
 * certtool cannot validate at a chosen time, so these PKIs are made with a fixed clock (2026-01-01) and validities
 * that cover any date the suite can run on (root to 2046, leaves to 2039) — no wall-clock reads.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, fixture, makeDeps, tempDir } from '../helpers.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const ATTIME = String(Math.floor(NOW.getTime() / 1000) + 86400);

function need(bin: string, pkg: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`]);
  if (r.status !== 0) throw new Error(`${bin} is not installed: apt-get install -y ${pkg} (.ci/run does this)`);
}

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const LONG_LEAF = 'kind: leaf\nvalidity: { default: 13y, max: 13y }\nkeyUsage: [digitalSignature]\nextendedKeyUsage: [clientAuth]\n';

interface Hierarchy {
  root: string;
  chain: string;
  leaves: Record<string, string>;
  dir: string;
}

async function hierarchy(name: string, rootKey: string, intKey: string, leafKeys: Array<{ name: string; csr?: string; keyType?: string }>): Promise<Hierarchy> {
  const cwd = tempDir(`pki-interop-${name}-`);
  const deps = makeDeps(cwd, { now: NOW, seed: name });
  const dir = join(cwd, 'pki');
  const ok = async (argv: string[]) => {
    const r = await cli([...argv, '--dir', dir], deps);
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  await ok(['init', '--subject', `CN=${name} Root CA,O=Interop`, '--key-type', rootKey, '--validity', '20y', '--no-passphrase']);
  await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', `CN=${name} Issuing CA,O=Interop`, '--key-type', intKey, '--validity', '14y', '--no-passphrase']);
  fs.writeFileSync(join(cwd, 'long-leaf.yaml'), LONG_LEAF);
  const root = join(cwd, 'root.pem');
  await ok(['ca', 'export', 'root', '--out', root]);
  const leaves: Record<string, string> = {};
  let chain = '';
  for (const leaf of leafKeys) {
    const out = join(cwd, `${leaf.name}.pem`);
    chain = join(cwd, 'chain.pem');
    const src = leaf.csr ? ['--csr', fixture(`csr/${leaf.csr}`)] : ['--subject', `CN=${leaf.name},O=Interop`, '--key-out', join(cwd, `${leaf.name}.key`), '--key-type', leaf.keyType!];
    await ok(['issue', '--ca', 'issuing-1', ...src, '--out', out, '--chain-out', chain, '--force', '--profile', join(cwd, 'long-leaf.yaml')]);
    leaves[leaf.name] = out;
  }
  return { root, chain, leaves, dir };
}

const hierarchies: Record<string, Hierarchy> = {};
let foreign: Hierarchy;

beforeAll(async () => {
  need('openssl', 'openssl');
  need('certtool', 'gnutls-bin');
  need('vfychain', 'libnss3-tools');
  hierarchies.ec = await hierarchy('EC', 'ecdsa-p256', 'ecdsa-p384', [
    { name: 'web-01', csr: 'p256.csr' },
    { name: 'p384-leaf', csr: 'p384.csr' },
  ]);
  hierarchies.rsa = await hierarchy('RSA', 'rsa-2048', 'rsa-3072', [
    { name: 'rsa-leaf', csr: 'rsa2048.csr' },
    { name: 'ec-under-rsa', keyType: 'ecdsa-p256' },
  ]);
  foreign = await hierarchy('Foreign', 'ecdsa-p256', 'ecdsa-p256', [{ name: 'intruder', keyType: 'ecdsa-p256' }]);
}, 120_000);

const cases = () =>
  Object.entries(hierarchies).flatMap(([kind, h]) => Object.entries(h.leaves).map(([leaf, file]) => ({ kind, leaf, file, h })));

describe('independent validators accept root → intermediate → leaf', () => {
  it('openssl verify -x509_strict -auth_level 2 -purpose sslclient', () => {
    expect(cases().length).toBe(4);
    for (const { leaf, file, h } of cases()) {
      const r = sh('openssl', ['verify', '-x509_strict', '-auth_level', '2', '-purpose', 'sslclient', '-attime', ATTIME, '-CAfile', h.root, '-untrusted', h.chain, file]);
      expect(r.out, leaf).toContain(': OK');
      expect(r.status, leaf).toBe(0);
    }
    const bad = sh('openssl', ['verify', '-x509_strict', '-attime', ATTIME, '-CAfile', hierarchies.ec!.root, '-untrusted', foreign.chain, foreign.leaves.intruder!]);
    expect(bad.status).not.toBe(0);
  });

  it('GnuTLS certtool --verify-chain (medium profile, clientAuth purpose)', () => {
    for (const { leaf, file, h } of cases()) {
      const bundle = `${file}.full`;
      fs.writeFileSync(bundle, fs.readFileSync(file, 'utf8') + fs.readFileSync(h.chain, 'utf8') + fs.readFileSync(h.root, 'utf8'));
      const r = sh('certtool', ['--verify-chain', '--verify-profile', 'medium', '--verify-purpose', '1.3.6.1.5.5.7.3.2', '--infile', bundle]);
      expect(r.out, leaf).toMatch(/Chain verification output: Verified/);
      expect(r.status, leaf).toBe(0);
    }
    const bundle = `${foreign.leaves.intruder}.mixed`;
    fs.writeFileSync(bundle, fs.readFileSync(foreign.leaves.intruder!, 'utf8') + fs.readFileSync(hierarchies.ec!.chain, 'utf8') + fs.readFileSync(hierarchies.ec!.root, 'utf8'));
    const bad = sh('certtool', ['--verify-chain', '--infile', bundle]);
    expect(bad.out).toMatch(/Not verified/);
  });

  it('NSS vfychain (libpkix, SSL client usage)', () => {
    for (const [kind, h] of Object.entries(hierarchies)) {
      const db = join(h.dir, `nssdb-${kind}`);
      fs.mkdirSync(db);
      expect(sh('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']).status).toBe(0);
      expect(sh('certutil', ['-A', '-d', `sql:${db}`, '-n', 'root', '-t', 'CT,C,C', '-i', h.root]).status).toBe(0);
      for (const [leaf, file] of Object.entries(h.leaves)) {
        const r = sh('vfychain', ['-d', `sql:${db}`, '-pp', '-u', '0', '-b', '2601020000Z', '-a', file, '-a', h.chain]);
        expect(r.out, `${kind}/${leaf}`).toContain('Chain is good!');
        expect(r.status, `${kind}/${leaf}`).toBe(0);
      }
      if (kind === 'ec') {
        const bad = sh('vfychain', ['-d', `sql:${db}`, '-pp', '-u', '0', '-b', '2601020000Z', '-a', foreign.leaves.intruder!, '-a', foreign.chain]);
        expect(bad.out).toContain('Chain is bad!');
      }
    }
  });

  it('pyca/cryptography ClientVerifier (skipped, with the reason printed, when cryptography >= 45 is absent)', (ctx) => {
    const probe = sh('python3', ['-c', 'from cryptography.x509.verification import ExtensionPolicy; print("ok")']);
    if (!probe.out.includes('ok')) {
      console.warn(`pyca/cryptography ClientVerifier unavailable: ${probe.out.trim().split('\n').pop()}`);
      ctx.skip();
    }
    const script = `
import sys, datetime
from cryptography import x509
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store
root, chain, leaf = (open(p,'rb').read() for p in sys.argv[1:4])
store = Store(x509.load_pem_x509_certificates(root))
# Web PKI defaults, except that a leaf may have no SAN: Roles Anywhere does not require one.
ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
b = PolicyBuilder().store(store).time(datetime.datetime(2026,1,2,tzinfo=datetime.timezone.utc))
v = b.extension_policies(ee_policy=ee, ca_policy=ExtensionPolicy.webpki_defaults_ca()).build_client_verifier()
v.verify(x509.load_pem_x509_certificate(leaf), x509.load_pem_x509_certificates(chain))
print("verified")
`;
    for (const { leaf, file, h } of cases()) {
      const r = sh('python3', ['-c', script, h.root, h.chain, file]);
      expect(r.out, leaf).toContain('verified');
    }
    const bad = sh('python3', ['-c', script, hierarchies.ec!.root, foreign.chain, foreign.leaves.intruder!]);
    expect(bad.out).not.toContain('verified');
  });
});

describe('keys are readable by openssl', () => {
  it('an encrypted CA key (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) opens with the passphrase and not without', async () => {
    const cwd = tempDir();
    const pass = join(cwd, 'pass');
    fs.writeFileSync(pass, 'interop passphrase\n');
    const deps = makeDeps(cwd, { now: NOW });
    const r = await cli(['init', '--dir', join(cwd, 'pki'), '--subject', 'CN=Key Root', '--key-type', 'rsa-2048', '--passphrase-file', pass, '--pbkdf2-iterations', '20000'], deps);
    expect(r.code).toBe(0);
    const key = join(cwd, 'pki/keys/root.key.pem');
    const parsed = sh('openssl', ['asn1parse', '-in', key]);
    expect(parsed.out).toMatch(/PBES2[\s\S]*PBKDF2[\s\S]*INTEGER\s+:4E20[\s\S]*hmacWithSHA256[\s\S]*aes-256-cbc/);
    expect(sh('openssl', ['pkey', '-in', key, '-passin', `file:${pass}`, '-noout']).status).toBe(0);
    expect(sh('openssl', ['pkey', '-in', key, '-passin', 'pass:wrong passphrase', '-noout']).status).not.toBe(0);
  });
});
