/**
 * The Roles Anywhere emulator through the real @aws-sdk/client-rolesanywhere (3.332.0) over 127.0.0.1:
 * happy paths, each upload rule with the SDK error name the service uses, quotas, faults, and persistence.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  CreateProfileCommand,
  CreateTrustAnchorCommand,
  DeleteProfileCommand,
  DisableProfileCommand,
  EnableProfileCommand,
  GetProfileCommand,
  ListProfilesCommand,
  UpdateProfileCommand,
  DeleteTrustAnchorCommand,
  DisableCrlCommand,
  EnableCrlCommand,
  EnableTrustAnchorCommand,
  GetCrlCommand,
  GetTrustAnchorCommand,
  ImportCrlCommand,
  ListCrlsCommand,
  ListTrustAnchorsCommand,
  RolesAnywhereClient,
  UpdateCrlCommand,
  UpdateTrustAnchorCommand,
} from '@aws-sdk/client-rolesanywhere';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { CLI, cli, makeDeps, tempDir } from '../helpers.js';

const NOW = new Date('2026-01-01T00:00:00Z');
let cwd: string;
const pem: Record<string, string> = {};
const running: Emulator[] = [];

function client(emu: Emulator, region = 'us-east-1', maxAttempts = 1) {
  return new RolesAnywhereClient({ endpoint: emu.url, region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts });
}

async function emulator(opts: Parameters<typeof startEmulator>[0] = {}) {
  const emu = await startEmulator({ ratePerSecond: 0, ...opts });
  running.push(emu);
  return emu;
}

async function rejects(p: Promise<unknown>): Promise<Error & { name: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { name: string };
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  cwd = tempDir('pki-emu-');
  const deps = makeDeps(cwd, { now: NOW });
  const dir = join(cwd, 'pki');
  const ok = async (argv: string[]) => {
    const r = await cli([...argv, '--dir', dir], deps);
    if (r.code !== 0) throw new Error(r.stderr);
    return r;
  };
  await ok(['init', '--subject', 'CN=Emu Root,O=Example', '--validity', '20y', '--no-passphrase']);
  await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Emu Issuing,O=Example', '--validity', '14y', '--no-passphrase']);
  await ok(['ca', 'create', 'issuing-2', '--parent', 'root', '--subject', 'CN=Emu Issuing 2,O=Example', '--validity', '14y', '--no-passphrase']);
  for (const ca of ['root', 'issuing-1', 'issuing-2']) pem[ca] = (await ok(['ca', 'export', ca])).stdout;
  pem.leaf = (await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=leaf', '--key-out', join(cwd, 'leaf.key')])).stdout;
  for (const ca of ['root', 'issuing-1', 'issuing-2']) pem[`${ca}.crl`] = (await ok(['crl', 'generate', '--ca', ca, '--next-update', '30d'])).stdout;
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

describe('trust anchors', () => {
  it('ok/create (2-certificate bundle), get, list, update, enable, delete with real ARNs', async () => {
    const emu = await emulator();
    const ra = client(emu);
    const created = await ra.send(new CreateTrustAnchorCommand({ name: 'prod', source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem.root! + pem['issuing-1']! } } }));
    const ta = created.trustAnchor!;
    expect(ta.trustAnchorArn).toMatch(/^arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor\/[0-9a-f-]{36}$/);
    expect(ta.enabled).toBe(false);
    expect(ta.createdAt).toBeInstanceOf(Date);
    expect((await ra.send(new GetTrustAnchorCommand({ trustAnchorId: ta.trustAnchorId }))).trustAnchor!.name).toBe('prod');
    expect((await ra.send(new ListTrustAnchorsCommand({}))).trustAnchors!.map((t) => t.name)).toEqual(['prod']);
    const updated = await ra.send(new UpdateTrustAnchorCommand({ trustAnchorId: ta.trustAnchorId, name: 'prod 2', source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem.root! } } }));
    expect(updated.trustAnchor!.name).toBe('prod 2');
    expect((await ra.send(new EnableTrustAnchorCommand({ trustAnchorId: ta.trustAnchorId }))).trustAnchor!.enabled).toBe(true);
    await ra.send(new DeleteTrustAnchorCommand({ trustAnchorId: ta.trustAnchorId }));
    expect((await rejects(ra.send(new GetTrustAnchorCommand({ trustAnchorId: ta.trustAnchorId })))).name).toBe('ResourceNotFoundException');
  });

  it.each([
    ['a leaf certificate', () => pem.leaf!, /Incorrect basic constraints for CA certificate/],
    ['three certificates', () => pem.root! + pem['issuing-1']! + pem['issuing-2']!, /at most 2/],
    ['no PEM at all', () => 'not a certificate', /no PEM certificate/],
  ])('fail/%s → ValidationException', async (_what, data, message) => {
    const ra = client(await emulator());
    const e = await rejects(ra.send(new CreateTrustAnchorCommand({ name: 'bad', source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: data() } } })));
    expect(e.name).toBe('ValidationException');
    expect(e.message).toMatch(message);
  });

  it('fail/a name outside [ a-zA-Z0-9-_] and an over-long bundle (8000-character model) → ValidationException', async () => {
    const ra = client(await emulator({ maxCertificateDataChars: 8000 }));
    const badName = await rejects(ra.send(new CreateTrustAnchorCommand({ name: 'prod/eu', source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem.root! } } })));
    expect(badName.name).toBe('ValidationException');
    const long = await rejects(ra.send(new CreateTrustAnchorCommand({ name: 'long', source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem.root!.padEnd(9000, '\n') } } })));
    expect(long.name).toBe('ValidationException');
    expect(long.message).toMatch(/less than or equal to 8000/);
  });

  it('fail/tags beyond the limits → ValidationException', async () => {
    const ra = client(await emulator());
    const create = (tags: Array<{ key: string; value: string }>) =>
      ra.send(new CreateTrustAnchorCommand({ name: 't', tags, source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem.root! } } }));
    expect((await rejects(create(Array.from({ length: 201 }, (_, i) => ({ key: `k${i}`, value: 'v' }))))).message).toMatch(/less than or equal to 200/);
    expect((await rejects(create([{ key: 'x'.repeat(129), value: 'v' }]))).name).toBe('ValidationException');
    expect((await rejects(create([{ key: 'team', value: 'bad\nvalue' }]))).name).toBe('ValidationException');
    expect((await create([{ key: 'team', value: 'platform' }])).trustAnchor!.name).toBe('t');
  });

  it('fail/a request not signed for rolesanywhere in this region → AccessDeniedException', async () => {
    const emu = await emulator();
    const e = await rejects(client(emu, 'eu-west-1').send(new ListTrustAnchorsCommand({})));
    expect(e.name).toBe('AccessDeniedException');
    expect(e.message).toMatch(/region us-east-1/);
  });
});

describe('CRLs', () => {
  async function anchor(ra: RolesAnywhereClient) {
    return (await ra.send(new CreateTrustAnchorCommand({ name: 'prod', enabled: true, source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem.root! + pem['issuing-1']! } } })))
      .trustAnchor!;
  }

  it('ok/ImportCrl (disabled by default), UpdateCrl, GetCrl returns the same bytes, Enable/Disable', async () => {
    const ra = client(await emulator());
    const ta = await anchor(ra);
    const imported = (await ra.send(new ImportCrlCommand({ name: 'issuing-1', trustAnchorArn: ta.trustAnchorArn, crlData: Buffer.from(pem['issuing-1.crl']!) }))).crl!;
    expect(imported.enabled).toBe(false);
    expect(imported.crlArn).toMatch(/^arn:aws:rolesanywhere:us-east-1:123456789012:crl\//);
    expect((await ra.send(new EnableCrlCommand({ crlId: imported.crlId }))).crl!.enabled).toBe(true);
    await ra.send(new UpdateCrlCommand({ crlId: imported.crlId, crlData: Buffer.from(pem['issuing-1.crl']!) }));
    const got = (await ra.send(new GetCrlCommand({ crlId: imported.crlId }))).crl!;
    expect(Buffer.from(got.crlData!).toString()).toBe(pem['issuing-1.crl']);
    expect((await ra.send(new DisableCrlCommand({ crlId: imported.crlId }))).crl!.enabled).toBe(false);
    expect((await ra.send(new ListCrlsCommand({}))).crls!.length).toBe(1);
  });

  it('fail/a third CRL on one anchor, a CRL from a CA outside the anchor, DER, too large → ValidationException', async () => {
    const ra = client(await emulator());
    const ta = await anchor(ra);
    const imp = (data: string | Buffer, name = 'x') => ra.send(new ImportCrlCommand({ name, trustAnchorArn: ta.trustAnchorArn, crlData: Buffer.from(data) }));
    const outside = await rejects(imp(pem['issuing-2.crl']!));
    expect([outside.name, outside.message]).toEqual(['ValidationException', expect.stringMatching(/not signed by a certificate of the trust anchor/)]);
    const der = Buffer.from(pem['issuing-1.crl']!.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
    expect((await rejects(imp(der))).message).toMatch(/PEM format/);
    expect((await rejects(imp(Buffer.alloc(300_001, 0x41)))).message).toMatch(/between 1 and 300000/);
    await imp(pem['issuing-1.crl']!, 'one');
    await imp(pem['root.crl']!, 'two');
    const third = await rejects(imp(pem['issuing-1.crl']!, 'three'));
    expect([third.name, third.message]).toEqual(['ValidationException', expect.stringMatching(/CRLs per trust anchor/)]);
    const missing = await rejects(ra.send(new ImportCrlCommand({ name: 'x', trustAnchorArn: `${ta.trustAnchorArn}0`, crlData: Buffer.from(pem['root.crl']!) })));
    expect(missing.name).toBe('ResourceNotFoundException');
  });

  it('ok/UNCONFIRMED rules are switches: DER accepted and any signer accepted when configured', async () => {
    const ra = client(await emulator({ crl: { requirePem: false, requireSignedByAnchor: false } }));
    const ta = await anchor(ra);
    const der = Buffer.from(pem['issuing-2.crl']!.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
    const r = await ra.send(new ImportCrlCommand({ name: 'der', trustAnchorArn: ta.trustAnchorArn, crlData: der }));
    expect(r.crl!.name).toBe('der');
  });
});

describe('profiles', () => {
  const role = 'arn:aws:iam::123456789012:role/workload';
  it('ok/create (defaults: 3600 s, disabled), get, list, update, enable/disable, delete', async () => {
    const ra = client(await emulator());
    const p = (await ra.send(new CreateProfileCommand({ name: 'workloads', roleArns: [role] }))).profile!;
    expect(p).toMatchObject({ name: 'workloads', durationSeconds: 3600, enabled: false, roleArns: [role], requireInstanceProperties: false });
    expect(p.profileArn).toMatch(/^arn:aws:rolesanywhere:us-east-1:123456789012:profile\/[0-9a-f-]{36}$/);
    expect((await ra.send(new GetProfileCommand({ profileId: p.profileId }))).profile!.name).toBe('workloads');
    expect((await ra.send(new ListProfilesCommand({}))).profiles!.map((x) => x.name)).toEqual(['workloads']);
    expect((await ra.send(new UpdateProfileCommand({ profileId: p.profileId, durationSeconds: 900, managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] }))).profile).toMatchObject({ durationSeconds: 900 });
    expect((await ra.send(new EnableProfileCommand({ profileId: p.profileId }))).profile!.enabled).toBe(true);
    expect((await ra.send(new DisableProfileCommand({ profileId: p.profileId }))).profile!.enabled).toBe(false);
    await ra.send(new DeleteProfileCommand({ profileId: p.profileId }));
    expect((await rejects(ra.send(new GetProfileCommand({ profileId: p.profileId })))).name).toBe('ResourceNotFoundException');
  });

  it.each([
    ['a role ARN that is not an IAM role', { roleArns: ['arn:aws:iam::123456789012:user/alice'] }, /regular expression pattern/],
    ['durationSeconds under 900', { roleArns: [role], durationSeconds: 600 }, /between 900 and 43200/],
    ['durationSeconds over 43200', { roleArns: [role], durationSeconds: 50000 }, /between 900 and 43200/],
    ['51 managed policies', { roleArns: [role], managedPolicyArns: Array.from({ length: 51 }, (_, i) => `arn:aws:iam::aws:policy/P${i}`) }, /at most 50/],
  ])('fail/%s → ValidationException', async (_what, extra, message) => {
    const ra = client(await emulator());
    const e = await rejects(ra.send(new CreateProfileCommand({ name: 'bad', ...(extra as object) } as never)));
    expect(e.name).toBe('ValidationException');
    expect(e.message).toMatch(message);
  });
});

describe('quotas, faults, persistence, the CLI', () => {
  it('fail/more than 1 request per second per API group → ThrottlingException (the SDK retries it)', async () => {
    const emu = await emulator({ ratePerSecond: 1 });
    const once = client(emu);
    await once.send(new ListTrustAnchorsCommand({}));
    const e = await rejects(once.send(new ListTrustAnchorsCommand({})));
    expect(e.name).toBe('ThrottlingException');
    expect(e.$metadata?.httpStatusCode).toBe(429);
    // The CRL group has its own budget; with retries the SDK gets through.
    await once.send(new ListCrlsCommand({}));
    const patient = client(emu, 'us-east-1', 5);
    expect((await patient.send(new ListTrustAnchorsCommand({}))).trustAnchors).toEqual([]);
  });

  it('ok/injected 5xx and throttling are survived by SDK retries; every call is logged', async () => {
    const emu = await emulator();
    emu.setFaults({ failNext: { status: 503, count: 1 }, throttleNext: 1 });
    const r = await client(emu, 'us-east-1', 4).send(new ListTrustAnchorsCommand({}));
    expect(r.trustAnchors).toEqual([]);
    expect(emu.calls().map((c) => c.status)).toEqual([503, 429, 200]);
  });

  it('ok/dropAfterWrite applies the change and drops the connection: the SDK retries the POST and the write happens twice', async () => {
    // The hazard a publisher must guard against (look up by name before creating/importing again).
    const emu = await emulator();
    emu.setFaults({ dropAfterWrite: 1 });
    const r = await client(emu).send(new CreateTrustAnchorCommand({ name: 'ghost', source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem.root! } } }));
    expect(r.$metadata.attempts).toBe(2);
    expect(emu.calls().map((c) => [c.op, c.status])).toEqual([
      ['CreateTrustAnchor', 201],
      ['CreateTrustAnchor', 201],
    ]);
    expect(Object.values(emu.state().trustAnchors).map((t) => t.name)).toEqual(['ghost', 'ghost']);
  });

  it('ok/state survives a restart from the same state file', async () => {
    const stateFile = join(tempDir(), 'ra.json');
    const first = await emulator({ stateFile });
    await client(first).send(new CreateTrustAnchorCommand({ name: 'kept', source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem.root! } } }));
    await first.close();
    expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);
    const second = await emulator({ stateFile });
    expect((await client(second).send(new ListTrustAnchorsCommand({}))).trustAnchors!.map((t) => t.name)).toEqual(['kept']);
  });

  it('fail/a non-loopback address is refused without --allow-non-loopback', async () => {
    await expect(startEmulator({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'USAGE_NON_LOOPBACK' });
  });

  it('ok/pki emulator serve prints its URL, serves the SDK, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'emulator', 'serve', '--rate-per-second', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const ra = new RolesAnywhereClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 's' }, maxAttempts: 1 });
    expect((await ra.send(new ListTrustAnchorsCommand({}))).trustAnchors).toEqual([]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

afterAll(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});
