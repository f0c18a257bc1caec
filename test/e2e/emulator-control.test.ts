/**
 * the emulator's HTTP layer after the split (src/emulator/http.ts): the test hooks under /_emulator/ answer what
 * they answered before, and a hook name that is an Object prototype member is no hook (404), never a crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ ratePerSecond: 0, requireSignature: false });
});
afterAll(() => emu.close());

const get = async (path: string) => {
  const r = await fetch(`${emu.url}${path}`);
  return { status: r.status, body: (await r.json()) as unknown };
};

describe('the emulator control hooks', () => {
  it('state, sessions and calls are served; faults only by POST', async () => {
    expect(await get('/_emulator/state')).toEqual({ status: 200, body: { trustAnchors: {}, crls: {}, profiles: {} } });
    expect(await get('/_emulator/sessions')).toEqual({ status: 200, body: [] });
    const calls = await get('/_emulator/calls');
    expect(calls.status).toBe(200);
    expect(Array.isArray(calls.body)).toBe(true);
    expect(await get('/_emulator/faults')).toEqual({ status: 404, body: { message: 'no such control endpoint' } });
  });

  it('a prototype member as the hook name is no hook', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])
      expect(await get(`/_emulator/${name}`), name).toEqual({ status: 404, body: { message: 'no such control endpoint' } });
    // The API still answers after them.
    const r = await fetch(`${emu.url}/trustanchors`);
    expect(r.status).toBe(200);
  });
});
