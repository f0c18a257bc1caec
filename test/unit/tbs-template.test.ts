/**
 * The TBSCertificate template (what issuance uses) against the field-by-field encoder: byte for byte the same for
 * varied subjects, keys, SANs, serials, issuers and the shipped profiles' extensions; and the certificate assembled in
 * one buffer against the generic DER helpers.
 */
import * as crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bitString, seq } from '../../src/asn1/der.js';
import { signatureAlgorithmFor, type KeyType } from '../../src/crypto/keys.js';
import { generateMlDsa, mlDsaSpki, type MlDsaKeyType } from '../../src/crypto/mldsa.js';
import { serialSource, newSerial } from '../../src/domain/serial.js';
import { loadProfile } from '../../src/profile/load.js';
import type { Signer } from '../../src/ports/signer.js';
import { assembleCertificate, buildTbsCertificate, parseCertificate, TbsTemplate, tbsTemplateFor, type CertificateFields, type Issuer } from '../../src/x509/certificate.js';
import { keyIdentifier, type San } from '../../src/x509/extensions.js';
import { encodeName, parseDn } from '../../src/x509/name.js';
import { seededRandom } from '../helpers.js';

const random = seededRandom('tbs-template');

function nodeSpki(keyType: KeyType): Buffer {
  const opts: Record<string, object> = {
    'ecdsa-p256': { namedCurve: 'prime256v1' },
    'ecdsa-p384': { namedCurve: 'secp384r1' },
    'rsa-2048': { modulusLength: 2048 },
    'rsa-4096': { modulusLength: 4096 },
  };
  const kind = keyType.startsWith('rsa') ? 'rsa' : 'ec';
  return crypto.generateKeyPairSync(kind as 'ec', opts[keyType] as crypto.ECKeyPairKeyObjectOptions).publicKey.export({ format: 'der', type: 'spki' });
}

const mlDsa = (t: MlDsaKeyType): Buffer => mlDsaSpki(t, generateMlDsa(t, random).publicKey);

/** An issuer: only its name, key identifier and signature AlgorithmIdentifier go into a TBSCertificate. */
function issuer(keyType: KeyType, dn: string): Issuer {
  const spki = keyType.startsWith('ml-dsa') ? mlDsa(keyType as MlDsaKeyType) : nodeSpki(keyType);
  const signer: Signer = {
    algorithm: signatureAlgorithmFor(keyType),
    spki,
    sign: () => Promise.reject(new Error('not used')),
  } as unknown as Signer;
  return { name: encodeName(parseDn(dn)), keyId: keyIdentifier(spki), signer };
}

const SUBJECTS = [
  'CN=app-01',
  'CN=host-7.example.test,OU=Platform,O=Example Corp,L=Zürich,ST=ZH,C=CH',
  `CN=${'x'.repeat(64)},OU=${'o'.repeat(64)},O=${'p'.repeat(64)},L=${'l'.repeat(128)},ST=${'s'.repeat(128)},STREET=${'t'.repeat(128)}`,
  'CN=a+UID=multi-valued,DC=example,DC=test',
  'CN=名前,O=Ünïcödé',
];

const SANS: San[][] = [
  [],
  [{ type: 'dns', value: 'host.example.test' }],
  [
    { type: 'dns', value: '*.svc.example.test' },
    { type: 'email', value: 'ops@example.test' },
    { type: 'uri', value: 'spiffe://example.test/ns/prod/sa/web' },
    { type: 'ip', value: '192.0.2.10' },
    { type: 'ip', value: '2001:db8::1' },
  ],
  Array.from({ length: 20 }, (_, i): San => ({ type: 'dns', value: `n${i}.${'long-label-'.repeat(5)}example.test` })),
];

describe('TBSCertificate template', () => {
  const profiles = ['roles-anywhere-workload', 'intermediate-ca', 'root-ca'].map((n) => loadProfile(n, undefined, process.cwd()));
  const keys: Array<[string, Buffer]> = [
    ['ecdsa-p256', nodeSpki('ecdsa-p256')],
    ['ecdsa-p384', nodeSpki('ecdsa-p384')],
    ['rsa-2048', nodeSpki('rsa-2048')],
    ['rsa-4096', nodeSpki('rsa-4096')],
    ['ml-dsa-44', mlDsa('ml-dsa-44')],
    ['ml-dsa-65', mlDsa('ml-dsa-65')],
    ['ml-dsa-87', mlDsa('ml-dsa-87')],
  ];
  const issuers = [issuer('ecdsa-p256', 'CN=Issuing CA 1,O=Example'), issuer('rsa-2048', 'CN=RSA Root'), issuer('ecdsa-p384', 'CN=P-384 CA'), issuer('ml-dsa-65', `CN=PQ Root,O=${'q'.repeat(60)}`)];
  const windows: Array<[Date, Date]> = [
    [new Date('2026-12-01T05:00:00Z'), new Date('2026-12-02T05:00:00Z')],
    // GeneralizedTime after 2049 (RFC 5280 §4.1.2.5).
    [new Date('2049-06-01T00:00:00Z'), new Date('2051-06-01T00:00:00Z')],
  ];

  it('ok/the template encodes byte for byte what the field-by-field encoder does (keys, subjects, SANs, serials, issuers, profiles)', () => {
    let compared = 0;
    const serials = [Buffer.from([0x01]), Buffer.from([0x00, 0x80]), newSerial(random), Buffer.from('7f' + 'ab'.repeat(19), 'hex')];
    for (const iss of issuers)
      for (const profile of profiles)
        for (const [notBefore, notAfter] of windows) {
          const ca = profile.kind !== 'leaf';
          const shared = { notBefore, notAfter, ca, keyUsage: profile.keyUsage, extendedKeyUsage: profile.extendedKeyUsage, crlDistributionPoints: profile.crlDistributionPoints };
          const variants = [shared, { ...shared, crlDistributionPoints: ['http://crl.example.test/ca.crl', 'ldap://ldap.example.test/cn=CA?certificateRevocationList'] }, { ...shared, pathLen: ca ? 0 : undefined }];
          for (const v of variants) {
            const template = new TbsTemplate(iss, v as CertificateFields);
            keys.forEach(([, spki], k) => {
              for (const [s, dn] of [...SUBJECTS, ''].entries()) {
                const sans = SANS[(s + k) % SANS.length]!.length || dn ? SANS[(s + k) % SANS.length]! : SANS[1]!;
                const f: CertificateFields = { ...(v as CertificateFields), serial: serials[(s + k) % serials.length]!, subject: encodeName(dn ? parseDn(dn) : []), spki, sans };
                const generic = buildTbsCertificate(iss, f);
                expect(template.fits(f)).toBe(true);
                expect(template.encode(f).equals(generic), `${dn} / key ${k}`).toBe(true);
                expect(template.encode({ ...f, subjectKeyId: keyIdentifier(spki) }).equals(generic)).toBe(true);
                compared++;
              }
            });
          }
        }
    expect(compared).toBe(issuers.length * profiles.length * windows.length * 3 * keys.length * (SUBJECTS.length + 1));
  });

  it('ok/an empty subject makes the SAN extension critical in both encoders (RFC 5280 §4.2.1.6)', () => {
    const iss = issuers[0]!;
    const f: CertificateFields = { serial: Buffer.from([5]), notBefore: windows[0]![0], notAfter: windows[0]![1], subject: encodeName([]), spki: keys[0]![1], ca: false, keyUsage: ['digitalSignature'], extendedKeyUsage: [], sans: SANS[1]! };
    const der = tbsTemplateFor(iss, f).encode(f);
    expect(der.equals(buildTbsCertificate(iss, f))).toBe(true);
    const cert = parseCertificate(assembleCertificate(iss, der, Buffer.alloc(64, 1)));
    expect(cert.extensions.find((e) => e.oid === '2.5.29.17')?.critical).toBe(true);
    expect(cert.extendedKeyUsage).toBeUndefined();
  });

  it('ok/tbsTemplateFor makes a new template when a shared field differs, and never encodes a field it does not fit', () => {
    const iss = issuers[1]!;
    const base: CertificateFields = { serial: Buffer.from([9]), notBefore: windows[0]![0], notAfter: windows[0]![1], subject: encodeName(parseDn('CN=a')), spki: keys[0]![1], ca: false, keyUsage: ['digitalSignature'], extendedKeyUsage: ['clientAuth'], sans: [] };
    const t1 = tbsTemplateFor(iss, base);
    expect(tbsTemplateFor(iss, { ...base, serial: Buffer.from([10]), keyUsage: ['digitalSignature'] })).toBe(t1);
    const changes: Array<Partial<CertificateFields>> = [
      { notBefore: new Date(windows[0]![0].getTime() + 1000) },
      { notAfter: new Date(windows[0]![1].getTime() + 1000) },
      { ca: true },
      { pathLen: 1 },
      { keyUsage: ['digitalSignature', 'keyEncipherment'] },
      { extendedKeyUsage: [] },
      { crlDistributionPoints: ['http://crl.example.test/x.crl'] },
    ];
    for (const c of changes) {
      const f = { ...base, ...c };
      expect(t1.fits(f)).toBe(false);
      expect(tbsTemplateFor(iss, f).encode(f).equals(buildTbsCertificate(iss, f))).toBe(true);
    }
    // Another issuer never shares a template.
    expect(tbsTemplateFor(issuers[0]!, base)).not.toBe(tbsTemplateFor(iss, base));
  });

  it('ok/assembleCertificate writes what seq(tbs, algorithm, BIT STRING) does, for short and long signatures', () => {
    for (const iss of issuers)
      for (const len of [0, 64, 71, 256, 512, 3309, 70_000]) {
        const tbs = crypto.randomBytes(len % 3 === 0 ? 300 : 100);
        const sig = crypto.randomBytes(len);
        expect(assembleCertificate(iss, tbs, sig).equals(seq(tbs, iss.signer.algorithm.algorithmIdentifier, bitString(sig)))).toBe(true);
      }
  });
});

describe('serialSource', () => {
  it('ok/serials drawn in blocks are the serials newSerial makes from the same random octets', () => {
    const a = seededRandom('serials');
    const b = seededRandom('serials');
    const draws: number[] = [];
    const counted = (n: number): Buffer => {
      draws.push(n);
      return a(n);
    };
    const next = serialSource(counted, 7);
    for (let i = 0; i < 20; i++) {
      const s = next();
      expect(s.equals(newSerial(b))).toBe(true);
      expect(s.length).toBe(16);
      expect(s[0]! & 0xc0).toBe(0x40);
    }
    expect(draws).toEqual([112, 112, 112]);
  });
});
