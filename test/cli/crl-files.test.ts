/**
 * CRL files that must land: `crl generate --out` on another file system (EXDEV), the served file rewritten under
 * --renew-before when it is not the store's latest CRL, `--format der` on stdout (never on a terminal), and
 * `crl inspect --entries` printing the header before the entries.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crlDerFromFile, decodeCrl } from '../../src/x509/crl.js';
import { cli, makeDeps, makePki, tempDir, type TestDeps } from '../helpers.js';

/** A directory on another file system than `dir` (tmpfs /dev/shm on Linux), or undefined. */
function otherFileSystem(dir: string): string | undefined {
  const dev = fs.statSync(dir).dev;
  for (const base of ['/dev/shm', '/run/shm', '/run/user']) {
    try {
      if (fs.statSync(base).dev !== dev) return fs.mkdtempSync(join(base, 'pki-exdev-'));
    } catch {
      /* not there, or not writable */
    }
  }
  return undefined;
}

async function pkiWithRevocation() {
  const pki = await makePki();
  const { cwd, dir, deps } = pki;
  const issued = await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=a', '--key-out', join(cwd, 'a.key'), '--out', join(cwd, 'a.pem'), '--dir', dir, '--json'], deps);
  expect((await cli(['revoke', '--ca', 'issuing-1', '--serial', issued.json.data.serial, '--dir', dir], deps)).code).toBe(0);
  return pki;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('crl generate --out', () => {
  const other = otherFileSystem(tempDir());
  afterAll(() => {
    if (other) fs.rmSync(other, { recursive: true, force: true });
  });
  it.skipIf(!other)('ok/--out on another file system than the PKI directory (no EXDEV): written, and the temporary is gone', async () => {
    const { dir, deps } = await pkiWithRevocation();
    const out = join(other!, 'crl.pem');
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', out, '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(decodeCrl(crlDerFromFile(fs.readFileSync(out), out), out).crlNumber).toBe(1n);
    expect(fs.readdirSync(other!)).toEqual(['crl.pem']);
  });

  it('fail/--out in a directory where no file can be created is refused before a CRL is signed', async () => {
    const { dir, deps } = await pkiWithRevocation();
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', '/proc/crl.pem', '--dir', dir, '--json'], deps);
    expect(r.json.error.code).toBe('IO_NOT_WRITABLE');
    expect((await cli(['crl', 'list', '--ca', 'issuing-1', '--dir', dir, '--json'], deps)).json.data).toEqual([]);
  });

  it('ok/--renew-before writes the latest CRL when the served file is missing or not the latest, and leaves it alone otherwise', async () => {
    const { cwd, dir, deps } = await pkiWithRevocation();
    const out = join(cwd, 'served.pem');
    const gen = (extra: string[] = []) => cli(['crl', 'generate', '--ca', 'issuing-1', '--renew-before', '2d', '--out', out, '--force', ...extra, '--dir', dir, '--json'], deps);
    expect((await gen()).json.data.generated).toBe(true);
    const latest = fs.readFileSync(out);
    // Up to date: nothing generated, nothing written.
    const same = await gen();
    expect(same.json.data).toMatchObject({ generated: false, rewrote: null });
    // The served file disappeared (or a write failed earlier): written again from the store, no new CRL.
    fs.rmSync(out);
    const missing = await gen();
    expect(missing.json.data).toMatchObject({ generated: false, rewrote: 'missing' });
    expect(fs.readFileSync(out)).toEqual(latest);
    // The served file is another (older) CRL: replaced by the latest.
    expect((await cli(['crl', 'generate', '--ca', 'issuing-1', '--dir', dir, '--json'], deps)).json.data.crl.crlNumber).toBe(2);
    const two = await cli(['crl', 'export', '--ca', 'issuing-1', '--dir', dir, '--json'], deps);
    fs.writeFileSync(out, latest);
    const stale = await cli(['crl', 'generate', '--ca', 'issuing-1', '--renew-before', '2d', '--out', out, '--force', '--dir', dir], deps);
    expect(stale.code).toBe(0);
    expect(stale.stdout).toContain('No new CRL');
    expect(stale.stdout).toContain(`Wrote CRL #2 to ${out}: the file there was not the latest CRL`);
    expect(fs.readFileSync(out, 'utf8')).toBe(two.json.data.pem);
    expect((await cli(['crl', 'list', '--ca', 'issuing-1', '--dir', dir, '--json'], deps)).json.data).toHaveLength(2);
  });
});

describe('crl generate --next-update', () => {
  it('ok/--next-update 2y is two calendar years (2028-03-01, not 730 days: 2028-02-29)', async () => {
    const { dir, deps } = await pkiWithRevocation();
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '2y', '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data.crl.nextUpdate).toBe('2028-03-01T12:00:00.000Z');
  });
});

describe('DER on stdout and inspect order', () => {
  async function withCrl() {
    const pki = await pkiWithRevocation();
    expect((await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(pki.cwd, 'crl.pem'), '--dir', pki.dir], pki.deps)).code).toBe(0);
    return pki;
  }
  /** Captures raw writes (strings and bytes) on stdout. */
  function rawStdout(deps: TestDeps, isTTY: boolean): Array<string | Buffer> {
    const chunks: Array<string | Buffer> = [];
    deps.stdout = { write: (s: string | Buffer) => chunks.push(s), isTTY } as unknown as TestDeps['stdout'];
    return chunks;
  }

  it('ok/crl export --format der writes DER bytes to stdout when it is not a terminal', async () => {
    const { cwd, dir, deps } = await withCrl();
    const chunks = rawStdout(deps, false);
    const r = await cli(['crl', 'export', '--ca', 'issuing-1', '--format', 'der', '--dir', dir], deps);
    expect(r.code).toBe(0);
    const der = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
    expect(der[0]).toBe(0x30);
    expect(sha(der)).toBe(sha(crlDerFromFile(fs.readFileSync(join(cwd, 'crl.pem')), 'crl.pem')));
  });

  it('fail/crl export --format der to a terminal is refused (USAGE_BINARY_TO_TERMINAL), nothing printed', async () => {
    const { dir, deps } = await withCrl();
    const chunks = rawStdout(deps, true);
    const r = await cli(['crl', 'export', '--ca', 'issuing-1', '--format', 'der', '--dir', dir], deps);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE_BINARY_TO_TERMINAL');
    expect(chunks).toEqual([]);
  });

  it('fail/crl generate --format der to a terminal is refused before a CRL is made (no CRL Number used up)', async () => {
    const { cwd, dir, deps } = await withCrl();
    const list = async () => (await cli(['crl', 'list', '--ca', 'issuing-1', '--dir', dir, '--json'], makeDeps(cwd))).json.data;
    const before = await list();
    const chunks = rawStdout(deps, true);
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--format', 'der', '--dir', dir], deps);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE_BINARY_TO_TERMINAL');
    expect(chunks).toEqual([]);
    expect(await list()).toEqual(before);
  });

  it('ok/crl export --format der --json carries the bytes as base64', async () => {
    const { cwd, dir, deps } = await withCrl();
    const r = await cli(['crl', 'export', '--ca', 'issuing-1', '--format', 'der', '--dir', dir, '--json'], deps);
    expect(Buffer.from(r.json.data.derBase64, 'base64')).toEqual(crlDerFromFile(fs.readFileSync(join(cwd, 'crl.pem')), 'crl.pem'));
  });

  it('ok/crl inspect --entries prints the header, then the entries, then the count', async () => {
    const { cwd, dir, deps } = await withCrl();
    const r = await cli(['crl', 'inspect', join(cwd, 'crl.pem'), '--ca', 'issuing-1', '--entries', '--dir', dir], deps);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^issuer {8}CN=Test Issuing CA 1/);
    const entryLine = lines.findIndex((l) => /^[0-9a-f]{20,}  /.test(l));
    expect(entryLine).toBeGreaterThan(lines.findIndex((l) => l.startsWith('signature')));
    expect(entryLine).toBeGreaterThan(lines.findIndex((l) => l.startsWith('CRL Number')));
    expect(lines.findIndex((l) => l.startsWith('entries'))).toBeGreaterThan(entryLine);
  });
});
