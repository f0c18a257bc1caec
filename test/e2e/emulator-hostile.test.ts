/**
 * the emulator under hostile input: request targets Node's URL parser refuses, fault-hook values that are not
 * faults, and resource ids that name Object.prototype's members. Each must get a 4xx answer, leave the server
 * answering, and leave Object.prototype untouched.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { tempDir } from '../helpers.js';
import { MAX_STATE_FILE_BYTES } from '../../src/emulator/state.js';

const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
  for (const k of ['attributeMappings', 'enabled', 'updatedAt', 'polluted', 'name']) delete (Object.prototype as Record<string, unknown>)[k];
});

/** Every control-plane request carries a SigV4 header scoped to the emulator's region (its signature is not checked). */
const SIGV4 = { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host, Signature=00', 'content-type': 'application/json' };

async function emulator(opts: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator & { logged: string[] }> {
  const logged: string[] = [];
  const emu = await startEmulator({ ratePerSecond: 0, log: (l) => logged.push(l), ...opts });
  running.push(emu);
  return Object.assign(emu, { logged });
}

/** Sends `text` on a fresh TCP connection; resolves with everything the server wrote before closing it. */
function raw(emu: Emulator, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(emu.port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    // A server that neither answers nor closes fails the test here rather than at the test timeout.
    socket.setTimeout(10_000, () => socket.destroy());
    socket.write(text);
  });
}

/** The server still answers an ordinary API call. */
async function stillServes(emu: Emulator): Promise<void> {
  const r = await fetch(`${emu.url}/trustanchors`, { headers: SIGV4 });
  expect(r.status).toBe(200);
  expect(await r.json()).toEqual({ trustAnchors: [] });
}

const pristine = () => {
  const p = Object.prototype as Record<string, unknown>;
  return { attributeMappings: p.attributeMappings, enabled: p.enabled, updatedAt: p.updatedAt, polluted: p.polluted, name: p.name };
};
const CLEAN = { attributeMappings: undefined, enabled: undefined, updatedAt: undefined, polluted: undefined, name: undefined };

describe('emulator: malformed request targets', () => {
  it.each([['GET http://[ HTTP/1.1'], ['GET http://%zz/ HTTP/1.1'], ['POST http://[::1/sessions HTTP/1.1']])('%s on a raw socket → 400 with a message; the server keeps answering', async (line) => {
    const emu = await emulator();
    const answer = await raw(emu, `${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer.toLowerCase()).toContain('x-amzn-errortype: validationexception');
    expect(answer).toMatch(/"message":"Malformed request target/);
    await stillServes(emu);
  });

  it('an absolute-form target that parses is served like its origin form', async () => {
    const emu = await emulator({ requireSignature: false });
    const answer = await raw(emu, 'GET http://127.0.0.1/trustanchors HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('{"trustAnchors":[]}');
  });
});

describe('emulator: fault-hook values', () => {
  const post = (emu: Emulator, body: string) => fetch(`${emu.url}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it.each([
    ['{"failNext":{"status":99999}}', /failNext\.status/],
    ['{"failNext":{"status":99999,"count":1}}', /failNext\.status/],
    ['{"failNext":{"status":503,"count":-1}}', /failNext\.count/],
    ['{"failNext":{"status":"503","count":1}}', /failNext\.status/],
    ['{"failNext":null}', /failNext/],
    ['null', /JSON object/],
    ['[]', /JSON object/],
    ['"x"', /JSON object/],
    ['{"latencyMs":1e9}', /latencyMs/],
    ['{"latencyMs":-5}', /latencyMs/],
    ['{"throttleNext":1.5}', /throttleNext/],
    ['{"dropAfterWrite":"1"}', /dropAfterWrite/],
    ['{"nonsense":1}', /nonsense/],
    ['{"__proto__":{"polluted":1}}', /__proto__/],
  ])('%s → 400 naming the field; the faults in force are unchanged and the server keeps answering', async (body, field) => {
    const emu = await emulator();
    const r = await post(emu, body);
    expect(r.status).toBe(400);
    const answer = (await r.json()) as { message: string };
    expect(answer.message).toMatch(field);
    expect(pristine()).toEqual(CLEAN);
    // Every kind of request after it is answered normally (before the fix the server process died here).
    await stillServes(emu);
    expect((await fetch(`${emu.url}/profiles`, { method: 'POST', headers: SIGV4, body: JSON.stringify({ name: 'p', roleArns: ['arn:aws:iam::123456789012:role/app'] }) })).status).toBe(201);
    expect((await fetch(`${emu.url}/sessions`, { method: 'POST', body: '{}' })).status).toBe(403);
  });

  it('a valid fault is still applied, and setFaults refuses what the hook refuses', async () => {
    const emu = await emulator();
    expect((await post(emu, '{"failNext":{"status":503,"count":1}}')).status).toBe(200);
    expect((await fetch(`${emu.url}/trustanchors`, { headers: SIGV4 })).status).toBe(503);
    await stillServes(emu);
    expect(() => emu.setFaults({ failNext: { status: 99999, count: 1 } })).toThrow(/failNext\.status/);
    expect(() => emu.setFaults(null as never)).toThrow(/JSON object/);
    await stillServes(emu);
  });
});

describe('emulator: ids that name Object.prototype members', () => {
  const IDS = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__'];

  it('PUT /profiles/__proto__/mappings → 404 and Object.prototype is untouched', async () => {
    const emu = await emulator();
    const r = await fetch(`${emu.url}/profiles/__proto__/mappings`, { method: 'PUT', headers: SIGV4, body: JSON.stringify({ certificateField: 'x509Subject', mappingRules: [{ specifier: 'CN' }] }) });
    expect(r.status).toBe(404);
    expect(r.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(({} as Record<string, unknown>).attributeMappings).toBeUndefined();
    expect(pristine()).toEqual(CLEAN);
    await stillServes(emu);
  });

  it('every route with an id, for each such id → ResourceNotFoundException 404; nothing polluted', async () => {
    const emu = await emulator();
    for (const id of IDS) {
      const calls: Array<[string, string, string?]> = [
        ['GET', `/trustanchor/${id}`],
        ['PATCH', `/trustanchor/${id}`, '{"name":"x"}'],
        ['POST', `/trustanchor/${id}/enable`],
        ['POST', `/trustanchor/${id}/disable`],
        ['DELETE', `/trustanchor/${id}`],
        ['GET', `/crl/${id}`],
        ['PATCH', `/crl/${id}`, '{"name":"x"}'],
        ['POST', `/crl/${id}/enable`],
        ['DELETE', `/crl/${id}`],
        ['GET', `/profile/${id}`],
        ['PATCH', `/profile/${id}`, '{"name":"x"}'],
        ['POST', `/profile/${id}/disable`],
        ['DELETE', `/profile/${id}`],
        ['PUT', `/profiles/${id}/mappings`, '{"certificateField":"x509Subject","mappingRules":[{"specifier":"CN"}]}'],
        ['DELETE', `/profiles/${id}/mappings?certificateField=x509SAN`],
      ];
      for (const [method, path, body] of calls) {
        const r = await fetch(emu.url + path, { method, headers: SIGV4, ...(body ? { body } : {}) });
        expect({ call: `${method} ${path}`, status: r.status, type: r.headers.get('x-amzn-errortype') }).toEqual({ call: `${method} ${path}`, status: 404, type: 'ResourceNotFoundException' });
      }
    }
    expect(pristine()).toEqual(CLEAN);
    expect(typeof ({} as Record<string, unknown>).hasOwnProperty).toBe('function');
    await stillServes(emu);
  });

  it('ImportCrl naming a trust anchor ARN of "__proto__" and a body with a __proto__ key → 404/400, nothing polluted', async () => {
    const emu = await emulator();
    const r = await fetch(`${emu.url}/crls`, { method: 'POST', headers: SIGV4, body: JSON.stringify({ name: 'c', crlData: 'QUJD', trustAnchorArn: '__proto__' }) });
    expect(r.status).toBe(404);
    const p = await fetch(`${emu.url}/profiles`, { method: 'POST', headers: SIGV4, body: '{"name":"p","roleArns":["arn:aws:iam::123456789012:role/app"],"__proto__":{"polluted":true}}' });
    expect(p.status).toBe(201);
    expect(pristine()).toEqual(CLEAN);
  });

  it('a state file larger than the limit is refused before it is read (IO_EMULATOR_STATE), not read whole into memory', async () => {
    const file = join(tempDir('pki-emu-hostile-'), 'state.json');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, MAX_STATE_FILE_BYTES + 1); // sparse: no disk used
    await expect(startEmulator({ stateFile: file })).rejects.toMatchObject({ code: 'IO_EMULATOR_STATE', message: expect.stringMatching(/larger than|too large|exceeds/i) });
  });

  it('the state file still round-trips (a profile with mappings survives a restart), and a state file with a "__proto__" entry pollutes nothing', async () => {
    const file = join(tempDir('pki-emu-hostile-'), 'state.json');
    const first = await emulator({ stateFile: file });
    const created = (await (await fetch(`${first.url}/profiles`, { method: 'POST', headers: SIGV4, body: JSON.stringify({ name: 'p', roleArns: ['arn:aws:iam::123456789012:role/app'] }) })).json()) as any;
    const id = created.profile.profileId as string;
    expect((await fetch(`${first.url}/profiles/${id}/mappings`, { method: 'PUT', headers: SIGV4, body: '{"certificateField":"x509Subject","mappingRules":[{"specifier":"CN"}]}' })).status).toBe(200);
    await first.close();
    const second = await emulator({ stateFile: file });
    const got = (await (await fetch(`${second.url}/profile/${id}`, { headers: SIGV4 })).json()) as any;
    expect(got.profile.attributeMappings).toContainEqual({ certificateField: 'x509Subject', mappingRules: [{ specifier: 'CN' }] });
    expect(Object.keys(second.state().profiles)).toEqual([id]);
    await second.close();
    // A hand-edited state file whose profiles hold a "__proto__" member.
    const state = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify(state).replace('"profiles":{', '"profiles":{"__proto__":{"polluted":true},'));
    await expect(startEmulator({ stateFile: file })).rejects.toThrow(/profiles\.__proto__/);
    expect(pristine()).toEqual(CLEAN);
  });
});
