/**
 * #17 the dependency direction of src/, checked on the imports themselves (read with the TypeScript compiler's own
 * pre-processor: static imports, re-exports, dynamic import(), require()). Where today's code breaks a rule, the
 * exception is listed here with its reason; an exception that no longer applies fails the test, so the lists only
 * shrink.
 */
import * as fs from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const SRC = join(ROOT, 'src');

const filesUnder = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

/** src-relative path ("app/ca.ts") of every source file. */
const FILES = filesUnder(SRC).map((f) => relative(SRC, f).split('\\').join('/'));
const text = new Map(FILES.map((f) => [f, fs.readFileSync(join(SRC, f), 'utf8')]));

/** What `file` imports: packages and node: built-ins as written, src files as src-relative paths. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(text.get(file)!, true, true);
  return importedFiles.map(({ fileName }) => {
    if (!fileName.startsWith('.')) return fileName;
    const target = relative(SRC, join(dirname(join(SRC, file)), fileName)).split('\\').join('/');
    return target.replace(/\.js$/, '.ts');
  });
}
const IMPORTS = new Map(FILES.map((f) => [f, importsOf(f)]));

/** Files (other than those `allowed`) whose imports match `bad`, as "file → import". */
function offenders(bad: (imp: string) => boolean, allowed: (file: string) => boolean): string[] {
  return FILES.filter((f) => !allowed(f)).flatMap((f) => IMPORTS.get(f)!.filter(bad).map((imp) => `${f} → ${imp}`));
}

/** Files (other than those `allowed`) whose source matches `re`. */
function sourceOffenders(re: RegExp, allowed: (file: string) => boolean): string[] {
  return FILES.filter((f) => !allowed(f) && re.test(text.get(f)!));
}

/** `found` must be exactly the listed exceptions: a new violation fails, and so does an exception that was fixed. */
function expectOnly(found: string[], exceptions: Record<string, string>): void {
  expect(found.sort()).toEqual(Object.keys(exceptions).sort());
}

describe('#17 the dependency direction of src/', () => {
  it('the parser sees the imports (a sanity check on the rules below)', () => {
    expect(FILES).toContain('store/sqlite.ts');
    expect(IMPORTS.get('store/sqlite.ts')).toContain('better-sqlite3');
    expect(IMPORTS.get('app/workspace.ts')).toContain('adapters/keys/file.ts');
  });

  it('only src/store/ imports better-sqlite3', () => {
    expectOnly(offenders((i) => i === 'better-sqlite3', (f) => f.startsWith('store/')), {
      'app/import/cfssl.ts → better-sqlite3': "reads cfssl's own certdb (a foreign SQLite file, read-only), not pki's store; to move behind an import-source adapter",
    });
  });

  it('the store is opened through the StoreFactory: nothing outside src/store/ imports a store adapter (index.ts re-exports SqliteStore for the library API)', () => {
    expectOnly(offenders((i) => i === 'store/sqlite.ts' || i === 'store/postgres.ts', (f) => f.startsWith('store/') || f === 'index.ts'), {});
    expectOnly(offenders((i) => i === 'pg' || i === 'pg-cursor', (f) => f.startsWith('store/')), {});
  });

  it('only src/aws/ imports the AWS SDK', () => {
    expectOnly(offenders((i) => i.startsWith('@aws-sdk/') || i.startsWith('@smithy/'), (f) => f.startsWith('aws/')), {
      'app/publish.ts → @aws-sdk/client-rolesanywhere': 'SDK types (TrustAnchorDetail, CrlDetail) in publishing; to move into src/aws with the per-target gateway',
    });
  });

  it('the emulator never imports src/aws/ (it checks signatures with its own code)', () => {
    expectOnly(offenders((i) => i.startsWith('aws/'), (f) => !f.startsWith('emulator/')), {});
  });

  it('src/domain/ imports neither x509 nor I/O (files, network, processes, the store, AWS)', () => {
    const io = (i: string): boolean =>
      i.startsWith('x509/') ||
      i.startsWith('fs/') ||
      i.startsWith('store/') ||
      i.startsWith('aws/') ||
      i.startsWith('adapters/') ||
      i.startsWith('cli/') ||
      i.startsWith('app/') ||
      /^(node:)?(fs|fs\/promises|net|http|https|child_process|os|readline|dgram|tls)$/.test(i) ||
      i === 'better-sqlite3' ||
      i.startsWith('@aws-sdk/');
    expectOnly(offenders(io, (f) => !f.startsWith('domain/')), {});
  });

  it('no CA private key crosses the Signer port: private keys are parsed, encrypted and used to sign only in the key-store adapter (and in the workload-key readers)', () => {
    // Parsing a private key.
    expectOnly(sourceOffenders(/\bcreatePrivateKey\b/, (f) => f === 'crypto/keys.ts'), {});
    const importers = (name: string): string[] => FILES.filter((f) => f !== 'crypto/keys.ts' && new RegExp(`\\b${name}\\b`).test(text.get(f)!));
    expectOnly(importers('loadPrivateKey'), {
      'adapters/keys/file.ts': 'the key store reads CA key files',
      'aws/create-session.ts': "credential-process reads the workload's own key (not a CA key)",
    });
    expectOnly(importers('encryptPrivateKeyPem|encryptPkcs8Pem|decryptPkcs8|privateKeyFromPkcs8'), { 'adapters/keys/file.ts': 'the key store writes and reads CA key files' });
    // ML-DSA private keys (raw bytes, not KeyObjects) are read and used to sign in the key store only.
    expectOnly(importers('mlDsaSign|readMlDsaPkcs8|generateMlDsa').filter((f) => f !== 'crypto/mldsa.ts'), { 'adapters/keys/file.ts': 'the key store holds ML-DSA CA keys' });
    // Signing with a private KeyObject.
    expectOnly(importers('signWith|signWithAsync'), { 'adapters/keys/file.ts': 'the file key store signs with the key it holds' });
    expectOnly(sourceOffenders(/\bcreateSign\b|crypto\.sign\(/, (f) => f === 'crypto/keys.ts'), {
      'aws/x509-signer.ts': "signs CreateSession requests with the workload's own key (not a CA key)",
    });
    // The x509 builders and the use cases see a Signer, never a KeyObject of a CA.
    const issuer = /export interface Issuer \{[^}]*\}/.exec(text.get('x509/certificate.ts')!)?.[0];
    expect(issuer).toContain('signer: Signer');
    expect(issuer).not.toMatch(/KeyObject/);
    expectOnly(sourceOffenders(/KeyObject/, (f) => !/^(app\/(ca|crl|issuance|workspace)\.ts|app\/import\/|x509\/csr\.ts)/.test(f) || f === 'app/csr-pool.ts'), {
      'app/issuance.ts': "generatedRequest takes a generated workload key's public KeyObject",
      'x509/csr.ts': 'a parsed CSR carries its public key (verification only)',
    });
    // The file key store is built in one place (the workspace); other app modules see the port.
    expectOnly(offenders((i) => i.startsWith('adapters/'), (f) => f.startsWith('adapters/') || f === 'app/workspace.ts'), {
      'app/csr.ts → adapters/keys/file.ts': 'pki csr signs the CSR of a workload key it generates (signerForKey); not a CA key',
      'app/import/common.ts → adapters/keys/file.ts': 'the AdoptedKey type of a CA key being imported (held by the key store until the import commits)',
    });
  });

  it('Roles Anywhere limits are spelled only in src/domain/roles-anywhere.ts', () => {
    const literal = /\b(300_?000|16_?000|8_?000)\b|length > [25]\b|length >= 2\b|size > 2\b/;
    expectOnly(sourceOffenders(literal, (f) => f === 'domain/roles-anywhere.ts'), {
      'app/publish.ts': 'BUNDLE_MAX_CHARS and the 2-CA / 2-CRL quota checks of publishing: to be moved with the multi-account publishing change',
      'app/issuance.ts': '"subjectDer.length > 2" tests for an empty subject (a DER SEQUENCE header), not a Roles Anywhere limit',
      'x509/pem.ts': 'base64 decoder arithmetic, not a Roles Anywhere limit',
      'cli/run.ts': 'flag-name suggestion distance, not a Roles Anywhere limit',
      'aws/gateway.ts': '300_000 ms: refresh assumed-role credentials 5 minutes before they expire, not a Roles Anywhere limit',
      'emulator/server.ts': 'option documentation ("16000 in the current service model, 8000 in older ones"); the value comes from the domain',
    });
  });
});
