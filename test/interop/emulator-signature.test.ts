/**
 * the emulator's own AWS4-X509 verifier, fed by an independent signer: CreateSession requests signed by
 * test/interop/aws4_x509_sign.py (Python `cryptography`, written from the user guide's signing process) are sent to
 * the emulator as they are. Accepted as signed (RSA, P-256, P-384; with and without X-Amz-X509-Chain; a role ARN that
 * needs percent-encoding; an extra signed header); one changed byte in any signed part → the service's
 * "Invalid signature"; a changed byte in an unsigned header changes nothing.
 */
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import { join } from 'node:path';
import { UpdateProfileCommand } from '@aws-sdk/client-rolesanywhere';
import { describe, expect, it } from 'vitest';
import { credentialsSetup, ROLE } from '../aws-fixtures.js';
import { ROOT } from '../helpers.js';

const SIGNER = join(ROOT, 'test/interop/aws4_x509_sign.py');
/** A Python with the cryptography package: the one on PATH, else Debian's (python3-cryptography, installed by .ci/run). */
const PYTHON = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import cryptography'], { stdio: 'ignore' }).status === 0);

interface Signed {
  url: string;
  headers: Record<string, string>;
  body: string;
}

function pythonSign(input: Record<string, unknown>): Signed {
  const r = spawnSync(PYTHON!, [SIGNER], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the Python signer failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Signed;
}

/** Sends the request byte for byte as signed (node:http, headers as given, Host included). */
function send(base: string, req: Signed): Promise<{ status: number; type: string | undefined; message: string | undefined }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const r = http.request({ host: u.hostname, port: u.port, method: 'POST', path: req.url, headers: { ...req.headers, 'Content-Length': String(Buffer.byteLength(req.body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['x-amzn-errortype'] as string | undefined, message: (JSON.parse(text) as { message?: string }).message }));
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

/** One byte of `s` changed at `i` (a digit or a letter stays one). */
const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === '1' ? '2' : /[0-9]/.test(s[i]!) ? '1' : s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);

const INVALID = { status: 403, type: 'AccessDeniedException', message: 'Invalid signature' };
const SPACED_ROLE = 'arn:aws:iam::123456789012:role/path with space/team+ops/app';

describe.skipIf(!PYTHON)('emulator CreateSession against an independent signer (Python cryptography)', () => {
  it.each([['rsa-2048'], ['ecdsa-p256'], ['ecdsa-p384']])('%s: signed requests are accepted; one changed byte in any signed part → "Invalid signature"', async (keyType) => {
    const clock = { now: new Date() };
    const t = await credentialsSetup({ now: () => clock.now, keyType });
    await t.sdk.send(new UpdateProfileCommand({ profileId: t.profileId, roleArns: [ROLE, SPACED_ROLE] }));
    const date = clock.now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const host = new URL(t.emu.url).host;
    const sign = (o: { chain?: boolean; role?: string; extra?: Record<string, string> } = {}) =>
      pythonSign({
        certificate: join(t.cwd, 'app.pem'),
        key: join(t.cwd, 'app.key'),
        chain: o.chain ? [join(t.cwd, 'chain.pem')] : [],
        host,
        region: 'us-east-1',
        date,
        query: [['profileArn', t.profileArn], ['roleArn', o.role ?? ROLE], ['trustAnchorArn', t.anchorArn]],
        body: JSON.stringify({ durationSeconds: 3600 }),
        extra_headers: o.extra ?? {},
      });
    for (const variant of [{}, { chain: true }, { role: SPACED_ROLE }, { extra: { 'X-Amz-User-Agent': 'independent/1.0' } }]) {
      const req = sign(variant);
      expect(req.headers.Authorization).toMatch(keyType.startsWith('rsa') ? /^AWS4-X509-RSA-SHA256 / : /^AWS4-X509-ECDSA-SHA256 /);
      const ok = await send(t.emu.url, req);
      expect({ variant, ...ok }).toMatchObject({ variant, status: 201 });
      expect(t.emu.sessions().at(-1)!.roleArn).toBe(variant.role ?? ROLE);
      // An unsigned header may change: it is not part of the signature.
      expect((await send(t.emu.url, { ...req, headers: { ...req.headers, 'User-Agent': 'changed/2.0' } })).status).toBe(201);
    }
    const req = sign({ chain: true, extra: { 'X-Amz-User-Agent': 'independent/1.0' } });
    const h = req.headers;
    const changed: Array<[string, Signed]> = [
      ['Content-Type', { ...req, headers: { ...h, 'Content-Type': 'application/jsoN' } }],
      ['X-Amz-Date (one second later)', { ...req, headers: { ...h, 'X-Amz-Date': flip(h['X-Amz-Date']!, 14) } }],
      ['Host', { ...req, headers: { ...h, Host: `localhost:${new URL(t.emu.url).port}` } }],
      ['X-Amz-X509-Chain', { ...req, headers: { ...h, 'X-Amz-X509-Chain': flip(h['X-Amz-X509-Chain']!, 200) } }],
      ['X-Amz-User-Agent', { ...req, headers: { ...h, 'X-Amz-User-Agent': 'independent/1.1' } }],
      ['Authorization signature', { ...req, headers: { ...h, Authorization: flip(h.Authorization!, h.Authorization!.length - 3) } }],
      ['Authorization SignedHeaders (content-type left out)', { ...req, headers: { ...h, Authorization: h.Authorization!.replace('SignedHeaders=content-type;', 'SignedHeaders=') } }],
      ['body', { ...req, body: req.body.replace('3600', '3601') }],
      ['query', { ...req, url: req.url.replace('role%2Fapp', 'role%2Fapq') }],
    ];
    for (const [what, bad] of changed) expect({ what, ...(await send(t.emu.url, bad)) }).toEqual({ what, ...INVALID });
    // The unchanged request is still accepted: every refusal above came from the one changed byte.
    expect((await send(t.emu.url, req)).status).toBe(201);
  });
});

/** pyca cryptography >= 48 has ML-DSA (Debian's python3-cryptography does not; .ci/run installs it with pip). */
const PY_MLDSA = PYTHON && spawnSync(PYTHON, ['-c', 'from cryptography.hazmat.primitives.asymmetric import mldsa'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!PY_MLDSA)('AWS4-X509-MLDSA: the emulator verifies ML-DSA requests signed by Python cryptography; pki credential-process signs them', () => {
  it.each([['ml-dsa-44'], ['ml-dsa-65'], ['ml-dsa-87']])('%s workload key under ECDSA CAs: accepted; one changed byte → "Invalid signature"; credential-process gets credentials', async (keyType) => {
    const clock = { now: new Date() };
    const t = await credentialsSetup({ now: () => clock.now, keyType });
    const date = clock.now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const req = pythonSign({
      certificate: join(t.cwd, 'app.pem'),
      key: join(t.cwd, 'app.key'),
      chain: [join(t.cwd, 'chain.pem')],
      host: new URL(t.emu.url).host,
      region: 'us-east-1',
      date,
      query: [['profileArn', t.profileArn], ['roleArn', ROLE], ['trustAnchorArn', t.anchorArn]],
      body: JSON.stringify({ durationSeconds: 3600 }),
    });
    expect(req.headers.Authorization).toMatch(/^AWS4-X509-MLDSA Credential=\d+\/\d{8}\/us-east-1\/rolesanywhere\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]+$/);
    expect(await send(t.emu.url, req)).toMatchObject({ status: 201 });
    const h = req.headers;
    expect(await send(t.emu.url, { ...req, body: req.body.replace('3600', '3601') })).toEqual(INVALID);
    expect(await send(t.emu.url, { ...req, headers: { ...h, Authorization: flip(h.Authorization!, h.Authorization!.length - 3) } })).toEqual(INVALID);
    // The algorithm must be the key's: an ML-DSA signature labelled ECDSA is refused.
    expect(await send(t.emu.url, { ...req, headers: { ...h, Authorization: h.Authorization!.replace('AWS4-X509-MLDSA', 'AWS4-X509-ECDSA-SHA256') } })).toEqual(INVALID);
    expect((await send(t.emu.url, req)).status).toBe(201);
    // pki's own signer, through credential-process.
    const { cli } = await import('../helpers.js');
    const r = await cli(['credential-process', ...t.args()], t.deps);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ Version: 1, AccessKeyId: expect.stringMatching(/^ASIA/) });
  });
});
