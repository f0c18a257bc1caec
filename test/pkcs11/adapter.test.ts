/** the PKCS#11 key store against a real SoftHSM2 token: URIs, generation, signing, sessions, errors. */
import * as crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePkcs11, formatPkcs11Uri, parsePkcs11Uri, Pkcs11KeyStore, pkcs11Sessions, rawEcdsaToDer, tokenError } from '../../src/adapters/keys/pkcs11.js';
import { assertNoPinValue } from '../../src/adapters/keys/pkcs11-uri.js';
import { exitCodeFor, PkiError } from '../../src/errors.js';
import { keyIdentifier } from '../../src/x509/extensions.js';
import { skipReason, softHsm, USER_PIN, type SoftHsm } from '../helpers/softhsm.js';

const verifies = (spki: Buffer, hash: string, data: Buffer, sig: Buffer): boolean => crypto.verify(hash, data, crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }), sig);

describe('RFC 7512 PKCS#11 URIs', () => {
  it('ok/parses path and query attributes, percent-escapes and id bytes, and formats them back', () => {
    const u = parsePkcs11Uri('pkcs11:token=pki%20root;object=ca-key;id=%01%A2;slot-id=3;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin');
    expect(u).toMatchObject({ token: 'pki root', object: 'ca-key', slotId: 3, type: 'private', modulePath: '/usr/lib/softhsm/libsofthsm2.so', pinSource: 'file:/run/pin' });
    expect(u.id!.toString('hex')).toBe('01a2');
    const again = parsePkcs11Uri(formatPkcs11Uri(u));
    expect(again).toEqual(u);
    expect(formatPkcs11Uri(u)).toBe('pkcs11:token=pki%20root;slot-id=3;object=ca-key;id=%01%A2;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin');
    expect(parsePkcs11Uri('PKCS11:token=a;x-vendor=1').vendor).toEqual([['x-vendor', '1']]);
  });

  it('fail/unknown attributes, bad escapes, duplicates and a pin-value are refused (exit 2), the PIN never echoed', () => {
    const code = (ref: string) => {
      try {
        const u = parsePkcs11Uri(ref, '--key-store');
        assertNoPinValue(u, '--key-store');
      } catch (e) {
        return [(e as PkiError).code, (e as PkiError).message];
      }
      return ['ok', ''];
    };
    expect(code('pkcs11:tokn=a')[0]).toBe('USAGE_BAD_PKCS11_URI');
    expect(code('pkcs11:token=a;id=%zz')[0]).toBe('USAGE_BAD_PKCS11_URI');
    expect(code('pkcs11:token=a;token=b')[0]).toBe('USAGE_BAD_PKCS11_URI');
    expect(code('pkcs11:token=a;type=cert')[0]).toBe('USAGE_BAD_PKCS11_URI');
    expect(code('pkcs11:token=a?pin-value=123456&pin-source=file:/x')).toEqual(['USAGE_BAD_PKCS11_URI', expect.not.stringContaining('123456')]);
    const [c, msg] = code('pkcs11:token=a?pin-value=123456');
    expect(c).toBe('USAGE_PIN_VALUE_REFUSED');
    expect(msg).not.toContain('123456');
    expect(exitCodeFor('USAGE_PIN_VALUE_REFUSED')).toBe(2);
  });

  it('ok/an r||s signature becomes a DER Ecdsa-Sig-Value that verifies (high bits and leading zeros included)', () => {
    for (const curve of ['prime256v1', 'secp384r1', 'secp521r1']) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: curve });
      for (let i = 0; i < 64; i++) {
        const data = Buffer.from(`m${i}`);
        const raw = crypto.sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        expect(crypto.verify('sha256', data, publicKey, rawEcdsaToDer(raw))).toBe(true);
      }
    }
    // r = 0x00 0x80...: the zero is dropped and a sign byte added; s = 0x01...: kept as is.
    const der = rawEcdsaToDer(Buffer.concat([Buffer.from([0x00, 0x80]), Buffer.alloc(30, 0x11), Buffer.alloc(32, 0x01)]));
    expect(der.subarray(0, 6).toString('hex')).toBe('304402200080');
    expect(der.subarray(36, 40).toString('hex')).toBe('02200101');
  });
});

describe('token failures are CRYPTO_TOKEN_* errors naming the CKR_ code (exit 7)', () => {
  it('ok/each CKR_ code maps to its named error; others to CRYPTO_TOKEN_ERROR', () => {
    const cases: Array<[string, string]> = [
      ['CKR_PIN_INCORRECT', 'CRYPTO_TOKEN_PIN_INCORRECT'],
      ['CKR_PIN_LOCKED', 'CRYPTO_TOKEN_LOCKED'],
      ['CKR_PIN_EXPIRED', 'CRYPTO_TOKEN_PIN_EXPIRED'],
      ['CKR_SESSION_COUNT', 'CRYPTO_TOKEN_OUT_OF_SESSIONS'],
      ['CKR_TOKEN_NOT_PRESENT', 'CRYPTO_TOKEN_NOT_FOUND'],
      ['CKR_DEVICE_REMOVED', 'CRYPTO_TOKEN_NOT_FOUND'],
      ['CKR_USER_NOT_LOGGED_IN', 'CRYPTO_TOKEN_NOT_LOGGED_IN'],
      ['CKR_DEVICE_MEMORY', 'CRYPTO_TOKEN_FULL'],
      ['CKR_MECHANISM_INVALID', 'CRYPTO_TOKEN_ERROR'],
    ];
    for (const [ckr, code] of cases) {
      // pkcs11js reports "CKR_NAME:number" in the error message.
      const e = tokenError(new Error(`${ckr}:${42}`), 'token t: login failed', { token: 't' });
      expect([e.code, e.exitCode, e.details.ckr, e.message]).toEqual([code, 7, ckr, `token t: login failed: ${ckr}`]);
    }
    expect(tokenError(new Error('CKR_PIN_LOCKED:164'), 'x').hint).toMatch(/locked/);
  });
});

const why = skipReason();

describe.skipIf(!!why)('the PKCS#11 key store on SoftHSM2', () => {
  let hsm: SoftHsm;
  let store: Pkcs11KeyStore;
  let base: string;
  beforeAll(() => {
    hsm = softHsm();
    hsm.initToken('unit');
    hsm.initToken('other', '99999999');
    base = `pkcs11:token=unit?module-path=${hsm.module}&pin-source=file:${hsm.pinFile()}`;
    // A reference read back (open) names the token and the key only: the module and the PIN come from this node.
    store = new Pkcs11KeyStore({ deps: { env: {}, cwd: hsm.dir, interactive: false }, defaults: { module: hsm.module, pinSource: `file:${hsm.pinFile()}` } });
  });
  afterAll(() => closePkcs11());

  it('ok/keys are generated on the token (sensitive, never extractable, labelled, CKA_ID = SKI), sign verifiably, and reopen by URI', async () => {
    const gen = await store.generatorFor(base);
    const data = Buffer.from('to be signed');
    for (const [type, hash] of [['ecdsa-p256', 'sha256'], ['ecdsa-p384', 'sha384'], ['ecdsa-p521', 'sha512'], ['rsa-2048', 'sha256'], ['rsa-3072', 'sha256']] as const) {
      const key = gen.generate(type, `ca-${type}`);
      const sig = await key.signer.sign(data);
      expect(verifies(key.signer.spki, hash, data, sig)).toBe(true);
      expect(sig.length).toBeLessThanOrEqual(key.signer.maxSignatureLength);
      const ref = key.persist(undefined);
      const id = keyIdentifier(key.signer.spki);
      expect(ref).toContain(`object=ca-${type}`);
      expect(parsePkcs11Uri(ref).id!.equals(id)).toBe(true);
      expect(ref).not.toContain(USER_PIN);
      expect(ref).not.toMatch(/module-path|pin-source|\?/);
      const opened = await store.open(ref, undefined, 'x');
      expect(opened.spki.equals(key.signer.spki)).toBe(true);
      expect(opened.keyType).toBe(type);
      expect(verifies(opened.spki, hash, data, await opened.sign(data))).toBe(true);
      // By label alone (no id) it is found as well.
      expect((await store.open(`pkcs11:token=unit;object=ca-${type}?module-path=${hsm.module}&pin-source=file:${hsm.pinFile()}`)).spki.equals(key.signer.spki)).toBe(true);
    }
    const listing = hsm.tool(['--token-label', 'unit', '--login', '--pin', USER_PIN, '--list-objects', '--type', 'privkey']);
    const p256 = listing.split(/\n(?=Private Key Object)/).find((b) => b.includes('label:      ca-ecdsa-p256'))!;
    expect(p256).toBeDefined();
    expect(p256).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
    expect(p256).toMatch(/Usage:\s+sign/);
    const key = await store.open(`${base.replace('?', ';object=ca-ecdsa-p256?')}`);
    expect(p256).toContain(`ID:         ${keyIdentifier(key.spki).toString('hex')}`);
  });

  it('ok/an RSA-4096 key (the largest type) is generated on the token and signs PKCS#1 v1.5 SHA-256', async () => {
    const key = (await store.generatorFor(base)).generate('rsa-4096', 'big');
    const data = Buffer.from('tbs');
    const sig = await key.signer.sign(data);
    expect(sig.length).toBe(512);
    expect(verifies(key.signer.spki, 'sha256', data, sig)).toBe(true);
    expect(crypto.createPublicKey({ key: key.signer.spki, format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength).toBe(4096);
    key.discard();
  });

  it('ok/discard removes both objects from the token', async () => {
    const gen = await store.generatorFor(base);
    const key = gen.generate('ecdsa-p256', 'short-lived');
    const ref = key.persist(undefined);
    expect((await store.open(ref)).spki.equals(key.signer.spki)).toBe(true);
    key.discard();
    await expect(store.open(ref)).rejects.toMatchObject({ code: 'CRYPTO_TOKEN_KEY_NOT_FOUND' });
    expect(hsm.tool(['--token-label', 'unit', '--login', '--pin', USER_PIN, '--list-objects'])).not.toContain('short-lived');
  });

  it('ok/many signatures in flight use several sessions and all verify', async () => {
    const gen = await store.generatorFor(base);
    const key = gen.generate('ecdsa-p256', 'busy');
    const datas = Array.from({ length: 64 }, (_, i) => Buffer.from(`tbs ${i}`));
    const sigs = await Promise.all(datas.map((d) => key.signer.sign(d)));
    sigs.forEach((s, i) => expect(verifies(key.signer.spki, 'sha256', datas[i]!, s)).toBe(true));
    expect(pkcs11Sessions().unit).toBeGreaterThanOrEqual(2);
  });

  it('fail/a wrong PIN, a missing token, a missing key, a missing module and no PIN at all are named errors (exit 7 / 2)', async () => {
    const wrong = new Pkcs11KeyStore({ deps: { env: {}, cwd: hsm.dir, interactive: false } });
    const err = await wrong.generatorFor(`pkcs11:token=other?module-path=${hsm.module}&pin-source=file:${hsm.pinFile('12345678')}`).catch((e) => e);
    expect(err).toMatchObject({ code: 'CRYPTO_TOKEN_PIN_INCORRECT', details: { ckr: 'CKR_PIN_INCORRECT' } });
    expect(err.message).toContain('CKR_PIN_INCORRECT');
    expect(err.message).not.toContain('12345678');
    expect(err.exitCode).toBe(7);
    // The right PIN from the environment variable, then a wrong one again: the login is checked each time the PIN changes.
    const viaEnv = new Pkcs11KeyStore({ deps: { env: { PKI_PKCS11_PIN: '99999999' }, cwd: hsm.dir, interactive: false } });
    await expect(viaEnv.generatorFor(`pkcs11:token=other?module-path=${hsm.module}`)).resolves.toMatchObject({ token: 'other' });
    await expect(wrong.generatorFor(`pkcs11:token=other?module-path=${hsm.module}&pin-source=env:BAD`)).rejects.toMatchObject({ code: 'CRYPTO_TOKEN_PIN_REQUIRED' });
    await expect(new Pkcs11KeyStore({ deps: { env: { BAD: '00000000' }, cwd: hsm.dir, interactive: false } }).generatorFor(`pkcs11:token=other?module-path=${hsm.module}&pin-source=env:BAD`)).rejects.toMatchObject({
      code: 'CRYPTO_TOKEN_PIN_INCORRECT',
    });
    const missing = await store.generatorFor(`pkcs11:token=nope?module-path=${hsm.module}`).catch((e) => e);
    expect(missing).toMatchObject({ code: 'CRYPTO_TOKEN_NOT_FOUND' });
    expect(missing.message).toMatch(/tokens: .*unit/);
    await expect(store.open(`${base.replace('?', ';object=no-such-key?')}`)).rejects.toMatchObject({ code: 'CRYPTO_TOKEN_KEY_NOT_FOUND' });
    await expect(store.generatorFor('pkcs11:token=unit?module-path=/nonexistent/lib.so')).rejects.toMatchObject({ code: 'CRYPTO_TOKEN_MODULE_NOT_FOUND' });
    await expect(new Pkcs11KeyStore({ deps: { env: {}, cwd: hsm.dir, interactive: false } }).generatorFor('pkcs11:token=unit')).rejects.toMatchObject({ code: 'USAGE_PKCS11_MODULE_REQUIRED' });
    const noPin = new Pkcs11KeyStore({ deps: { env: {}, cwd: hsm.dir, interactive: false } });
    closePkcs11();
    await expect(noPin.generatorFor(`pkcs11:token=unit?module-path=${hsm.module}`)).rejects.toMatchObject({ code: 'CRYPTO_TOKEN_PIN_REQUIRED' });
    const prompted: string[] = [];
    const tty = new Pkcs11KeyStore({ deps: { env: {}, cwd: hsm.dir, interactive: true, promptSecret: async (p) => (prompted.push(p), USER_PIN) } });
    await expect(tty.generatorFor(`pkcs11:token=unit?module-path=${hsm.module}`)).resolves.toMatchObject({ token: 'unit' });
    expect(prompted).toEqual(['PIN for token unit: ']);
  });
});
