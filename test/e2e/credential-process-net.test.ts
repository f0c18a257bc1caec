/**
 * credential-process on the network: HTTPS except to loopback; TLS verification always on unless
 * --insecure-skip-tls-verify (required with NODE_TLS_REJECT_UNAUTHORIZED=0, and then for this request only);
 * --timeout bounds the whole exchange; the answer is capped; throttling and 5xx are retried within the budget.
 * Servers are local (127.0.0.1, ephemeral ports) and closed by each test.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkEndpoint } from '../../src/adapters/aws/create-session.js';
import { credentialsSetup } from '../aws-fixtures.js';
import { CLI, cli, makeDeps, tempDir, type TestDeps } from '../helpers.js';

let cwd: string;
let deps: TestDeps;
const servers: (http.Server | https.Server)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const CREDS = JSON.stringify({ credentialSet: [{ credentials: { accessKeyId: 'ASIAEXAMPLEEXAMPLE00', secretAccessKey: 'x'.repeat(40), sessionToken: 'token', expiration: '2030-01-01T00:00:00Z' } }] });

/** A local server; `connections` counts TCP connections (to show that nothing was sent). */
async function serve(handler: http.RequestListener, opts: { tls?: boolean; host?: string } = {}) {
  const server = opts.tls
    ? https.createServer({ key: fs.readFileSync(join(cwd, 'server.key')), cert: fs.readFileSync(join(cwd, 'server.pem')) }, handler)
    : http.createServer(handler);
  servers.push(server);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, opts.host ?? '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { port, connections: () => connections };
}

const ARNS = [
  '--trust-anchor-arn', 'arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/0c4e4b3c-7e57-4e57-8e57-0c4e4b3c7e57',
  '--profile-arn', 'arn:aws:rolesanywhere:us-east-1:111122223333:profile/0c4e4b3c-7e57-4e57-8e57-0c4e4b3c7e58',
  '--role-arn', 'arn:aws:iam::111122223333:role/app',
];
const args = (endpoint: string, extra: string[] = []) => ['credential-process', '--certificate', join(cwd, 'leaf.pem'), '--private-key', join(cwd, 'leaf.key'), ...ARNS, '--endpoint', endpoint, ...extra];
const withEnv = async (env: Record<string, string>, argv: string[]) => {
  const saved = deps.env;
  deps.env = { ...saved, ...env };
  try {
    return await cli(argv, deps);
  } finally {
    deps.env = saved;
  }
};

beforeAll(() => {
  cwd = tempDir('pki-cpnet-');
  deps = makeDeps(cwd);
  deps.now = () => new Date();
  const ossl = (a: string[]) => execFileSync('openssl', a, { cwd, stdio: 'pipe' });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.pem', '-subj', '/CN=app', '-days', '30']);
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.pem', '-subj', '/CN=127.0.0.1', '-days', '30', '-addext', 'subjectAltName=IP:127.0.0.1']);
});

describe('credential-process network safety', () => {
  it('plain HTTP is refused (exit 2, naming --endpoint, nothing sent) unless the host is loopback', async () => {
    const ip = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    const targets = ['http://rolesanywhere.us-east-1.amazonaws.com', 'http://192.0.2.10:8080'];
    let server: Awaited<ReturnType<typeof serve>> | undefined;
    if (ip) {
      server = await serve((_q, s) => s.end(CREDS), { host: '0.0.0.0' });
      targets.push(`http://${ip}:${server.port}`);
    }
    for (const endpoint of targets) {
      const r = await cli([...args(endpoint), '--json'], deps);
      expect(r.code, endpoint).toBe(2);
      expect(r.json.error.code).toBe('USAGE_INSECURE_ENDPOINT');
      expect(r.json.error.message).toContain('--endpoint');
    }
    if (server) expect(server.connections()).toBe(0);
    for (const ok of ['http://127.0.0.1:1', 'http://localhost:8080/', 'http://[::1]:9', 'http://127.1.2.3', 'https://example.com']) expect(checkEndpoint(ok, 'us-east-1').href).toContain(ok.slice(0, 12));
    for (const bad of ['http://128.0.0.1', 'http://127.0.0.1.example.com', 'http://localhost.example.com', 'http://[::ffff:127.0.0.1]', 'http://0.0.0.0']) expect(() => checkEndpoint(bad, 'us-east-1')).toThrow(expect.objectContaining({ code: 'USAGE_INSECURE_ENDPOINT' }));
    expect(() => checkEndpoint('ftp://127.0.0.1', 'us-east-1')).toThrow(expect.objectContaining({ code: 'USAGE_BAD_ENDPOINT' }));
  });

  it('NODE_TLS_REJECT_UNAUTHORIZED=0 is refused unless --insecure-skip-tls-verify; the flag turns verification off for that request only, with a warning', async () => {
    const server = await serve((_q, s) => s.end(CREDS), { tls: true });
    const url = `https://127.0.0.1:${server.port}`;
    const refused = await withEnv({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }, [...args(url), '--json']);
    expect(refused.code).toBe(2);
    expect(refused.json.error.code).toBe('USAGE_TLS_VERIFY_DISABLED');
    expect(server.connections()).toBe(0);
    // Verification is on by default: a self-signed server certificate is refused.
    const verified = await cli([...args(url), '--json'], deps);
    expect(verified.code).toBe(9);
    expect(verified.json.error.code).toBe('AWS_NetworkError');
    expect(verified.json.error.message).toMatch(/self[- ]signed/i);
    const insecure = await withEnv({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }, args(url, ['--insecure-skip-tls-verify']));
    expect(insecure.code, insecure.stderr).toBe(0);
    expect(JSON.parse(insecure.stdout).AccessKeyId).toBe('ASIAEXAMPLEEXAMPLE00');
    expect(insecure.stderr).toMatch(/warning: --insecure-skip-tls-verify/);
    // Nothing global changed: the next call verifies again.
    expect((await cli(args(url), deps)).code).toBe(9);
  });

  it('the fast path (the built CLI) accepts --insecure-skip-tls-verify and refuses NODE_TLS_REJECT_UNAUTHORIZED=0 without it', async () => {
    const server = await serve((_q, s) => s.end(CREDS), { tls: true });
    const url = `https://127.0.0.1:${server.port}`;
    const env = { PATH: process.env.PATH ?? '', NODE_TLS_REJECT_UNAUTHORIZED: '0' };
    // Asynchronous: the server runs in this process.
    const node = (extra: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [CLI, ...args(url, extra)], { env, cwd });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const refused = await node([]);
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('USAGE_TLS_VERIFY_DISABLED');
    const ok = await node(['--insecure-skip-tls-verify']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).Version).toBe(1);
    expect(ok.stderr).toContain('warning: --insecure-skip-tls-verify');
  });

  it('--timeout bounds the whole exchange: a server trickling a byte every 200 ms is cut off at 1 s (an idle timeout never fires)', async () => {
    const server = await serve((_q, s) => {
      s.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => s.write(' '), 200);
      s.on('close', () => clearInterval(t));
    });
    const r = await cli([...args(`http://127.0.0.1:${server.port}`, ['--timeout', '1']), '--json'], deps);
    expect(r.code).toBe(9);
    expect(r.json.error.code).toBe('AWS_TimeoutError');
    expect(r.json.error.message).toContain('--timeout 1 s');
    // A server that never answers at all.
    const silent = await serve(() => {});
    const s = await cli([...args(`http://127.0.0.1:${silent.port}`, ['--timeout', '0.5']), '--json'], deps);
    expect(s.json.error.code).toBe('AWS_TimeoutError');
  }, 10_000);

  it('an answer over 1 MiB is an error, not buffered: streamed without a length, or announced by Content-Length', async () => {
    const streamed = await serve((_q, s) => {
      s.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let n = 0;
      const t = setInterval(() => (n++ < 1000 ? s.write(chunk) : s.end()), 1);
      s.on('close', () => clearInterval(t));
    });
    const r = await cli([...args(`http://127.0.0.1:${streamed.port}`), '--json'], deps);
    expect(r.code).toBe(9);
    expect(r.json.error).toMatchObject({ code: 'AWS_BadResponse', message: expect.stringContaining('larger than 1 MiB') });
    const announced = await serve((_q, s) => {
      s.writeHead(200, { 'content-type': 'application/json', 'content-length': String(4 * 1024 * 1024) });
      s.write('{');
    });
    const a = await cli([...args(`http://127.0.0.1:${announced.port}`, ['--timeout', '5']), '--json'], deps);
    expect(a.json.error).toMatchObject({ code: 'AWS_BadResponse', message: expect.stringContaining('larger than 1 MiB') });
  }, 20_000);

  it('against the emulator: a throttled first attempt, or a 503, is retried and succeeds; a permanent 4xx is not retried; retries stop after 3 attempts', async () => {
    const t = await credentialsSetup();
    const sessionCalls = () => t.emu.calls().filter((c) => c.op === 'CreateSession').map((c) => c.status);
    t.emu.setFaults({ throttleNext: 1 });
    const throttled = await cli(['credential-process', ...t.args()], t.deps);
    expect(throttled.code, throttled.stderr).toBe(0);
    expect(sessionCalls()).toEqual([429, 201]);
    t.emu.setFaults({ failNext: { status: 503, count: 1 } });
    expect((await cli(['credential-process', ...t.args()], t.deps)).code).toBe(0);
    expect(sessionCalls()).toEqual([429, 201, 503, 201]);
    const denied = await cli(['credential-process', ...t.args({ 'role-arn': 'arn:aws:iam::123456789012:role/other' })], t.deps);
    expect(denied.code).toBe(9);
    expect(denied.stderr).toContain('AccessDeniedException');
    expect(sessionCalls()).toEqual([429, 201, 503, 201, 403]);
    t.emu.setFaults({ failNext: { status: 500, count: 10 } });
    const failing = await cli(['credential-process', ...t.args()], t.deps);
    expect(failing.code).toBe(9);
    expect(failing.stderr).toContain('InternalServerException');
    expect(sessionCalls()).toEqual([429, 201, 503, 201, 403, 500, 500, 500]);
  }, 30_000);
});
