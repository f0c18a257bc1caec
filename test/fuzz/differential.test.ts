/**
 * Differential fuzzing against openssl: real certificates and CRLs (made by pki and by openssl) have bytes of
 * their to-be-signed part changed and are re-signed by their issuer, so every mutation reaches the checks behind the
 * signature. Each mutant is judged by `pki verify --rfc5280`'s path validation (and, for CRLs, the CRL decoder and
 * signature check) and by `openssl verify -x509_strict` / `openssl crl -CAfile`. The property: pki never accepts what
 * openssl refuses. Where pki refuses what openssl accepts, the reasons are counted and printed with the agreement
 * rate (the README reports a long run: `npm run fuzz`).
 */
import { execFile, execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCertificate, readCertificate, type ParsedCertificate } from '../../src/x509/certificate.js';
import { crlDerFromFile, decodeCrl, walkCrlEntries } from '../../src/x509/crl.js';
import { bitString, children, readSingle, seq } from '../../src/asn1/der.js';
import { toPem } from '../../src/asn1/pem.js';
import { validatePath } from '../../src/x509/path.js';
import { cli, makeDeps, tempDir } from '../helpers.js';
import { RUNS, SEED } from './fuzz-helpers.js';

const run = promisify(execFile);
const opensslOk = async (args: string[]) => {
  try {
    const r = await run('openssl', args);
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
  }
};

/** Same-length changes to the TBS bytes: bit flips and byte replacements (the framing mostly survives). */
const edits = fc.array(fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'set'), bit: fc.integer({ min: 0, max: 7 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 });

function resign(der: Buffer, key: crypto.KeyObject, ops: Array<{ at: number; kind: string; bit: number; value: number }>, skipHeader: number): Buffer {
  const [tbsT, algT] = children(readSingle(der));
  const tbs = Buffer.from(tbsT!.raw);
  for (const o of ops) {
    const at = skipHeader + (o.at % (tbs.length - skipHeader)); // keep the TBS's own header intact
    tbs[at] = o.kind === 'flip' ? tbs[at]! ^ (1 << o.bit) : o.value;
  }
  const signature = crypto.sign(key.asymmetricKeyType === 'rsa' ? 'sha256' : 'sha256', tbs, key);
  return seq(tbs, algT!.raw, bitString(signature));
}

async function setup() {
  const cwd = tempDir('pki-diff-');
  const deps = makeDeps(cwd);
  deps.now = () => new Date();
  const dir = join(cwd, 'pki');
  const ok = async (argv: string[]) => {
    const r = await cli([...argv, '--dir', dir, '--json'], deps);
    if (r.code !== 0) throw new Error(r.stdout + r.stderr);
    return r.json.data;
  };
  await ok(['init', '--subject', 'CN=Diff Root,O=Example', '--no-passphrase']);
  await ok(['ca', 'export', 'root', '--out', join(cwd, 'root.pem')]);
  await ok(['issue', '--ca', 'root', '--subject', 'CN=diff-leaf,O=Example', '--san', 'dns:leaf.example.com', '--key-out', join(cwd, 'leaf.key'), '--out', join(cwd, 'leaf.pem')]);
  const serial = (await ok(['issue', '--ca', 'root', '--subject', 'CN=revoked', '--key-out', join(cwd, 'r.key'), '--out', join(cwd, 'r.pem')])).serial;
  await ok(['revoke', '--ca', 'root', '--serial', serial]);
  await ok(['crl', 'generate', '--ca', 'root', '--out', join(cwd, 'root.crl'), '--format', 'der']);
  // An openssl-made leaf too (a different encoder's choices).
  fs.writeFileSync(join(cwd, 'o.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nsubjectAltName=DNS:o.example.com,IP:10.0.0.1,email:a@example.com\n');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'o.key', '-subj', '/C=US/O=Example/CN=o-leaf', '-out', 'o.csr'], { cwd, stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-req', '-in', 'o.csr', '-CA', 'root.pem', '-CAkey', join(dir, 'keys/root.key.pem'), '-days', '3', '-sha256', '-set_serial', '0x00a1b2c3d4e5f60718', '-extfile', 'o.ext', '-out', 'o.pem'], { cwd, stdio: 'pipe' });
  const rootKey = crypto.createPrivateKey(fs.readFileSync(join(dir, 'keys/root.key.pem')));
  const root = readCertificate(fs.readFileSync(join(cwd, 'root.pem')), 'root.pem');
  return { cwd, rootKey, root };
}

describe('differential fuzz against openssl', () => {
  it('certificates: pki verify never accepts a re-signed mutant that openssl verify -x509_strict refuses', async () => {
    const { cwd, rootKey, root } = await setup();
    const seeds = ['leaf.pem', 'o.pem'].map((f) => readCertificate(fs.readFileSync(join(cwd, f)), f).der);
    let n = 0;
    let agree = 0;
    let bothValid = 0;
    const stricter = new Map<string, number>();
    const lenient: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.nat(seeds.length - 1), edits, async (which, ops) => {
        const der = resign(seeds[which]!, rootKey, ops, 4);
        const file = join(cwd, `m${n++ % 2}.pem`);
        fs.writeFileSync(file, toPem('CERTIFICATE', der));
        let leaf: ParsedCertificate | undefined;
        let why = '';
        try {
          leaf = parseCertificate(der, 'mutant');
        } catch (e) {
          why = `parse: ${(e as Error).message.replace(/.*\(/, '').replace(/ at byte \d+/, '').slice(0, 70)}`;
        }
        const r = leaf ? validatePath(leaf, [], [root], [], { at: new Date(), rejectWeakSignatures: true }) : undefined;
        const ours = !!r?.ok;
        if (r && !r.ok) why = `${r.failure.check}: ${r.failure.message.slice(0, 70)}`;
        const theirs = (await opensslOk(['verify', '-x509_strict', '-CAfile', join(cwd, 'root.pem'), file])).ok;
        if (ours === theirs) agree++;
        if (ours && theirs) bothValid++;
        if (!ours && theirs) stricter.set(why, (stricter.get(why) ?? 0) + 1);
        if (ours && !theirs) lenient.push(der.toString('base64'));
        return !(ours && !theirs);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(
      `certificate mutants: ${n}; same verdict as openssl on ${agree} (${((100 * agree) / n).toFixed(1)}%); both valid ${bothValid}; ` +
        `pki stricter on ${n - agree - lenient.length}:\n  ${[...stricter].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}× ${k}`).join('\n  ')}`,
    );
    expect(lenient).toEqual([]);
    expect(n).toBe(RUNS);
  }, 600_000);

  it('CRLs: pki never accepts (decodes, walks and verifies) a re-signed mutant that openssl crl -CAfile refuses', async () => {
    const { cwd, rootKey, root } = await setup();
    const seed = crlDerFromFile(fs.readFileSync(join(cwd, 'root.crl')), 'root.crl');
    let n = 0;
    let agree = 0;
    const lenient: string[] = [];
    await fc.assert(
      fc.asyncProperty(edits, async (ops) => {
        const der = resign(seed, rootKey, ops, 3);
        const file = join(cwd, `c${n++ % 2}.crl`);
        fs.writeFileSync(file, toPem('X509 CRL', der));
        let ours = false;
        try {
          const crl = decodeCrl(der, 'mutant');
          walkCrlEntries(crl, 'mutant', () => undefined);
          ours = crl.issuerDer.equals(root.subjectDer) && root.publicKey.verify(crl.signatureAlgorithm, crl.tbs, crl.signature);
        } catch {
          ours = false;
        }
        const o = await opensslOk(['crl', '-in', file, '-CAfile', join(cwd, 'root.pem'), '-noout']);
        const theirs = o.ok && /verify OK/.test(o.out);
        if (ours === theirs) agree++;
        if (ours && !theirs) lenient.push(der.toString('base64'));
        return !(ours && !theirs);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`CRL mutants: ${n}; same verdict as openssl crl on ${agree} (${((100 * agree) / n).toFixed(1)}%)`);
    expect(lenient).toEqual([]);
    expect(n).toBe(RUNS);
  }, 600_000);
});
