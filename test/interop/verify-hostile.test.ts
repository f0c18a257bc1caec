/**
 * Hostile inputs from an attacker's review of `pki verify` and the emulator's revocation checks: each case is
 * built here (DER assembled and signed by the CA keys, the way an attacker would) and judged by `pki verify` beside
 * `openssl verify -x509_strict`. pki must refuse every one; openssl refuses them too unless noted.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bitString, bool, explicit, integer, integerFromBytes, octetString, oid, seq, time, tlv } from '../../src/asn1/der.js';
import { toPem } from '../../src/asn1/pem.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { violation, type Constraints } from '../../src/x509/name-constraints.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

let dir = '';
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const RSA_SHA256 = seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
const key = (n: string) => crypto.createPrivateKey(fs.readFileSync(join(dir, `${n}.key`)));
const certOf = (n: string) => readCertificate(fs.readFileSync(join(dir, `${n}.pem`)), n);
const ext = (o: string, value: Buffer, critical = false) => (critical ? seq(oid(o), bool(true), octetString(value)) : seq(oid(o), octetString(value)));
const aki = (id: Buffer) => ext('2.5.29.35', seq(tlv(0x80, id)));
const crlNumber = (n: number) => ext('2.5.29.20', integer(n));
const reason = (r: number, critical = false) => ext('2.5.29.21', tlv(0x0a, Buffer.from([r])), critical);
const sign = (tbs: Buffer, k: crypto.KeyObject, alg = ECDSA_SHA256) => seq(tbs, alg, bitString(crypto.sign('sha256', tbs, k)));

function crl(opts: { entries?: Array<{ serial: string; exts?: Buffer[] }>; exts?: Buffer[]; alg?: Buffer; signer?: string }) {
  const issuer = certOf(opts.signer ?? 'int');
  const entries = (opts.entries ?? []).map((e) => seq(integerFromBytes(Buffer.from(e.serial, 'hex')), time(new Date(Date.now() - 7_200_000)), ...(e.exts?.length ? [seq(...e.exts)] : [])));
  const tbs = seq(
    integer(1),
    opts.alg ?? ECDSA_SHA256,
    issuer.subjectDer,
    time(new Date(Date.now() - 3_600_000)),
    time(new Date(Date.now() + 86_400_000)),
    ...(entries.length ? [tlv(0x30, Buffer.concat(entries))] : []),
    explicit(0, seq(aki(issuer.subjectKeyId!), ...(opts.exts ?? [crlNumber(10)]))),
  );
  return sign(tbs, key(opts.signer ?? 'int'), opts.alg ?? ECDSA_SHA256);
}

/** A certificate issued by `issuerName` with `k`, with the leaf's key and the given extensions (after the usual ones). */
function leafCert(opts: { serial: string; subject?: Buffer; extra?: Buffer[]; alg?: Buffer; issuer?: string; signWith?: crypto.KeyObject }) {
  const issuer = certOf(opts.issuer ?? 'int');
  const leaf = certOf('leaf');
  const exts = [
    ext('2.5.29.19', seq(), true),
    ext('2.5.29.15', tlv(0x03, Buffer.from([0x07, 0x80])), true),
    ext('2.5.29.14', octetString(crypto.createHash('sha1').update(leaf.spki).digest())),
    aki(issuer.subjectKeyId!),
    ...(opts.extra ?? []),
  ];
  const tbs = seq(
    explicit(0, integer(2)),
    integerFromBytes(Buffer.from(opts.serial, 'hex')),
    opts.alg ?? ECDSA_SHA256,
    issuer.subjectDer,
    seq(time(new Date(Date.now() - 3_600_000)), time(new Date(Date.now() + 30 * 86_400_000))),
    opts.subject ?? seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('leaf'))))),
    leaf.spki,
    explicit(3, seq(...exts)),
  );
  return sign(tbs, opts.signWith ?? key(opts.issuer ?? 'int'), opts.alg ?? ECDSA_SHA256);
}

const write = (name: string, der: Buffer, label: string) => {
  fs.writeFileSync(join(dir, name), toPem(label, der));
  return join(dir, name);
};

async function verdicts(leaf: string, crls: string[], chain = join(dir, 'int.pem')) {
  const deps = makeDeps(dir);
  deps.now = () => new Date();
  const r = await cli(['verify', '--cert', leaf, '--chain', chain, '--anchor-bundle', join(dir, 'root.pem'), ...crls.flatMap((c) => ['--crl', c]), '--json'], deps);
  const all = crls.length ? join(dir, 'all-crls.pem') : '';
  if (all) fs.writeFileSync(all, crls.map((c) => fs.readFileSync(c, 'latin1')).join(''));
  const o = spawnSync('openssl', ['verify', '-x509_strict', ...(all ? ['-crl_check', '-CRLfile', all] : []), '-CAfile', join(dir, 'root.pem'), '-untrusted', chain, leaf]);
  return { pki: r, openssl: o.status === 0 };
}

beforeAll(() => {
  dir = tempDir('pki-hostile-');
  fs.writeFileSync(
    join(dir, 'ca.cnf'),
    '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=x\n[v3_root]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' +
      '[v3_int]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' +
      '[v3_leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n',
  );
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  for (const k of ['root', 'int', 'leaf']) o(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${k}.key`]);
  o(['req', '-new', '-x509', '-key', 'root.key', '-subj', '/CN=Root', '-days', '30', '-config', 'ca.cnf', '-extensions', 'v3_root', '-out', 'root.pem']);
  o(['req', '-new', '-key', 'int.key', '-subj', '/CN=Int', '-config', 'ca.cnf', '-out', 'int.csr']);
  o(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '0x1001', '-days', '20', '-extfile', 'ca.cnf', '-extensions', 'v3_int', '-out', 'int.pem']);
  o(['req', '-new', '-key', 'leaf.key', '-subj', '/CN=leaf', '-config', 'ca.cnf', '-out', 'leaf.csr']);
  o(['x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-set_serial', '0x4242', '-days', '10', '-extfile', 'ca.cnf', '-extensions', 'v3_leaf', '-out', 'leaf.pem']);
});

describe('hostile CRLs: a revoked certificate never passes', () => {
  it('fail/a delta CRL entry with removeFromCRL does not un-revoke a keyCompromise listing on the complete CRL', async () => {
    const full = write('full.crl.pem', crl({ entries: [{ serial: '4242', exts: [reason(1)] }], exts: [crlNumber(10)] }), 'X509 CRL');
    for (const [name, num, base] of [['stale', 5, 4], ['fresh', 11, 10]] as const) {
      const delta = write(`delta-${name}.crl.pem`, crl({ entries: [{ serial: '4242', exts: [reason(8)] }], exts: [crlNumber(num), ext('2.5.29.27', integer(base), true)] }), 'X509 CRL');
      const v = await verdicts(join(dir, 'leaf.pem'), [full, delta]);
      expect(v.pki.code, name).toBe(11);
      expect(v.pki.json.data.failure.check).toBe('revoked');
      expect(v.openssl).toBe(false);
    }
  });

  it('fail/several CRLs in one --crl file are all read (the root\'s first, then the issuing CA\'s that revokes the leaf)', async () => {
    const empty = crl({ exts: [crlNumber(3)], signer: 'root' });
    const revoking = crl({ entries: [{ serial: '4242' }], exts: [crlNumber(4)] });
    const two = join(dir, 'two.crls.pem');
    fs.writeFileSync(two, toPem('X509 CRL', empty) + toPem('X509 CRL', revoking));
    const v = await verdicts(join(dir, 'leaf.pem'), [two]);
    expect(v.pki.code).toBe(11);
    expect(v.pki.json.data.failure.check).toBe('revoked');
    expect(v.openssl).toBe(false);
    // Commands that read one CRL refuse such a file instead of reading its first CRL only.
    const deps = makeDeps(dir);
    const inspect = await cli(['crl', 'inspect', two, '--json'], deps);
    expect(inspect.json.error.code).toBe('CRYPTO_BAD_CRL');
    const lint = await cli(['lint', two, '--json'], deps);
    expect(lint.json.error.code).toBe('CRYPTO_BAD_CRL');
  });

  it.each([
    ['onlyContainsCACerts', seq(tlv(0x82, Buffer.from([0xff])))],
    ['onlyContainsAttributeCerts', seq(tlv(0x85, Buffer.from([0xff])))],
    ['a directoryName distribution point, the leaf naming none', seq(tlv(0xa0, tlv(0xa0, tlv(0xa4, seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('Int')))))))))],
  ])('fail/a CRL of the issuer whose issuingDistributionPoint (%s) does not cover the leaf leaves its status unknown: refused', async (_what, idp) => {
    const f = write('idp.crl.pem', crl({ entries: [{ serial: '4242' }], exts: [crlNumber(10), ext('2.5.29.28', idp, true)] }), 'X509 CRL');
    const v = await verdicts(join(dir, 'leaf.pem'), [f]);
    expect(v.pki.code).toBe(11);
    expect(v.pki.json.data.valid).toBe(false);
    expect(v.openssl).toBe(false);
  });

  it.each([
    ['a critical crlReason entry extension', { entries: [{ serial: '7777', exts: [reason(1, true)] }], exts: [crlNumber(10)] }],
    ['a critical unknown entry extension', { entries: [{ serial: '7777', exts: [ext('1.3.6.1.4.1.55738.1', Buffer.from([0x05, 0x00]), true)] }], exts: [crlNumber(10)] }],
    ['a critical freshestCRL', { exts: [crlNumber(10), ext('2.5.29.46', seq(seq(tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from('http://x/d.crl')))))), true)] }],
    ['no CRL Number', { exts: [] }],
  ])('fail/a CRL with %s is not used, so the leaf has no usable CRL', async (_what, opts) => {
    const f = write('bad.crl.pem', crl(opts), 'X509 CRL');
    const v = await verdicts(join(dir, 'leaf.pem'), [f]);
    expect(v.pki.code).toBe(11);
    expect(v.pki.json.data.failure.check).toBe('crl');
  });

  it('fail/a CRL whose signature algorithm is labelled RSA but made by the EC key is not used', async () => {
    const f = write('alg.crl.pem', crl({ entries: [], exts: [crlNumber(10)], alg: RSA_SHA256 }), 'X509 CRL');
    const v = await verdicts(join(dir, 'leaf.pem'), [f]);
    expect(v.pki.code).toBe(11);
    expect(v.pki.json.data.failure.check).toBe('crl');
  });
});

describe('hostile certificates', () => {
  it('fail/a certificate labelled sha256WithRSAEncryption but signed by the EC issuer key is refused (OpenSSL 3 refuses it)', async () => {
    const f = write('leaf-alg.pem', leafCert({ serial: '5151', alg: RSA_SHA256 }), 'CERTIFICATE');
    const v = await verdicts(f, []);
    expect(v.pki.code).toBe(11);
    expect(v.openssl).toBe(false);
  });

  it('fail/an empty directoryName in cRLDistributionPoints is a verdict (exit 11), not an internal error', async () => {
    const f = write('leaf-emptydir.pem', leafCert({ serial: '5252', extra: [ext('2.5.29.31', Buffer.from('30063004a202a400', 'hex'))] }), 'CERTIFICATE');
    const v = await verdicts(f, []);
    expect(v.pki.code).toBe(11);
    expect(v.pki.json.data.valid).toBe(false);
  });

  /** An intermediate below the root with name constraints, and a leaf below it. */
  async function constrained(tag: string, nc: Buffer, leafSubject: Buffer | undefined, leafExtra: Buffer[]) {
    const root = certOf('root');
    const intKey = key('int');
    const intSpki = certOf('int').spki;
    const ncName = seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('NC Int')))));
    const id = Buffer.alloc(20, 0xab);
    const intTbs = seq(
      explicit(0, integer(2)),
      integer(0x3001),
      ECDSA_SHA256,
      root.subjectDer,
      seq(time(new Date(Date.now() - 3_600_000)), time(new Date(Date.now() + 20 * 86_400_000))),
      ncName,
      intSpki,
      explicit(3, seq(ext('2.5.29.19', seq(bool(true)), true), ext('2.5.29.15', tlv(0x03, Buffer.from([0x01, 0x06])), true), ext('2.5.29.14', octetString(id)), aki(root.subjectKeyId!), ext('2.5.29.30', nc, true))),
    );
    const intFile = write(`${tag}.int.pem`, sign(intTbs, key('root')), 'CERTIFICATE');
    const leaf = certOf('leaf');
    const leafTbs = seq(
      explicit(0, integer(2)),
      integer(0x6161),
      ECDSA_SHA256,
      ncName,
      seq(time(new Date(Date.now() - 3_600_000)), time(new Date(Date.now() + 10 * 86_400_000))),
      leafSubject ?? seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('leaf'))))),
      leaf.spki,
      explicit(3, seq(ext('2.5.29.19', seq(), true), ext('2.5.29.15', tlv(0x03, Buffer.from([0x07, 0x80])), true), aki(id), ...leafExtra)),
    );
    const leafFile = write(`${tag}.leaf.pem`, sign(leafTbs, intKey), 'CERTIFICATE');
    return verdicts(leafFile, [], intFile);
  }
  const excluded = (g: Buffer) => seq(tlv(0xa1, seq(g)));
  const permitted = (g: Buffer) => seq(tlv(0xa0, seq(g)));
  const san = (...g: Buffer[]) => ext('2.5.29.17', seq(...g));
  const uri = (s: string) => tlv(0x86, Buffer.from(s));
  const rdn2 = (a: [string, string], b: [string, string]) => tlv(0x31, Buffer.concat([seq(oid(a[0]), tlv(0x0c, Buffer.from(a[1]))), seq(oid(b[0]), tlv(0x0c, Buffer.from(b[1])))]));

  it.each([
    ['an excluded multi-valued RDN written in the other order', excluded(tlv(0xa4, seq(rdn2(['2.5.4.3', 'a'], ['2.5.4.10', 'b'])))), seq(rdn2(['2.5.4.10', 'b'], ['2.5.4.3', 'a'])), []],
    ['an excluded URI host hidden behind userinfo', excluded(uri('evil.com')), undefined, [san(uri('http://evil.com:1@good.com/'))]],
    ['an excluded URI host after a backslash', excluded(uri('.evil.com')), undefined, [san(uri('http://good.com\\.evil.com/'))]],
    ['a URI without an authority under URI constraints', excluded(uri('evil.com')), undefined, [san(uri('urn:evil.com'))]],
    ['a percent-encoded host under a permitted URI', permitted(uri('good.com')), undefined, [san(uri('http://good%2Ecom/'))]],
    ['an e-mail local part in another case than the permitted mailbox', permitted(tlv(0x81, Buffer.from('Good@example.com'))), undefined, [san(tlv(0x81, Buffer.from('good@example.com')))]],
    ['a CN host name under a DNS constraint, no dNSName SAN', excluded(tlv(0x82, Buffer.from('evil.com'))), seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('www.evil.com'))))), []],
  ])('fail/name constraints: %s is refused', async (_what, nc, subject, extra) => {
    const v = await constrained(`nc${Math.random().toString(36).slice(2, 8)}`, nc, subject, extra);
    expect(v.pki.code).toBe(11);
    expect(v.pki.json.data.failure.check).toBe('name-constraints');
    expect(v.openssl).toBe(false);
  });

  it('fail/name constraints too many to compare (names × subtrees over 2^20) are refused at once, not ground through', () => {
    const subtrees = Array.from({ length: 2000 }, (_, i) => ({ kind: 'uri' as const, value: `host${i}.example` }));
    const sets: Constraints[] = [{ permitted: [], excluded: subtrees }];
    const sans = Array.from({ length: 600 }, (_, i) => ({ type: 'uri' as const, value: `https://a${i}.example/` }));
    const fake = { subject: [], sans, sanDirectoryNames: [], sanOthers: [] } as unknown as Parameters<typeof violation>[0];
    expect(violation(fake, sets, true)).toMatch(/too many to check/);
  });
});

describe('the emulator refuses bad control-plane input with 400, not 500', () => {
  it('ok/ImportCrl with malformed PEM and UpdateTrustAnchor with a null source', async () => {
    const { startEmulator } = await import('../../src/emulator/server.js');
    const emu = await startEmulator({ port: 0, host: '127.0.0.1', ratePerSecond: 0, now: () => new Date(), log: () => undefined } as never);
    try {
      const url = (emu as { url: string }).url;
      const post = async (path: string, body: unknown, method = 'POST') => fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host, Signature=0' }, body: JSON.stringify(body) });
      const bundle = fs.readFileSync(join(dir, 'int.pem'), 'utf8');
      const ta = await post('/trustanchors', { name: 'ta', source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: bundle } } });
      expect(ta.status).toBe(201);
      const arn = ((await ta.json()) as { trustAnchor: { trustAnchorArn: string; trustAnchorId: string } }).trustAnchor;
      const bad = await post('/crls', { name: 'c', trustAnchorArn: arn.trustAnchorArn, crlData: Buffer.from('-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n').toString('base64') });
      expect(bad.status).toBe(400);
      const nul = await post(`/trustanchor/${arn.trustAnchorId}`, { source: null }, 'PATCH');
      expect(nul.status).toBe(400);
    } finally {
      await (emu as { close(): Promise<void> }).close();
    }
  });
});
