/**
 * crl generate signs outside the store transaction: the first transaction reserves the CRL Number and frames the
 * TBS, the Signer signs (possibly asynchronously, as an HSM would), a second transaction records the CRL. A run that
 * dies between the two leaves a gap in the numbering, never a number used twice.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/adapters/keys/file.js';
import type { Signer } from '../../src/ports/signer.js';
import { crlDerFromFile, decodeCrl } from '../../src/x509/crl.js';
import { makePki, pkiIn } from '../helpers.js';

/** A key store like an HSM's: the file store's keys behind a Signer that only signs asynchronously, and can fail. */
function asyncKeyStore(dir: string, fail: { now: boolean; calls: number }) {
  const files = new FileKeyStore({ baseDir: dir, keysDir: join(dir, 'keys'), iterations: 10_000, randomBytes: () => Buffer.alloc(0) });
  return {
    open: async (ref: string, unlock?: string | (() => Promise<string | undefined>), label?: string): Promise<Signer> => {
      const inner = await files.open(ref, unlock, label);
      return {
        algorithm: inner.algorithm,
        spki: inner.spki,
        keyType: inner.keyType,
        maxSignatureLength: inner.maxSignatureLength,
        sign: async (data: Uint8Array) => {
          fail.calls++;
          await new Promise((r) => setImmediate(r));
          if (fail.now) throw new Error('the signing process died');
          return inner.sign(data);
        },
      };
    },
  };
}

const crlNumber = (file: string): bigint => decodeCrl(crlDerFromFile(fs.readFileSync(file), file), file).crlNumber!;

describe('CRL signing outside the store transaction', () => {
  it('ok/an asynchronous Signer signs CRLs; fail/a run that dies after reserving its number leaves a gap: the next CRL skips it and is accepted by openssl and by the previous-CRL check', async () => {
    const { cwd, dir, deps } = await makePki();
    const fail = { now: false, calls: 0 };
    deps.keyStore = asyncKeyStore(dir, fail);
    const { run, ok } = pkiIn(dir, deps);
    const revokeNew = async (name: string) => {
      const serial = (await ok(['issue', '--ca', 'issuing-1', '--subject', `CN=${name}`, '--key-out', join(cwd, `${name}.key`), '--out', join(cwd, `${name}.pem`)])).serial as string;
      await ok(['revoke', '--ca', 'issuing-1', '--serial', serial, '--reason', 'keyCompromise']);
      return serial;
    };
    await ok(['ca', 'export', 'issuing-1', '--chain', '--out', join(cwd, 'chain.pem')]);
    const opensslVerifies = (file: string): string => {
      const r = spawnSync('openssl', ['crl', '-in', file, '-CAfile', join(cwd, 'chain.pem'), '-noout'], { encoding: 'utf8' });
      return `${r.status} ${r.stdout}${r.stderr}`.trim();
    };

    const a = await revokeNew('a');
    const signed = fail.calls;
    const first = await ok(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'crl-1.pem')]);
    expect([first.crl.crlNumber, fail.calls - signed]).toEqual([1, 1]);

    // The run that dies: its number (2) is reserved in the first transaction, the signature never comes back.
    const b = await revokeNew('b');
    fail.now = true;
    const died = await run(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'crl-2.pem')]);
    expect(died.code).toBe(1);
    expect(fs.existsSync(join(cwd, 'crl-2.pem'))).toBe(false);
    expect((await ok(['crl', 'list', '--ca', 'issuing-1'])).map((c: { crlNumber: number }) => c.crlNumber)).toEqual([1]);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.endsWith('.entries'))).toEqual([]);

    // The next run: number 3 (2 is a gap), compared with the stored CRL #1, verified by openssl.
    fail.now = false;
    const next = await ok(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'crl-3.pem')]);
    expect(next.crl.crlNumber).toBe(3);
    expect(crlNumber(join(cwd, 'crl-3.pem'))).toBe(3n);
    expect(opensslVerifies(join(cwd, 'crl-3.pem'))).toBe('0 verify OK');
    expect(opensslVerifies(join(cwd, 'crl-1.pem'))).toBe('0 verify OK');
    const text = execFileSync('openssl', ['crl', '-in', join(cwd, 'crl-3.pem'), '-noout', '-text'], { encoding: 'utf8' }).toUpperCase();
    for (const serial of [a, b]) expect(text).toContain(serial.toUpperCase().replace(/^0+/, ''));

    // pki's previous-CRL check accepts the CRL after the gap as --previous, and the one after it is #4.
    await revokeNew('c');
    const after = await ok(['crl', 'generate', '--ca', 'issuing-1', '--previous', join(cwd, 'crl-3.pem'), '--out', join(cwd, 'crl-4.pem')]);
    expect(after.crl.crlNumber).toBe(4);
    expect(opensslVerifies(join(cwd, 'crl-4.pem'))).toBe('0 verify OK');
    const check = await run(['crl', 'check', '--crl', join(cwd, 'crl-4.pem'), '--issuer', join(cwd, 'chain.pem')]);
    expect(check.json.data.signatureValid).toBe(true);
  });
});
