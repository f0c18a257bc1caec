/**
 * the emulator checks CreateSession signatures with its own code: no file under src/emulator/ may reach src/adapters/aws/
 * (pki's signer) through its imports, directly or through any other module of src/. Imports are read with the
 * TypeScript compiler's own pre-processor (static imports, re-exports, dynamic import(), require()).
 */
import * as fs from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const SRC = join(ROOT, 'src');

/** The .ts file a relative specifier names ("./x.js" → "./x.ts", "./dir" → "./dir/index.ts"). */
function resolve(from: string, spec: string): string | undefined {
  const base = join(dirname(from), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts'), base]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return undefined;
}

/** Every file of src/ reachable from `roots`, each with the chain of imports that reaches it. */
function reachable(roots: string[]): Map<string, string[]> {
  const chains = new Map<string, string[]>(roots.map((r) => [r, [r]]));
  const queue = [...roots];
  while (queue.length) {
    const file = queue.shift()!;
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue; // node: built-ins and packages
      const target = resolve(file, fileName);
      if (!target) throw new Error(`${relative(ROOT, file)} imports ${fileName}, which does not resolve to a file`);
      if (!target.startsWith(SRC) || chains.has(target)) continue;
      chains.set(target, [...chains.get(file)!, target]);
      queue.push(target);
    }
  }
  return chains;
}

const filesUnder = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

/** The import chains from `dir`'s files that end in src/adapters/aws/. */
function reachesAws(dir: string): string[] {
  return [...reachable(filesUnder(join(SRC, dir))).entries()].filter(([f]) => f.startsWith(join(SRC, 'adapters', 'aws') + '/')).map(([, chain]) => chain.map((f) => relative(ROOT, f)).join(' → '));
}

describe('the emulator does not use pki\'s signer', () => {
  it('no file under src/emulator/ reaches src/adapters/aws/, directly or transitively', () => {
    const emulatorFiles = filesUnder(join(SRC, 'emulator'));
    expect(emulatorFiles.map((f) => relative(SRC, f))).toEqual(expect.arrayContaining(['emulator/server.ts', 'emulator/sessions.ts', 'emulator/aws4-x509.ts']));
    expect(reachesAws('emulator')).toEqual([]);
  });

  it('the check sees imports: the CLI does reach src/adapters/aws/, and the emulator reaches src/x509/', () => {
    expect(reachesAws('cli').length).toBeGreaterThan(0);
    const fromEmulator = [...reachable(filesUnder(join(SRC, 'emulator'))).keys()].map((f) => relative(SRC, f));
    expect(fromEmulator).toEqual(expect.arrayContaining(['x509/path.ts', 'x509/certificate.ts', 'emulator/aws4-x509.ts']));
  });
});
