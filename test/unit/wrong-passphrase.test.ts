/**
 * A wrong passphrase passes AES-CBC's padding check about once in 256 tries and decrypts to noise: it must still be
 * reported as a wrong passphrase (CRYPTO_BAD_PASSPHRASE), not as a damaged key (CRYPTO_BAD_KEY).
 */
import * as crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { decryptPkcs8, loadPrivateKey } from '../../src/crypto/keys.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';

function codeOf(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof PkiError ? e.code : `other: ${(e as Error).message}`;
  }
}

describe('a wrong passphrase is always CRYPTO_BAD_PASSPHRASE', () => {
  it('also when it happens to pass the padding check (found by trying wrong passphrases until OpenSSL accepts the padding)', () => {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'right horse battery' }).toString();
    const der = decodePemBlocks(pem, 'k.pem')[0]!.der;
    // Find a wrong passphrase whose decryption has valid padding: OpenSSL then fails on the content, not BAD_DECRYPT.
    let lucky: string | undefined;
    for (let i = 0; i < 5000 && !lucky; i++) {
      try {
        crypto.createPrivateKey({ key: pem, format: 'pem', passphrase: `wrong-${i}` });
      } catch (e) {
        const text = `${(e as { code?: string }).code ?? ''} ${(e as Error).message}`;
        if (!/BAD_DECRYPT|bad decrypt/i.test(text)) lucky = `wrong-${i}`;
      }
    }
    expect(lucky, 'no wrong passphrase with valid padding in 5,000 tries (expected about 1 in 256)').toBeDefined();
    expect(codeOf(() => loadPrivateKey(pem, 'k.pem', lucky))).toBe('CRYPTO_BAD_PASSPHRASE');
    expect(codeOf(() => decryptPkcs8(der, lucky!, 'k.pem'))).toBe('CRYPTO_BAD_PASSPHRASE');
    // Controls: the right passphrase reads the key; an ordinary wrong one is a wrong passphrase; a damaged file is not.
    expect(codeOf(() => loadPrivateKey(pem, 'k.pem', 'right horse battery'))).toBe('ok');
    expect(decryptPkcs8(der, 'right horse battery', 'k.pem')[0]).toBe(0x30);
    expect(codeOf(() => loadPrivateKey(pem, 'k.pem', 'wrong'))).toBe('CRYPTO_BAD_PASSPHRASE');
    expect(codeOf(() => decryptPkcs8(der.subarray(0, 20), 'right horse battery', 'k.pem'))).toBe('CRYPTO_BAD_KEY');
  });
});
