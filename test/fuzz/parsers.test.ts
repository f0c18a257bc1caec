/**
 * fuzzing (fast-check, seeded and reproducible): every parser that sees untrusted input ends in a result or a
 * PkiError with a documented code, never another exception. Inputs are random bytes and mutations of real objects
 * (byte flips, truncation, insertions, bad and huge length fields, indefinite lengths, deep nesting).
 *
 * FUZZ_SEED (default 20261123) and FUZZ_RUNS (default 300 per property) set the budget; `npm run fuzz` runs a long
 * one. A failure prints its seed and path: fix it and keep the counterexample in test/fuzz/regressions/ (README there).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseProfile } from '../../src/profile/load.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { crlDerFromFile, decodeCrl, walkCrlEntries } from '../../src/x509/crl.js';
import { readCsr } from '../../src/x509/csr.js';
import { decodePemBlocks, toPem } from '../../src/asn1/pem.js';
import { previewSession } from '../../src/domain/session.js';
import { lintCa, lintLeaf } from '../../src/app/lint.js';
import { validatePath } from '../../src/x509/path.js';
import { nameConstraintsOf, violation } from '../../src/x509/name-constraints.js';
import { checkPolicies, DEFAULT_POLICY_INPUTS } from '../../src/x509/policy.js';
import { makeDeps, tempDir, pkiIn } from '../helpers.js';
import { RUNS, SEED, mutated, settles } from './fuzz-helpers.js';

const bytes = fc.uint8Array({ maxLength: 2048 }).map((u) => Buffer.from(u));
const cfg = (n = RUNS) => ({ seed: SEED, numRuns: n });
let certDer: Buffer;
let csrDer: Buffer;
let crlDer: Buffer;

beforeAll(async () => {
  // Real objects from the product itself: a certificate with SANs, a CSR made by openssl's format via pki, a CRL with entries.
  const cwd = tempDir('pki-fuzz-');
  const deps = makeDeps(cwd, { seed: 'fuzz' });
  const dir = join(cwd, 'pki');
  const { ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=Fuzz Root,O=Example', '--no-passphrase']);
  const leaf = await ok(['issue', '--ca', 'root', '--subject', 'CN=fuzz,OU=a,OU=b,O=Example', '--san', 'dns:fuzz.example.com', '--san', 'uri:spiffe://x/y', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c.pem')]);
  await ok(['revoke', '--ca', 'root', '--serial', leaf.serial, '--reason', 'keyCompromise']);
  await ok(['crl', 'generate', '--ca', 'root', '--out', join(cwd, 'crl.der'), '--format', 'der']);
  await ok(['ca', 'csr', 'sub', '--subject', 'CN=Fuzz Sub', '--out', join(cwd, 'sub.csr'), '--no-passphrase']);
  certDer = decodePemBlocks(fs.readFileSync(join(cwd, 'c.pem'), 'utf8'), 'c')[0]!.der;
  csrDer = decodePemBlocks(fs.readFileSync(join(cwd, 'sub.csr'), 'utf8'), 'csr')[0]!.der;
  crlDer = fs.readFileSync(join(cwd, 'crl.der'));
});

describe('fuzz: parsers end in a result or a documented PkiError', () => {
  it('the seeds themselves parse', () => {
    expect(readCertificate(certDer, 'c').subjectDn).toBe('CN=fuzz,OU=a,OU=b,O=Example');
    expect(readCsr(csrDer, 'csr').subjectDn).toBe('CN=Fuzz Sub');
    expect(walkCrlEntries(decodeCrl(crlDer, 'crl'), 'crl').count).toBe(1);
  });

  it('certificates: random bytes, mutated DER and PEM (also through the session-tag preview)', () => {
    let parsed = 0;
    fc.assert(
      fc.property(fc.oneof(bytes, mutated(() => certDer)), (b) =>
        settles(() => {
          const c = readCertificate(b, 'fuzz');
          previewSession(c);
          lintLeaf(c, new Date());
          lintCa(c, new Date());
          // Path validation reads extensions the parser leaves alone (policies, name constraints, distribution points).
          validatePath(c, [c], [c], [], { at: new Date(), rejectWeakSignatures: false, crlCheck: 'all' });
          parsed++;
        }),
      ),
      cfg(),
    );
    // The mutations reach past the first bytes: some damaged certificates still parse (e.g. a flipped signature bit).
    expect(parsed).toBeGreaterThan(0);
    fc.assert(fc.property(mutated(() => Buffer.from(toPem('CERTIFICATE', certDer))), (b) => settles(() => readCertificate(b, 'fuzz'))), cfg());
  });

  it('path validation and lint on mutated CA certificates with policies, mappings, name constraints and distribution points (NIST PKITS)', () => {
    const pkits = join(process.cwd(), 'test/fixtures/nist-pkits/certs');
    const seeds = ['nameConstraintsDN1CACert', 'PoliciesP1234CACert', 'MappingFromanyPolicyCACert', 'indirectCRLCA1Cert'].filter((n) => fs.existsSync(join(pkits, `${n}.crt`)));
    expect(seeds.length).toBe(4);
    for (const n of seeds) {
      const seed = fs.readFileSync(join(pkits, `${n}.crt`));
      fc.assert(
        fc.property(mutated(() => seed), (b) =>
          settles(() => {
            const c = readCertificate(b, 'fuzz');
            lintCa(c, new Date());
            // The extension readers directly (a mutated certificate rarely keeps a valid signature to get this far).
            const nc = nameConstraintsOf(c);
            if (nc) violation(c, [nc], true);
            checkPolicies([c, c], DEFAULT_POLICY_INPUTS);
            validatePath(c, [c], [c], [], { at: new Date('2011-04-15T00:00:00Z'), rejectWeakSignatures: false, crlCheck: 'all' });
          }),
        ),
        cfg(Math.max(50, Math.floor(RUNS / 2))),
      );
    }
  });

  it('regressions: every input the fuzzer once failed on settles (test/fuzz/regressions)', () => {
    const dir = join(process.cwd(), 'test/fuzz/regressions');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.der'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files)
      expect(
        settles(() => {
          const c = readCertificate(fs.readFileSync(join(dir, f)), f);
          lintCa(c, new Date());
          const nc = nameConstraintsOf(c);
          if (nc) violation(c, [nc], true);
          checkPolicies([c, c], DEFAULT_POLICY_INPUTS);
          validatePath(c, [c], [c], [], { at: new Date('2011-04-15T00:00:00Z'), rejectWeakSignatures: false, crlCheck: 'all' });
        }),
        f,
      ).toBe(true);
  });

  it('CSRs: random bytes and mutated DER', () => {
    fc.assert(fc.property(fc.oneof(bytes, mutated(() => csrDer)), (b) => settles(() => readCsr(b, 'fuzz'))), cfg());
  });

  it('CRLs through the streaming decoder: header and every entry', () => {
    fc.assert(
      fc.property(fc.oneof(bytes, mutated(() => crlDer), mutated(() => Buffer.from(toPem('X509 CRL', crlDer)))), (b) =>
        settles(() => {
          const crl = decodeCrl(crlDerFromFile(b, 'fuzz'), 'fuzz');
          walkCrlEntries(crl, 'fuzz');
        }),
      ),
      cfg(),
    );
  });

  it('PEM text: random strings and damaged blocks', () => {
    const pem = toPem('CERTIFICATE', Buffer.alloc(40, 7));
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 500 }), fc.string({ maxLength: 40 }).map((s) => pem.replace('Bwc', s))), (t) => settles(() => decodePemBlocks(t, 'fuzz'))), cfg());
  });

  it('profiles: random YAML and mutations of a real profile', () => {
    const real = fs.readFileSync(join(process.cwd(), 'profiles/roles-anywhere-workload.yaml'), 'utf8');
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.tuple(fc.nat(), fc.string({ maxLength: 20 })).map(([at, s]) => real.slice(0, at % real.length) + s + real.slice(at % real.length)),
      fc.nat().map((at) => real.slice(0, at % real.length)),
    );
    fc.assert(fc.property(text, (t) => settles(() => parseProfile(t, 'fuzz.yaml'))), cfg());
  });
});
