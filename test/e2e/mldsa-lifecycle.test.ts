/**
 * done-when: a PKI whose root, issuing CA and workload keys are all ML-DSA-65 runs the lifecycle against the
 * emulator on 127.0.0.1: init, ca create, issue, anchor push, crl publish, credential-process → credentials, revoke,
 * crl publish → "Certificate revoked". Every certificate and CRL signature is checked by pyca's ML-DSA from the raw
 * TBS bytes, and every CreateSession request pki sent (recorded by a pass-through proxy) by an independent AWS4-X509
 * verifier in Python. The emulator accepts ML-DSA trust anchors only with mlDsaCertificates 'accept' (UNCONFIRMED in the
 * service); its default refuses them, and that is checked too.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateProfileCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { ROOT, cli, makeDeps, pkiIn, tempDir } from '../helpers.js';

const PY_MLDSA = spawnSync('python3', ['-c', 'from cryptography.hazmat.primitives.asymmetric import mldsa'], { stdio: 'ignore' }).status === 0;
const VERIFIER = join(ROOT, 'test/interop/aws4_x509_verify.py');
const ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' };
const ROLE = 'arn:aws:iam::123456789012:role/app';

/** pyca: each "cert|crl DER-file issuer-SPKI-hex" line verified from the document's raw TBS bytes with ML-DSA. */
const PY_DOCS = `
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import mldsa
for line in sys.stdin.read().split("\\n"):
    if not line: continue
    kind, path, spki = line.split(" ")
    data = open(path, "rb").read()
    doc = x509.load_der_x509_certificate(data) if kind == "cert" else x509.load_der_x509_crl(data)
    tbs = doc.tbs_certificate_bytes if kind == "cert" else doc.tbs_certlist_bytes
    pub = s.load_der_public_key(bytes.fromhex(spki))
    assert isinstance(pub, mldsa.MLDSA65PublicKey), type(pub)
    pub.verify(doc.signature, tbs)
    print(kind, doc.signature_algorithm_oid.dotted_string)
`;

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function emulator(mlDsaCertificates?: 'accept' | 'reject'): Promise<Emulator> {
  const emu = await startEmulator({ ratePerSecond: 0, ...(mlDsaCertificates ? { mlDsaCertificates } : {}) });
  closers.push(() => emu.close());
  return emu;
}

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A pass-through proxy to `target` that records every request as received (headers as sent, Host included). */
async function recordingProxy(target: string): Promise<{ url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const t = new URL(target);
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers[req.rawHeaders[i]!] = req.rawHeaders[i + 1]!;
      requests.push({ method: req.method!, url: req.url!, headers, body: body.toString('utf8') });
      const fwd = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      fwd.on('error', () => res.destroy());
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const pemDer = (path: string, label: string): Buffer => decodePemBlocks(fs.readFileSync(path, 'utf8'), path).find((b) => b.label === label)!.der;

describe.skipIf(!PY_MLDSA)('an all-ML-DSA-65 PKI, end to end against the emulator (skipped without pyca >= 48)', () => {
  it('ok/init, ca create, issue, anchor push, crl publish, credential-process, revoke → refused; every signature checked by pyca', async () => {
    const cwd = tempDir('pki-mldsa-');
    const deps = makeDeps(cwd, { env: ENV, seed: 'mldsa-lifecycle' });
    deps.now = () => new Date();
    const dir = join(cwd, 'pki');
    const { run, ok } = pkiIn(dir, deps);
    await ok(['init', '--subject', 'CN=PQ Root,O=Example', '--key-type', 'ml-dsa-65', '--no-passphrase']);
    await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=PQ Issuing 1,O=Example', '--key-type', 'ml-dsa-65', '--no-passphrase']);
    await ok(['ca', 'export', 'root', '--out', join(cwd, 'root.pem')]);
    await ok(['ca', 'export', 'issuing-1', '--out', join(cwd, 'issuing.pem')]);
    for (const [name, subject] of [['app', 'CN=app-01,O=Example'], ['gone', 'CN=gone-01,O=Example']] as const)
      await ok(['issue', '--ca', 'issuing-1', '--subject', subject, '--key-type', 'ml-dsa-65', '--key-out', join(cwd, `${name}.key`), '--out', join(cwd, `${name}.pem`), '--chain-out', join(cwd, 'chain.pem'), '--force']);

    // The emulator's default refuses an ML-DSA trust anchor (UNCONFIRMED in the service): nothing is created.
    const strict = await emulator();
    const refused = await run(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', '--endpoint', strict.url, '--api-rate', '0']);
    expect(refused.code).toBe(9);
    expect(refused.json.error.message).toMatch(/ML-DSA/);

    const emu = await emulator('accept');
    const ep = ['--endpoint', emu.url, '--api-rate', '0'];
    const anchorArn = (await ok(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', ...ep])).arn as string;
    await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...ep]);
    const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
    const profileArn = (await sdk.send(new CreateProfileCommand({ name: 'app', roleArns: [ROLE], enabled: true, durationSeconds: 3600 }))).profile!.profileArn!;
    const proxy = await recordingProxy(emu.url);
    const process = (name: string) =>
      cli(['credential-process', '--certificate', join(cwd, `${name}.pem`), '--private-key', join(cwd, `${name}.key`), '--intermediates', join(cwd, 'chain.pem'), '--trust-anchor-arn', anchorArn, '--profile-arn', profileArn, '--role-arn', ROLE, '--endpoint', proxy.url], deps);

    for (const name of ['app', 'gone']) {
      const r = await process(name);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ Version: 1, AccessKeyId: expect.stringMatching(/^ASIA/), SessionToken: expect.any(String) });
    }
    expect(emu.sessions().length).toBe(2);

    // Revoke one, publish the CRL again: that workload is refused, the other still gets credentials.
    await ok(['revoke', '--ca', 'issuing-1', '--cert', join(cwd, 'gone.pem'), '--reason', 'keyCompromise']);
    await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...ep]);
    const denied = await process('gone');
    expect(denied.code).toBe(9);
    expect(denied.stderr).toMatch(/Certificate revoked/);
    expect((await process('app')).code).toBe(0);
    expect(emu.sessions().length).toBe(3);

    // Every request pki sent is an AWS4-X509-MLDSA request that Python's own verifier accepts; one changed byte fails.
    expect(proxy.requests.length).toBe(4);
    for (const req of proxy.requests) {
      expect(req.headers.Authorization).toMatch(/^AWS4-X509-MLDSA Credential=/);
      const v = spawnSync('python3', [VERIFIER], { input: JSON.stringify({ ...req, region: 'us-east-1' }), encoding: 'utf8' });
      expect((v.stdout + v.stderr).trim()).toBe('OK');
    }
    const tampered = { ...proxy.requests[0]!, body: proxy.requests[0]!.body.replace('3600', '3601'), region: 'us-east-1' };
    expect(spawnSync('python3', [VERIFIER], { input: JSON.stringify(tampered), encoding: 'utf8' }).stdout.trim()).toBe('signature does not verify');

    // Every certificate and CRL signature, from the raw TBS bytes, with pyca's ML-DSA-65.
    const spkiOf = (p: string) => readCertificate(fs.readFileSync(p), p).spki.toString('hex');
    const lines: string[] = [];
    const doc = (kind: 'cert' | 'crl', pem: string, label: string, issuerPem: string) => {
      const der = join(cwd, `${pem}.der`);
      fs.writeFileSync(der, pemDer(join(cwd, pem), label));
      lines.push(`${kind} ${der} ${spkiOf(join(cwd, issuerPem))}`);
    };
    doc('cert', 'root.pem', 'CERTIFICATE', 'root.pem');
    doc('cert', 'issuing.pem', 'CERTIFICATE', 'root.pem');
    doc('cert', 'app.pem', 'CERTIFICATE', 'issuing.pem');
    doc('cert', 'gone.pem', 'CERTIFICATE', 'issuing.pem');
    await ok(['crl', 'export', '--ca', 'issuing-1', '--out', join(cwd, 'issuing.crl')]);
    doc('crl', 'issuing.crl', 'X509 CRL', 'issuing.pem');
    const py = spawnSync('python3', ['-c', PY_DOCS], { input: lines.join('\n'), encoding: 'utf8' });
    expect(py.stderr).toBe('');
    expect(py.stdout.trim().split('\n')).toEqual([...Array(4).fill('cert 2.16.840.1.101.3.4.3.18'), 'crl 2.16.840.1.101.3.4.3.18']);
    // Rotation: the new issuing CA is ML-DSA-65 too, beside the old one in the anchor.
    await ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', '--subject', 'CN=PQ Issuing 2,O=Example', '--key-type', 'ml-dsa-65', '--no-passphrase', ...ep]);
    await ok(['ca', 'export', 'issuing-2', '--out', join(cwd, 'issuing-2.pem')]);
    expect(readCertificate(fs.readFileSync(join(cwd, 'issuing-2.pem')), 'issuing-2.pem').publicKey.kind).toBe('ml-dsa-65');
    // The CRLs the emulator holds are pki's ML-DSA CRLs (the last one lists the revoked serial).
    const crls = await import('@aws-sdk/client-rolesanywhere').then(({ ListCrlsCommand }) => sdk.send(new ListCrlsCommand({})));
    expect(crls.crls?.length).toBe(2);
  }, 120_000);

  it('fail/an ECDSA root anchor over an ML-DSA issuing CA: CreateSession is "Untrusted Signing Certificate" by default (UNCONFIRMED), credentials with mlDsaCertificates accept', async () => {
    const cwd = tempDir('pki-mldsa-');
    const deps = makeDeps(cwd, { env: ENV, seed: 'mldsa-mixed' });
    deps.now = () => new Date();
    const dir = join(cwd, 'pki');
    const { ok } = pkiIn(dir, deps);
    await ok(['init', '--subject', 'CN=EC Root,O=Example', '--no-passphrase']);
    await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=PQ Issuing,O=Example', '--key-type', 'ml-dsa-65', '--no-passphrase']);
    await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=app-01,O=Example', '--key-out', join(cwd, 'app.key'), '--out', join(cwd, 'app.pem'), '--chain-out', join(cwd, 'chain.pem')]);
    for (const mode of ['reject', 'accept'] as const) {
      const emu = await emulator(mode);
      const ep = ['--endpoint', emu.url, '--api-rate', '0'];
      const anchorArn = (await ok(['anchor', 'push', '--name', `prod-${mode}`, '--ca', 'root', '--enable', ...ep])).arn as string;
      const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
      const profileArn = (await sdk.send(new CreateProfileCommand({ name: 'app', roleArns: [ROLE], enabled: true }))).profile!.profileArn!;
      const r = await cli(['credential-process', '--certificate', join(cwd, 'app.pem'), '--private-key', join(cwd, 'app.key'), '--intermediates', join(cwd, 'chain.pem'), '--trust-anchor-arn', anchorArn, '--profile-arn', profileArn, '--role-arn', ROLE, '--endpoint', emu.url], deps);
      if (mode === 'reject') {
        expect(r.code).toBe(9);
        expect(r.stderr).toMatch(/Untrusted Signing Certificate/);
        expect(emu.sessions().length).toBe(0);
      } else {
        expect(r.code, r.stderr).toBe(0);
        expect(emu.sessions().length).toBe(1);
      }
    }
  });
});
