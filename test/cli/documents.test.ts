/**
 * Use cases take documents (bytes and a name), not paths: a library caller holding certificates in memory uses them
 * without a file; the CLI reads a file only when the use case first needs it, so the use case's own input checks
 * come first.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentOf } from '../../src/app/documents.js';
import { inspectFile } from '../../src/app/inspect.js';
import { lintFile } from '../../src/app/lint.js';
import { previewCertificate } from '../../src/app/preview.js';
import { verifyCertificate } from '../../src/app/verify.js';
import { fileDocument } from '../../src/cli/documents.js';
import { cli, makeDeps, makePki, tempDir } from '../helpers.js';

describe('use cases read documents, the CLI reads files', () => {
  it('verify, lint, preview and inspect work on bytes held in memory, with no file in reach', async () => {
    const { cwd, dir, deps } = await makePki();
    const issued = await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=app-01,O=Example', '--key-out', join(cwd, 'a.key'), '--out', join(cwd, 'a.pem'), '--dir', dir], deps);
    expect(issued.code).toBe(0);
    const bundle = await cli(['anchor', 'bundle', '--ca', 'root', '--out', join(cwd, 'bundle.pem'), '--dir', dir], deps);
    expect(bundle.code, bundle.stderr).toBe(0);
    const chain = await cli(['ca', 'export', 'issuing-1', '--out', join(cwd, 'chain.pem'), '--dir', dir], deps);
    expect(chain.code, chain.stderr).toBe(0);
    const leaf = documentOf('leaf (memory)', fs.readFileSync(join(cwd, 'a.pem')));
    const anchors = documentOf('anchors (memory)', fs.readFileSync(join(cwd, 'bundle.pem')));
    const inter = documentOf('chain (memory)', fs.readFileSync(join(cwd, 'chain.pem')));
    // The library's working directory is empty: nothing could be read from a path.
    const lib = makeDeps(tempDir('pki-nofiles-'));
    const v = await verifyCertificate(lib, { cert: leaf, chain: inter, anchorBundle: anchors });
    expect(v.valid).toBe(true);
    expect(v.path).toHaveLength(3);
    // Without the intermediate there is no path to the root.
    const noChain = await verifyCertificate(lib, { cert: leaf, anchorBundle: anchors });
    expect(noChain.valid).toBe(false);
    const l = lintFile(lib, { name: 'leaf (memory)', content: { kind: 'bytes', data: leaf.data } }, { chain: inter });
    expect(l.as).toBe('leaf');
    expect(l.findings.filter((f) => f.severity === 'error')).toEqual([]);
    const p = await previewCertificate(lib, { cert: leaf });
    expect(p.roleSessionName).toMatch(/^[0-9a-f]+$/);
    expect(p.tags['x509Subject/CN']).toBe('app-01');
    const i = await inspectFile(lib, { file: { name: 'anchors (memory)', content: { kind: 'bytes', data: anchors.data } } });
    expect(i.type).toBe('certificate');
    // Errors name the document by the name it was given.
    await expect(verifyCertificate(lib, { cert: documentOf('junk (memory)', 'not a certificate'), anchorBundle: anchors })).rejects.toThrow(/junk \(memory\)/);
  });

  it('a file document is read when first used, once, with the bounded reader; its errors name the input field', () => {
    const cwd = tempDir('pki-docs-');
    fs.writeFileSync(join(cwd, 'x.pem'), 'first');
    const doc = fileDocument(cwd, 'x.pem', 'cert');
    fs.writeFileSync(join(cwd, 'x.pem'), 'second');
    expect(doc.data.toString()).toBe('second');
    fs.writeFileSync(join(cwd, 'x.pem'), 'third');
    expect(doc.data.toString()).toBe('second');
    const missing = fileDocument(cwd, 'absent.pem', 'cert');
    expect(() => missing.data).toThrow(/^input\.cert .*absent\.pem: no such file$/);
    fs.writeFileSync(join(cwd, 'big.pem'), Buffer.alloc(2048));
    expect(() => fileDocument(cwd, 'big.pem', 'cert', 1024).data).toThrow(/larger than 1 KiB/);
  });

  it('the CLI: a use case\'s own input check comes before reading a file it names (pki revoke --serial with --cert)', async () => {
    const { cwd, dir, deps } = await makePki();
    const r = await cli(['revoke', '--ca', 'issuing-1', '--serial', '01', '--cert', join(cwd, 'absent.pem'), '--dir', dir, '--json'], deps);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE_MISSING_INPUT');
  });
});
