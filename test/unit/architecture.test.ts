/**
 * the dependency direction of src/, checked on the imports themselves (read with the TypeScript compiler's own
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

describe('the dependency direction of src/', () => {
  it('the parser sees the imports (a sanity check on the rules below)', () => {
    expect(FILES).toContain('adapters/store/sqlite.ts');
    expect(IMPORTS.get('adapters/store/sqlite/connection.ts')).toContain('better-sqlite3');
    expect(IMPORTS.get('app/workspace.ts')).toContain('adapters/keys/file.ts');
  });

  it('only src/adapters/store/ (and the cfssl certdb reader) imports better-sqlite3', () => {
    expectOnly(offenders((i) => i === 'better-sqlite3', (f) => f.startsWith('adapters/store/') || f === 'adapters/import/cfssl-certdb.ts'), {
    });
  });

  it('the store is opened through the StoreFactory: nothing outside src/adapters/store/ imports a store adapter (index.ts re-exports SqliteStore and MemoryStore for the library API)', () => {
    expect(FILES).toContain('adapters/store/memory.ts');
    expectOnly(offenders((i) => i === 'adapters/store/sqlite.ts' || i === 'adapters/store/postgres.ts' || i === 'adapters/store/memory.ts', (f) => f.startsWith('adapters/store/') || f === 'index.ts'), {});
    expectOnly(offenders((i) => i === 'pg' || i === 'pg-cursor', (f) => f.startsWith('adapters/store/')), {});
  });

  it('only src/adapters/aws/ imports the AWS SDK', () => {
    expectOnly(offenders((i) => i.startsWith('@aws-sdk/') || i.startsWith('@smithy/'), (f) => f.startsWith('adapters/aws/')), {});
  });

  it('the emulator never imports src/adapters/aws/ (it checks signatures with its own code)', () => {
    expectOnly(offenders((i) => i.startsWith('adapters/aws/'), (f) => !f.startsWith('emulator/')), {});
  });

  it('src/domain/ imports neither x509 nor I/O (files, network, processes, the store, AWS)', () => {
    const io = (i: string): boolean =>
      i.startsWith('x509/') ||
      i.startsWith('fs/') ||
      i.startsWith('adapters/store/') ||
      i.startsWith('adapters/aws/') ||
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
    });
    expectOnly(importers('encryptPrivateKeyPem|encryptPkcs8Pem|decryptPkcs8|privateKeyFromPkcs8'), { 'adapters/keys/file.ts': 'the key store writes and reads CA key files' });
    // ML-DSA private keys (raw bytes, not KeyObjects) are read and used to sign in the key store only.
    expectOnly(importers('mlDsaSign|readMlDsaPkcs8|generateMlDsa').filter((f) => f !== 'crypto/mldsa.ts'), { 'adapters/keys/file.ts': 'the key store holds ML-DSA CA keys' });
    // Signing with a private KeyObject.
    expectOnly(importers('signWith|signWithAsync'), { 'adapters/keys/file.ts': 'the file key store signs with the key it holds' });
    expectOnly(sourceOffenders(/\bcreateSign\b|crypto\.sign\(/, (f) => f === 'crypto/keys.ts'), {
      'adapters/aws/x509-signer.ts': "signs CreateSession requests with the workload's own key (not a CA key)",
    });
    // The x509 builders and the use cases see a Signer, never a KeyObject of a CA.
    const issuer = /export interface Issuer \{[^}]*\}/.exec(text.get('x509/certificate.ts')!)?.[0];
    expect(issuer).toContain('signer: Signer');
    expect(issuer).not.toMatch(/KeyObject/);
    // The CA and CRL use cases (directories of modules) are among the files this rule reads.
    expect(FILES).toEqual(expect.arrayContaining(['app/ca/create.ts', 'app/ca/init.ts', 'app/crl/generate.ts']));
    expectOnly(sourceOffenders(/KeyObject/, (f) => !/^(app\/(ca|crl)\/|app\/(issuance|workspace)\.ts|app\/import\/|x509\/csr\.ts)/.test(f) || f === 'app/csr-pool.ts'), {
      'app/issuance.ts': "generatedRequest takes a generated workload key's public KeyObject",
      'x509/csr.ts': 'a parsed CSR carries its public key (verification only)',
    });
    // The file key store is built in one place (the workspace); other app modules see the port.
    expectOnly(offenders((i) => i.startsWith('adapters/keys/') || i.startsWith('adapters/import/'), (f) => f.startsWith('adapters/') || f === 'app/workspace.ts'), {
      'app/csr.ts → adapters/keys/file.ts': 'pki csr signs the CSR of a workload key it generates (generateWorkloadKey); not a CA key',
      'app/import/cfssl.ts → adapters/import/cfssl-certdb.ts': "pki import cfssl reads cfssl's certdb (a foreign SQLite file) through its import-source adapter",
      'app/csr.ts → adapters/keys/pkcs11.ts': 'pki csr --key-store/--key pkcs11:... generates or uses a workload key on a token and signs its CSR there; not a CA key',
      'app/import/common.ts → adapters/keys/file.ts': 'the AdoptedKey type of a CA key being imported (held by the key store until the import commits)',
    });
  });

  it('Roles Anywhere limits are spelled only in src/domain/roles-anywhere.ts', () => {
    const literal = /\b(300_?000|16_?000|8_?000)\b|length > [25]\b|length >= 2\b|size > 2\b/;
    expectOnly(sourceOffenders(literal, (f) => f === 'domain/roles-anywhere.ts'), {
      'app/issuance.ts': '"subjectDer.length > 2" tests for an empty subject (a DER SEQUENCE header), not a Roles Anywhere limit',
      'asn1/pem.ts': 'base64 decoder arithmetic, not a Roles Anywhere limit',
      'cli/run.ts': 'flag-name suggestion distance, not a Roles Anywhere limit',
      'adapters/aws/gateway.ts': '300_000 ms: refresh assumed-role credentials 5 minutes before they expire, not a Roles Anywhere limit',
      'emulator/server.ts': 'option documentation ("16000 in the current service model, 8000 in older ones"); the value comes from the domain',
    });
  });
});

/**
 * The text of every string literal and template in `file` (a template whole, `${}` for each substitution), read with
 * the TypeScript scanner (not comments, not code).
 */
function stringsOf(file: string): string[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text.get(file)!);
  const out: string[] = [];
  let braces = 0;
  /** Open templates: their text so far, and the brace depth their current substitution started at. */
  const open: Array<{ text: string; depth: number }> = [];
  for (let t = scanner.scan(); t !== ts.SyntaxKind.EndOfFileToken; t = scanner.scan()) {
    if ((t === ts.SyntaxKind.SlashToken || t === ts.SyntaxKind.SlashEqualsToken) && scanner.reScanSlashToken() === ts.SyntaxKind.RegularExpressionLiteral) continue;
    // A string inside a template's substitution is part of that template's text (a conditional part of a command).
    const emit = (s: string): void => void (open.length ? (open[open.length - 1]!.text += s) : out.push(s));
    if (t === ts.SyntaxKind.StringLiteral || t === ts.SyntaxKind.NoSubstitutionTemplateLiteral) emit(scanner.getTokenValue());
    else if (t === ts.SyntaxKind.TemplateHead) open.push({ text: scanner.getTokenValue(), depth: braces });
    else if (t === ts.SyntaxKind.OpenBraceToken) braces++;
    else if (t === ts.SyntaxKind.CloseBraceToken) {
      const top = open[open.length - 1];
      if (top && top.depth === braces) {
        const r = scanner.reScanTemplateToken(false);
        top.text += '${}' + scanner.getTokenValue();
        if (r === ts.SyntaxKind.TemplateTail) emit(open.pop()!.text);
      } else braces--;
    }
  }
  return out;
}

/** A flag named in a string: `--` and a letter, outside a suggested `pki …` command line (text for a person to run). */
const namesFlag = (s: string): boolean => /(^|[^-\w])--[a-z]/.test(s.replace(/\bpki [a-z][^\n]*/g, ''));

describe('use cases are free of the CLI', () => {
  it('the string scanner sees literals and template parts', () => {
    expect(stringsOf('cli/output/flags.ts')).toContain('--ca');
    expect(namesFlag('--new-ca root-2: no such CA')).toBe(true);
    expect(namesFlag('run pki rotate finish --anchor prod')).toBe(false);
    expect(namesFlag('input.newCa root-2: no such CA')).toBe(false);
    expect(stringsOf('app/rotation/status.ts')).toContain('pki rotate ${} --anchor ${}');
    expect(stringsOf('app/iam.ts').some((x) => x.startsWith('pki anchor push --name ${} --ca CA --target ${}'))).toBe(true);
  });

  it('no file outside src/cli/ reads process.argv or names a flag in a string (it names the typed input field: input.<field>, details.input)', () => {
    const offenders = FILES.filter((f) => !f.startsWith('cli/') && (/\bprocess\.argv\b/.test(text.get(f)!) || stringsOf(f).some(namesFlag)));
    expectOnly(offenders, {
      'config/config.ts': 'the configuration reference of crl.nextUpdate (README) says which pki crl generate flag overrides it',
      'adapters/store/migrations.ts': 'the description of a migration (recorded with it) names the pki issue --batch flags it serves',
      'adapters/store/postgres-migrations.ts': 'the description of a migration (recorded with it) names the pki issue --batch flags it serves',
      'app/credential-process-line.ts': "writes the credential_process command line of ~/.aws/config (the flags of pki credential-process and aws_signing_helper): generated configuration for another program, not an input",
      'errors.ts': 'the EXIT CODES table printed in every command\'s help says "re-run with --debug"',
      'adapters/keys/pkcs11.ts': "its hint for a missing token key is a pkcs11-tool command line (another program's flags: --module, --token-label, --list-objects), text for a person to run",
      'emulator/rules.ts': "a service error sent to the emulator's client names the emulator option that changes the UNCONFIRMED ML-DSA rule",
      'profile/load.ts': 'the configuration reference of validity.default (README) says which pki issue flag overrides it',
    });
  });
});

/** The top-level directory of a src-relative path ("x509/crl.ts" → "x509"; a file at the root is itself). */
const dirOf = (f: string): string => (f.includes('/') ? f.slice(0, f.indexOf('/')) : f.replace(/\.ts$/, ''));

/** Directory → the directories its files import (src files only). */
function directoryGraph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of FILES)
    for (const imp of IMPORTS.get(f)!) {
      if (!text.has(imp)) continue;
      const [a, b] = [dirOf(f), dirOf(imp)];
      if (a === b) continue;
      if (!g.has(a)) g.set(a, new Set());
      g.get(a)!.add(b);
    }
  return g;
}

/** Every pair of directories that import each other, directly or through others: "a ↔ b" with a < b. */
function directoryCycles(): string[] {
  const g = directoryGraph();
  const reach = (from: string): Set<string> => {
    const seen = new Set<string>();
    const todo = [...(g.get(from) ?? [])];
    while (todo.length) {
      const d = todo.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      todo.push(...(g.get(d) ?? []));
    }
    return seen;
  };
  const dirs = [...new Set(FILES.map(dirOf))].sort();
  const out: string[] = [];
  for (const a of dirs) for (const b of dirs) if (a < b && reach(a).has(b) && reach(b).has(a)) out.push(`${a} ↔ ${b}`);
  return out;
}

describe('directories form no cycle', () => {
  it('use cases that only read take documents (bytes and a name), not paths: they import no file-system module', () => {
    const READ_ONLY = ['app/lint.ts', 'app/inspect.ts', 'app/verify.ts', 'app/preview.ts', 'app/revoke.ts', 'app/iam.ts'];
    for (const f of READ_ONLY) expect(FILES, f).toContain(f);
    const bad = (imp: string) => /^(node:)?fs(\/promises)?$/.test(imp) || imp === 'node:path' || imp.startsWith('fs/');
    expect(READ_ONLY.flatMap((f) => IMPORTS.get(f)!.filter(bad).map((imp) => `${f} → ${imp}`))).toEqual([]);
  });

  it('the ASN.1 codec (src/asn1/) is the bottom layer: it imports nothing of src/ but the error type', () => {
    expectOnly(offenders((i) => text.has(i) && !i.startsWith('asn1/') && i !== 'errors.ts', (f) => !f.startsWith('asn1/')), {});
  });

  it('src/crypto/ never imports src/x509/ (x509 uses crypto to verify; crypto encodes keys with the codec in src/asn1/)', () => {
    expectOnly(offenders((i) => i.startsWith('x509/'), (f) => !f.startsWith('crypto/')), {});
    // The sanity check: x509 does use crypto, so the edge that was cut is the only direction left.
    expect(offenders((i) => i.startsWith('crypto/'), (f) => !f.startsWith('x509/')).length).toBeGreaterThan(0);
  });

  it('no two directories of src/ import each other, directly or through others', () => {
    const keyType = "crypto's KeyType named by domain's key-type rules and by ports.ts, while crypto/keys.ts re-exports ROLES_ANYWHERE_KEY_TYPES and crypto/passphrase.ts takes Deps (type imports): KeyType moves into src/domain after the concurrent key-type changes land";
    expectOnly(directoryCycles(), {
      'crypto ↔ domain': keyType,
      'crypto ↔ ports': keyType,
      'domain ↔ ports': keyType,
    });
  });
});
