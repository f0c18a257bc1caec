/**
 * fuzzing of the two other untrusted surfaces: CLI argument combinations (offline commands; exit code never 1,
 * never an exception) and the emulator's request parsing (random methods, paths, headers and bodies: never a 500;
 * ids such as __proto__: nothing polluted) and its fault hook (random values: 200 or 400, never a crash).
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { run } from '../../src/cli/run.js';
import { makeDeps, tempDir, type TestDeps } from '../helpers.js';
import { RUNS, SEED } from './fuzz-helpers.js';

const COMMANDS = [
  ['init'], ['ca', 'create'], ['ca', 'csr'], ['ca', 'sign'], ['ca', 'import'], ['ca', 'list'], ['ca', 'export'], ['issue'], ['revoke'], ['list'], ['show'],
  ['crl', 'generate'], ['crl', 'check'], ['crl', 'inspect'], ['crl', 'list'], ['crl', 'export'], ['anchor', 'bundle'], ['rotate', 'plan'], ['rotate', 'status'],
  ['audit', 'verify'], ['audit', 'head'], ['audit', 'log'], ['ca', 'retire'], ['preview'], [],
];
const FLAGS = ['--ca', '--subject', '--csr', '--out', '--serial', '--reason', '--validity', '--profile', '--san', '--key-type', '--batch', '--out-dir', '--next-update', '--format', '--anchor', '--new-ca', '--cert', '--limit', '--status', '--force', '--json', '--no-passphrase', '--passphrase-file', '--number', '--warn', '--entries', '--chain', '--parent', '--root', '--dry-run', '--head', '--help'];
const VALUES = ['root', 'issuing-1', 'CN=x', 'CN=', '', '-1', '0', '1e309', '99999999999999999999', 'keyCompromise', 'removeFromCRL', '7d', '10y', '../../etc/passwd', '/dev/null', 'a'.repeat(300), 'CN=a,O=b+OU=c', 'dns:*.x', 'uri:', 'ecdsa-p521', 'rsa-1024', 'pem', 'der', '\u0000', 'ok\nbad', '0x00ff', 'zz'];

describe('fuzz: CLI arguments and emulator requests', () => {
  let deps: TestDeps;
  let dir: string;
  let emu: Emulator;
  beforeAll(async () => {
    const cwd = tempDir('pki-fuzz-cli-');
    deps = makeDeps(cwd, { seed: 'fuzz-cli' });
    deps.waitForShutdown = () => Promise.resolve();
    dir = join(cwd, 'pki');
    expect(await run(['init', '--dir', dir, '--subject', 'CN=Fuzz CLI Root', '--no-passphrase'], deps)).toBe(0);
    emu = await startEmulator({ ratePerSecond: 0 });
  });
  afterAll(() => emu.close());

  it('random argument lists to the offline commands: never exit 1 (INTERNAL), never an exception', async () => {
    const argv = fc.tuple(fc.constantFrom(...COMMANDS), fc.array(fc.oneof(fc.constantFrom(...FLAGS), fc.constantFrom(...VALUES), fc.string({ maxLength: 12 })), { maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(argv, async ([cmd, rest]) => {
        deps.out.length = 0;
        deps.err.length = 0;
        const code = await run([...cmd, ...rest, '--dir', dir], deps);
        if (code === 1) throw new Error(`exit 1 for ${JSON.stringify([...cmd, ...rest])}: ${deps.err.join('')}`);
        return Number.isInteger(code);
      }),
      { seed: SEED, numRuns: Math.max(50, Math.floor(RUNS / 2)) },
    );
  }, 300_000);

  it('random requests to the emulator: an answer for each, never a 500', async () => {
    const req = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      path: fc.oneof(
        fc.constantFrom('/trustanchors', '/crls', '/profiles', '/sessions', '/trustanchor/x', '/crl/x/enable', '/profiles/x/mappings', '/'),
        fc.tuple(fc.constantFrom('/trustanchor/', '/crl/', '/profile/', '/profiles/'), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'), fc.constantFrom('', '/enable', '/mappings')).map((p) => p.join('')),
        fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
      ),
      body: fc.oneof(fc.json(), fc.string({ maxLength: 200 }), fc.constant('{"name":"a","source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----"}}}')),
      auth: fc.constantFrom(
        'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host, Signature=00',
        'AWS4-X509-ECDSA-SHA256 Credential=1/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host;x-amz-date;x-amz-x509, Signature=00',
        '',
      ),
      x509: fc.oneof(fc.constant(undefined), fc.base64String({ maxLength: 200 })),
    });
    await fc.assert(
      fc.asyncProperty(req, async (r) => {
        const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amz-date': '20260101T000000Z' };
        if (r.auth) headers.authorization = r.auth;
        if (r.x509 !== undefined) headers['x-amz-x509'] = r.x509;
        const res = await fetch(emu.url + r.path, { method: r.method, headers, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: r.body }) });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`${res.status} for ${r.method} ${r.path}: ${text}`);
        if (Object.keys(Object.prototype).length) throw new Error(`${r.method} ${r.path} polluted Object.prototype with ${Object.keys(Object.prototype).join(', ')}`);
        return res.status >= 200;
      }),
      { seed: SEED, numRuns: Math.max(100, RUNS) },
    );
  }, 300_000);

  it('random fault-hook values: 200 for a fault, 400 for anything else; the emulator keeps answering', async () => {
    const value = fc.oneof(
      fc.json(),
      fc.record({ failNext: fc.oneof(fc.record({ status: fc.oneof(fc.integer(), fc.double(), fc.string()), count: fc.oneof(fc.integer(), fc.constant(null)) }, { requiredKeys: [] }), fc.constant(null)) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ latencyMs: fc.integer(), throttleNext: fc.integer(), dropAfterWrite: fc.oneof(fc.integer(), fc.string()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    );
    const auth = { authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host, Signature=00' };
    await fc.assert(
      fc.asyncProperty(value, async (body) => {
        const res = await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await res.text();
        if (res.status !== 200 && res.status !== 400) throw new Error(`${res.status} for faults ${body}: ${text}`);
        // Back to no faults (a valid one would inject failures), then an ordinary call is answered.
        if ((await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', body: '{}' })).status !== 200) throw new Error('faults could not be reset');
        const after = await fetch(`${emu.url}/trustanchors`, { headers: auth });
        await after.text();
        return after.status === 200;
      }),
      { seed: SEED, numRuns: Math.max(100, RUNS) },
    );
  }, 300_000);
});
