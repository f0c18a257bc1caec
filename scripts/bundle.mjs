#!/usr/bin/env node
/**
 * Bundles the CLI into dist/bin/ with esbuild (after `tsc`, as part of `npm run build`):
 * - `pki.js` (the `bin`), with the command modules as chunks loaded on demand (src/cli/run.ts imports only the
 *   command a run names), the CSR worker (`csr-worker.js`: the pool finds it beside the code that starts it) and the
 *   chunks they share;
 * - `fast.js`, the `credential-process` fast path (src/cli/fast.ts), as one self-contained file: AWS SDKs start it
 *   for every credential refresh, and every module file costs start-up time.
 * A `pki` process then reads a handful of files instead of several hundred modules.
 *
 * External (loaded from node_modules at run time): better-sqlite3 (a native addon) and the AWS SDK (only the commands
 * that call AWS load it, on demand; its CommonJS build does not survive being bundled as ES modules).
 */
import { build } from 'esbuild';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = `${root}dist/bin`;
const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', '@aws-sdk/*', '@smithy/*'],
  // CommonJS dependencies call require() for Node built-ins: give the ES module bundle one.
  banner: { js: "import { createRequire as __pkiCreateRequire } from 'node:module'; const require = __pkiCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
};
/** main.ts's `import('./fast.js')` stays an import of the separately built dist/bin/fast.js. */
const fastApart = {
  name: 'fast-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/fast\.js$/ }, (args) => (args.importer.endsWith('/src/cli/main.ts') ? { path: './fast.js', external: true } : undefined));
  },
};
fs.rmSync(outdir, { recursive: true, force: true });
await build({ ...common, entryPoints: { pki: 'src/cli/main.ts', 'csr-worker': 'src/app/csr-worker.ts' }, splitting: true, chunkNames: 'chunk-[hash]', plugins: [fastApart] });
await build({ ...common, entryPoints: { fast: 'src/cli/fast.ts' } });
fs.chmodSync(`${outdir}/pki.js`, 0o755);
