/**
 * the emulator's own AWS4-X509 verifier (src/emulator/aws4-x509.ts), piece by piece against hand-written
 * expectations from the signing process: the canonical query string and request, the Authorization header's form,
 * the serial in decimal (the reference's vectors, a high-bit serial, a negative one), and the refusals that a
 * lenient verifier would let through.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalQueryString, canonicalRequestOf, parseAws4X509Authorization, serialDecimalOf, verifyAws4X509, type ReceivedRequest } from '../../src/emulator/aws4-x509.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { tempDir } from '../helpers.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A self-signed certificate made by openssl with this serial (`-set_serial`), and its key. */
function opensslCert(serial: string, key: 'rsa' | 'ec' = 'ec'): { der: Buffer; key: crypto.KeyObject } {
  const dir = tempDir('pki-aws4-');
  const newkey = key === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=aws4', '-days', '1', '-set_serial', serial], { stdio: 'pipe' });
  return { der: decodePemBlocks(fs.readFileSync(join(dir, 'c.pem'), 'utf8'), 'c.pem')[0]!.der, key: crypto.createPrivateKey(fs.readFileSync(join(dir, 'k.pem'))) };
}

describe('the emulator\'s AWS4-X509 verifier', () => {
  it('canonical query string: decoded, RFC 3986-encoded with uppercase hex, sorted by name then value; a bad %-escape is refused', () => {
    expect(canonicalQueryString('roleArn=arn%3aaws%3Aiam%3A%3A1%3Arole%2Fa+b&a=%7e&a=&b')).toBe('a=&a=~&b=&roleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b');
    expect(canonicalQueryString('x=%C3%A9%2B!*()')).toBe('x=%C3%A9%2B%21%2A%28%29');
    expect(canonicalQueryString('')).toBe('');
    expect(canonicalQueryString('a=%zz')).toBeUndefined();
  });

  it('canonical request: lowercase names, trimall values, repeated headers joined with ",", the payload hash', () => {
    const req: ReceivedRequest = {
      method: 'POST',
      path: '/sessions',
      rawQuery: 'b=2&a=1',
      rawHeaders: ['Host', 'h:1', 'X-Amz-Date', '20260101T000000Z', 'X-Multi', '  one   two ', 'x-multi', 'three', 'X-Amz-X509', 'QQ=='],
      body: Buffer.alloc(0),
    };
    expect(canonicalRequestOf(req, ['host', 'x-amz-date', 'x-amz-x509', 'x-multi'])).toBe(
      ['POST', '/sessions', 'a=1&b=2', 'host:h:1', 'x-amz-date:20260101T000000Z', 'x-amz-x509:QQ==', 'x-multi:one two,three', '', 'host;x-amz-date;x-amz-x509;x-multi', EMPTY_SHA256].join('\n'),
    );
    expect(canonicalRequestOf(req, ['host', 'x-missing'])).toBeUndefined();
  });

  it('Authorization: the four parts; unsorted or repeated or uppercase SignedHeaders, uppercase hex, other algorithms, extra parts are refused', () => {
    const good = 'AWS4-X509-ECDSA-SHA256 Credential=291/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host;x-amz-date;x-amz-x509, Signature=0a0b';
    expect(parseAws4X509Authorization(good)).toMatchObject({ algorithm: 'AWS4-X509-ECDSA-SHA256', serial: '291', date: '20260101', region: 'us-east-1', service: 'rolesanywhere', signedHeaders: ['host', 'x-amz-date', 'x-amz-x509'] });
    for (const [bad, why] of [
      [good.replace('host;x-amz-date', 'x-amz-date;host'), /sorted/],
      [good.replace('host;', 'host;host;'), /sorted|repeats/],
      [good.replace('host;', 'Host;'), /lowercase/],
      [good.replace('0a0b', '0A0B'), /hex/],
      [good.replace('0a0b', '0a0'), /hex/],
      [good.replace('AWS4-X509-ECDSA-SHA256', 'AWS4-HMAC-SHA256'), /algorithm/],
      [good.replace('AWS4-X509-ECDSA-SHA256', 'AWS4-X509-MLDSA-SHA256'), /algorithm/],
      [`${good}, Extra=1`, /unexpected/],
      [good.replace('Credential=291', 'Credential=0291'), /decimal/],
      [good.replace('/aws4_request', ''), /Credential/],
      [good.replace(', Signature=0a0b', ''), /required/],
    ] as const)
      expect(parseAws4X509Authorization(bad), bad).toMatch(why);
  });

  it('serial in decimal, read from the DER: the reference\'s vectors, a high-bit serial (00 pad), a negative serial', () => {
    expect(serialDecimalOf(opensslCert('0x03ec7edc37a757d3f69a309a7d91a516').der)).toBe('5215639076998761095638506031589467414');
    expect(serialDecimalOf(opensslCert('0x3921bce7f3151a4b7fef54efef54c409a5030f3a').der)).toBe('326164854566604267642234107702204417305661869882');
    expect(serialDecimalOf(opensslCert('0x80112233').der)).toBe('2148606515');
    // A one-octet serial 0x7f, patched to 0x81: the INTEGER is -127 (two's complement), as a parser such as Go's reads it.
    const der = Buffer.from(opensslCert('0x7f').der);
    const at = der.indexOf(Buffer.from([0x02, 0x01, 0x7f]));
    der[at + 2] = 0x81;
    expect(serialDecimalOf(der)).toBe('-127');
  });

  it('verifies a request signed by hand from the spec, and refuses: a second Authorization, X-Amz-Date twice, an unsigned X-Amz-X509-Chain, the wrong key type', () => {
    const { der, key } = opensslCert('0x0123', 'rsa');
    const publicKey = crypto.createPublicKey(key);
    const x509 = der.toString('base64');
    const date = '20260301T120000Z';
    const body = Buffer.from('{"durationSeconds":3600}');
    const canonical = ['POST', '/sessions', 'profileArn=p&roleArn=r&trustAnchorArn=t', 'host:emu', `x-amz-date:${date}`, `x-amz-x509:${x509}`, '', 'host;x-amz-date;x-amz-x509', crypto.createHash('sha256').update(body).digest('hex')].join('\n');
    const sts = ['AWS4-X509-RSA-SHA256', date, '20260301/us-east-1/rolesanywhere/aws4_request', crypto.createHash('sha256').update(canonical).digest('hex')].join('\n');
    const signature = crypto.sign('sha256', Buffer.from(sts), key).toString('hex');
    const auth = `AWS4-X509-RSA-SHA256 Credential=291/20260301/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host;x-amz-date;x-amz-x509, Signature=${signature}`;
    const headers = ['Host', 'emu', 'X-Amz-Date', date, 'X-Amz-X509', x509, 'Authorization', auth, 'User-Agent', 'not signed'];
    const req = (h: string[]): ReceivedRequest => ({ method: 'POST', path: '/sessions', rawQuery: 'trustAnchorArn=t&roleArn=r&profileArn=p', rawHeaders: h, body });
    const opts = { region: 'us-east-1', now: new Date('2026-03-01T12:01:00Z'), clockSkewSeconds: 300 };
    expect(verifyAws4X509(req(headers), { der, publicKey }, opts)).toEqual({ ok: true, algorithm: 'AWS4-X509-RSA-SHA256', signedHeaders: ['host', 'x-amz-date', 'x-amz-x509'] });
    const refused = (h: string[], o = opts, k = publicKey) => {
      const v = verifyAws4X509(req(h), { der, publicKey: k }, o);
      return v.ok ? 'accepted' : v.reason;
    };
    expect(refused([...headers, 'authorization', auth])).toMatch(/more than one Authorization/);
    expect(refused([...headers, 'x-amz-date', date])).toMatch(/X-Amz-Date must be sent once/);
    expect(refused([...headers, 'X-Amz-X509-Chain', x509])).toMatch(/x-amz-x509-chain must be signed/);
    expect(refused(headers, { ...opts, region: 'eu-west-1' })).toMatch(/scope/);
    expect(refused(headers, { ...opts, now: new Date('2026-03-01T12:06:00Z') })).toMatch(/from the clock/);
    expect(refused(headers.map((v) => (v === 'emu' ? 'emu2' : v)))).toMatch(/does not verify/);
    expect(refused(headers, opts, crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey)).toMatch(/does not match/);
    expect(refused(headers.map((v) => (v === auth ? auth.replace('Credential=291', 'Credential=292') : v)))).toMatch(/serial 292 is not the certificate's 291/);
  });
});
