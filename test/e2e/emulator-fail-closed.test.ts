/**
 * the emulator's CreateSession fails closed: an enabled CRL it cannot decode refuses every certificate of its
 * trust anchor, a CRL whose signer cannot be established refuses the chains it could cover, and an exception inside
 * path validation is a 500 with a request id (logged), never a verdict and never a crash.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DisableCrlCommand, ImportCrlCommand, ListCrlsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signSessionRequest } from '../../src/adapters/aws/x509-signer.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/server.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { decodeCrl } from '../../src/x509/crl.js';
import { decodePemBlocks, toPem } from '../../src/asn1/pem.js';
import { credentialsSetup, ROLE } from '../aws-fixtures.js';
import { tempDir } from '../helpers.js';

/** validatePath as it is, unless a test makes it throw (an unexpected error inside path validation). */
const boom = vi.hoisted(() => ({ on: false }));
vi.mock('../../src/x509/path.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/x509/path.js')>();
  return {
    ...real,
    validatePath: (...args: Parameters<typeof real.validatePath>) => {
      if (boom.on) throw new TypeError('Cannot read properties of undefined (reading "der")');
      return real.validatePath(...args);
    },
  };
});

const restarted: Emulator[] = [];
afterEach(async () => {
  boom.on = false;
  await Promise.all(restarted.splice(0).map((e) => e.close()));
});

async function setup(emulator: EmulatorOptions = {}) {
  const clock = { now: new Date() };
  const logged: string[] = [];
  const t = await credentialsSetup({ now: () => clock.now, emulator: { log: (l) => logged.push(l), ...emulator } });
  const cert = readCertificate(fs.readFileSync(join(t.cwd, 'app.pem')), 'app.pem');
  const key = crypto.createPrivateKey(fs.readFileSync(join(t.cwd, 'app.key')));
  let url = t.emu.url;
  /** Signs a CreateSession for the workload certificate and sends it to the emulator now serving at `url`. */
  const call = async () => {
    const req = signSessionRequest({
      host: new URL(url).host,
      region: 'us-east-1',
      date: clock.now,
      trustAnchorArn: t.anchorArn,
      profileArn: t.profileArn,
      roleArn: ROLE,
      durationSeconds: 3600,
      certificate: cert.der,
      serialHex: cert.serialHex,
      chain: [],
      key,
    });
    const { Host: _host, ...headers } = req.headers;
    const res = await fetch(url + req.url, { method: 'POST', headers, body: req.body });
    const body = (await res.json()) as Record<string, any>;
    return { status: res.status, type: res.headers.get('x-amzn-errortype'), requestId: res.headers.get('x-amzn-requestid'), message: body.message as string | undefined, body };
  };
  /** Closes the emulator and starts another on the same port and state file (after `edit` changed the file). */
  const restart = async (file: string, edit: (state: any) => void) => {
    await t.emu.close();
    const state = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(state);
    fs.writeFileSync(file, JSON.stringify(state));
    const emu = await startEmulator({ ratePerSecond: 0, now: () => clock.now, port: t.emu.port, stateFile: file, log: (l) => logged.push(l), ...emulator });
    restarted.push(emu);
    url = emu.url;
    return { emu, sdk: new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }) };
  };
  return { ...t, clock, cert, call, restart, logged };
}

const UNKNOWN = { status: 403, type: 'AccessDeniedException' };

describe('emulator: an enabled CRL that cannot be decoded refuses the anchor\'s certificates', () => {
  /** Ways the stored crlData of the anchor's enabled CRL can be undecodable (a state file edited, or written by another version). */
  const corruptions: Array<[string, (pem: string) => string]> = [
    ['not a CRL at all', () => 'this is not a CRL'],
    ['a PEM block whose DER is cut short', (pem) => toPem('X509 CRL', decodePemBlocks(pem, 'crl')[0]!.der.subarray(0, 60))],
    [
      'a CRL whose first entry\'s serial is not an INTEGER (header intact)',
      (pem) => {
        const der = Buffer.from(decodePemBlocks(pem, 'crl')[0]!.der);
        const { entriesStart, entriesEnd } = decodeCrl(der, 'crl');
        expect(entriesEnd).toBeGreaterThan(entriesStart);
        expect(der[entriesStart]).toBe(0x30);
        expect(der[entriesStart + 2]).toBe(0x02);
        der[entriesStart + 2] = 0x04;
        return toPem('X509 CRL', der);
      },
    ],
  ];

  it.each(corruptions)('%s → AccessDeniedException naming the CRL; disabling that CRL → 201', async (_what, corrupt) => {
    const file = join(tempDir('pki-emu-fc-'), 'state.json');
    const t = await setup({ stateFile: file });
    // A CRL with an entry (another certificate's): the workload itself is not revoked.
    await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=other', '--key-out', join(t.cwd, 'o.key'), '--out', join(t.cwd, 'o.pem')]);
    const other = readCertificate(fs.readFileSync(join(t.cwd, 'o.pem')), 'o.pem');
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', other.serialHex]);
    await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
    expect((await t.call()).status).toBe(201);
    let crlArn = '';
    const { sdk } = await t.restart(file, (state) => {
      const crls = Object.values(state.crls) as Array<{ crlArn: string; crlData: string; enabled: boolean }>;
      expect(crls.filter((c) => c.enabled).length).toBe(1);
      const c = crls.find((x) => x.enabled)!;
      crlArn = c.crlArn;
      c.crlData = Buffer.from(corrupt(Buffer.from(c.crlData, 'base64').toString('latin1'))).toString('base64');
    });
    const r = await t.call();
    expect(r).toMatchObject(UNKNOWN);
    expect(r.message).toMatch(/^Revocation status unknown: the enabled CRL .* cannot be decoded/);
    expect(r.message).toContain(crlArn);
    // The same request once the CRL is disabled: the refusal came from that CRL alone.
    await sdk.send(new DisableCrlCommand({ crlId: crlArn.split('/').pop() }));
    expect((await t.call()).status).toBe(201);
  });

  it('a DER CRL imported with --accept-der-crl is decoded and enforced (not skipped as "no PEM block")', async () => {
    const t = await setup({ crl: { requirePem: false } });
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.cert.serialHex]);
    await t.ok(['crl', 'generate', '--ca', 'issuing-1', '--out', join(t.cwd, 'r.pem')]);
    const der = decodePemBlocks(fs.readFileSync(join(t.cwd, 'r.pem'), 'utf8'), 'crl')[0]!.der;
    for (const c of (await t.sdk.send(new ListCrlsCommand({}))).crls!) await t.sdk.send(new DisableCrlCommand({ crlId: c.crlId }));
    expect((await t.call()).status).toBe(201);
    await t.sdk.send(new ImportCrlCommand({ name: 'der', crlData: der, trustAnchorArn: t.anchorArn, enabled: true }));
    expect(await t.call()).toMatchObject({ ...UNKNOWN, message: 'Certificate revoked' });
  });
});

describe('emulator: a CRL whose signer cannot be established', () => {
  it('a forged newer CRL beside the genuine one (--any-crl-signer lets it in) refuses the chain it covers instead of being skipped', async () => {
    const t = await setup({ crl: { requireSignedByAnchor: false } });
    expect((await t.call()).status).toBe(201);
    // A genuine CRL listing the workload, then one changed signature byte.
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.cert.serialHex]);
    await t.ok(['crl', 'generate', '--ca', 'issuing-1', '--out', join(t.cwd, 'r.pem')]);
    const der = Buffer.from(decodePemBlocks(fs.readFileSync(join(t.cwd, 'r.pem'), 'utf8'), 'crl')[0]!.der);
    der[der.length - 5] = der[der.length - 5]! ^ 0x01;
    await t.sdk.send(new ImportCrlCommand({ name: 'forged', crlData: Buffer.from(toPem('X509 CRL', der)), trustAnchorArn: t.anchorArn, enabled: true }));
    const r = await t.call();
    expect(r).toMatchObject(UNKNOWN);
    expect(r.message).toMatch(/^Revocation status unknown: the signature of the enabled CRL arn:aws:rolesanywhere:us-east-1:123456789012:crl\/[0-9a-f-]+ \(issuer CN=Creds Issuing 1,O=Example\) does not verify/);
  });

  it('a CRL of an issuer outside the request\'s chain cannot cover it and does not refuse it', async () => {
    const t = await setup({ crl: { requireSignedByAnchor: false } });
    await t.ok(['ca', 'create', 'elsewhere', '--parent', 'root', '--subject', 'CN=Elsewhere,O=Example', '--no-passphrase']);
    await t.ok(['crl', 'generate', '--ca', 'elsewhere', '--out', join(t.cwd, 'e.pem')]);
    await t.sdk.send(new ImportCrlCommand({ name: 'elsewhere', crlData: fs.readFileSync(join(t.cwd, 'e.pem')), trustAnchorArn: t.anchorArn, enabled: true }));
    expect((await t.call()).status).toBe(201);
  });
});

describe('emulator: an exception inside path validation', () => {
  it('is a 500 InternalServerException with the request id in header and body, logged with its stack; the server answers the next request', async () => {
    const t = await setup();
    boom.on = true;
    const r = await t.call();
    expect({ status: r.status, type: r.type }).toEqual({ status: 500, type: 'InternalServerException' });
    expect(r.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.requestId).toBe(r.requestId);
    expect(r.message).toContain(r.requestId);
    expect(r.message).not.toMatch(/revoked|Untrusted|reading/);
    expect(t.logged.join('')).toMatch(new RegExp(`internal error in CreateSession \\(request ${r.requestId}\\): TypeError: Cannot read properties of undefined`));
    expect(t.emu.sessions()).toEqual([]);
    boom.on = false;
    expect((await t.call()).status).toBe(201);
  });
});
