/**
 * the emulator's CreateSession, one test per rule: each request is signed by pki's signer and then changed in
 * exactly one way (or made with exactly one bad input); the answer's status, error type and message are asserted.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DisableCrlCommand, DisableProfileCommand, DisableTrustAnchorCommand, ListCrlsCommand, UpdateProfileCommand } from '@aws-sdk/client-rolesanywhere';
import { describe, expect, it } from 'vitest';
import { canonicalRequest, serialToDecimal, signSessionRequest, signString, stringToSign } from '../../src/adapters/aws/x509-signer.js';
import { readCertificate, type ParsedCertificate } from '../../src/x509/certificate.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { credentialsSetup, ROLE } from '../aws-fixtures.js';
import { cli } from '../helpers.js';

async function setup() {
  const clock = { now: new Date() };
  const t = await credentialsSetup({ now: () => clock.now });
  const load = (certFile: string, keyFile: string) => ({ cert: readCertificate(fs.readFileSync(certFile), certFile), key: crypto.createPrivateKey(fs.readFileSync(keyFile)) });
  const app = load(join(t.cwd, 'app.pem'), join(t.cwd, 'app.key'));
  const chain = decodePemBlocks(fs.readFileSync(join(t.cwd, 'chain.pem'), 'utf8'), 'chain').map((b) => b.der);
  const caPem = join(t.cwd, 'issuing-1.pem');
  await t.ok(['ca', 'export', 'issuing-1', '--out', caPem]);
  const issuingCa = load(caPem, join(t.dir, 'keys/issuing-1.key.pem'));
  /** Signs a CreateSession, lets `change` alter it, sends it; returns status, error type and body. */
  const call = async (
    o: { cert?: ParsedCertificate; key?: crypto.KeyObject; chain?: Buffer[]; date?: Date; anchor?: string; profile?: string; role?: string; duration?: number; roleSessionName?: string } = {},
    change: (r: ReturnType<typeof signSessionRequest>) => void = () => {},
  ) => {
    const req = signSessionRequest({
      host: new URL(t.emu.url).host,
      region: 'us-east-1',
      date: o.date ?? clock.now,
      trustAnchorArn: o.anchor ?? t.anchorArn,
      profileArn: o.profile ?? t.profileArn,
      roleArn: o.role ?? ROLE,
      durationSeconds: o.duration ?? 3600,
      ...(o.roleSessionName ? { roleSessionName: o.roleSessionName } : {}),
      certificate: (o.cert ?? app.cert).der,
      serialHex: (o.cert ?? app.cert).serialHex,
      chain: o.chain ?? [],
      key: o.key ?? app.key,
    });
    change(req);
    const { Host: _host, ...headers } = req.headers;
    const res = await fetch(t.emu.url + req.url, { method: 'POST', headers, body: req.body });
    const body = (await res.json()) as Record<string, any>;
    return { status: res.status, type: res.headers.get('x-amzn-errortype'), message: body.message as string | undefined, body };
  };
  /** A leaf signed with openssl by issuing-1's key, with `ext` as its extensions (none: a v1 certificate). */
  const opensslLeaf = (name: string, ext: string | null, digest = 'sha256') => {
    const dir = t.cwd;
    const key = join(dir, `${name}.key`);
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${name}`, '-out', join(dir, `${name}.csr`)], { stdio: 'pipe' });
    const args = ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', caPem, '-CAkey', join(t.dir, 'keys/issuing-1.key.pem'), '-set_serial', '0x' + crypto.randomBytes(8).toString('hex'), '-days', '30', `-${digest}`, '-out', join(dir, `${name}.pem`)];
    if (ext) {
      fs.writeFileSync(join(dir, `${name}.ext`), ext);
      args.push('-extfile', join(dir, `${name}.ext`));
    }
    execFileSync('openssl', args, { stdio: 'pipe' });
    // openssl's notBefore is the real "now", not backdated: keep the emulator's clock at or after it.
    clock.now = new Date(Math.max(clock.now.getTime(), Date.now() + 1000));
    return load(join(dir, `${name}.pem`), key);
  };
  return { ...t, clock, app, chain, issuingCa, call, opensslLeaf };
}

const DENIED = { status: 403, type: 'AccessDeniedException' };
/** Control-plane calls the SDK version here cannot make (the emulator checks a SigV4 header's scope, not its signature). */
const SIGV4 = { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host, Signature=00', 'Content-Type': 'application/json' };

describe('emulator CreateSession: each rule', () => {
  it('a correct request: 201 with the service\'s credentialSet shape; expiration = min(profile, request)', async () => {
    const t = await setup();
    await t.sdk.send(new UpdateProfileCommand({ profileId: t.profileId, durationSeconds: 1800 }));
    const r = await t.call({ duration: 3600 });
    expect(r.status).toBe(201);
    const set = r.body.credentialSet[0];
    expect(Object.keys(set).sort()).toEqual(['assumedRoleUser', 'credentials', 'packedPolicySize', 'roleArn', 'sourceIdentity']);
    expect(set.assumedRoleUser.arn).toBe(`arn:aws:sts::123456789012:assumed-role/app/${t.app.cert.serialHex}`);
    expect(new Date(set.credentials.expiration).getTime() - t.clock.now.getTime()).toBeGreaterThan(1790_000);
    expect(new Date(set.credentials.expiration).getTime() - t.clock.now.getTime()).toBeLessThanOrEqual(1800_000);
    expect(r.body.subjectArn).toMatch(/^arn:aws:rolesanywhere:us-east-1:123456789012:subject\/[0-9a-f-]{36}$/);
  });

  it('signature: a changed body, a wrong key, a wrong serial in Credential, a date outside the skew → "Invalid signature"', async () => {
    const t = await setup();
    const other = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const cases = [
      await t.call({}, (r) => (r.body = r.body.replace('3600', '3599'))),
      await t.call({ key: other }),
      await t.call({}, (r) => (r.headers.Authorization = r.headers.Authorization!.replace(/Credential=\d+/, 'Credential=12345'))),
      await t.call({ date: new Date(t.clock.now.getTime() - 10 * 60_000) }),
      await t.call({}, (r) => delete r.headers.Authorization),
    ];
    for (const r of cases) expect({ status: r.status, type: r.type, message: r.message }).toEqual({ ...DENIED, message: 'Invalid signature' });
  });

  it('leaf rules: CA:TRUE, no digitalSignature, SHA-1, X.509 v1 → "Untrusted certificate. Insufficient certificate"', async () => {
    const t = await setup();
    const caAsLeaf = t.issuingCa;
    const noDs = t.opensslLeaf('no-ds', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\n');
    const sha1 = t.opensslLeaf('sha1', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n', 'sha1');
    const v1 = t.opensslLeaf('v1', null);
    expect(v1.cert.version).toBe(1);
    expect(sha1.cert.signatureAlgorithmName).toMatch(/sha1/i);
    // The control: the same openssl recipe with digitalSignature and SHA-256 is accepted.
    const good = t.opensslLeaf('good', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n');
    expect((await t.call(good)).status).toBe(201);
    for (const leaf of [caAsLeaf, noDs, sha1, v1]) {
      const r = await t.call(leaf);
      expect({ status: r.status, message: r.message }, leaf.cert.subjectDn).toEqual({ status: 403, message: 'Untrusted certificate. Insufficient certificate' });
    }
  });

  it('chain: a CA outside the anchor, an expired leaf → "Untrusted Signing Certificate"; more than 5 in X-Amz-X509-Chain → ValidationException', async () => {
    const t = await setup();
    await t.ok(['ca', 'create', 'issuing-2', '--parent', 'root', '--subject', 'CN=Not In Anchor', '--no-passphrase']);
    await t.ok(['issue', '--ca', 'issuing-2', '--subject', 'CN=outsider', '--key-out', join(t.cwd, 'o.key'), '--out', join(t.cwd, 'o.pem'), '--validity', '1d']);
    const outsider = { cert: readCertificate(fs.readFileSync(join(t.cwd, 'o.pem')), 'o'), key: crypto.createPrivateKey(fs.readFileSync(join(t.cwd, 'o.key'))) };
    expect(await t.call(outsider)).toMatchObject({ ...DENIED, message: 'Untrusted Signing Certificate' });
    // pki's signer refuses to send 6; sign 5, then add a sixth and sign again by hand.
    const six = await t.call({ chain: Array(5).fill(t.chain[0]) }, (r) => {
      r.headers['X-Amz-X509-Chain'] = Array(6).fill(t.chain[0]!.toString('base64')).join(',');
      const { Authorization: _a, ...headers } = r.headers;
      const { canonical, signedHeaders } = canonicalRequest({ method: 'POST', path: '/sessions', query: [...new URL(`http://x${r.url}`).searchParams.entries()], headers, body: r.body });
      const date = r.headers['X-Amz-Date']!;
      const sts = stringToSign('AWS4-X509-ECDSA-SHA256', date, 'us-east-1', canonical);
      r.headers.Authorization = `AWS4-X509-ECDSA-SHA256 Credential=${serialToDecimal(t.app.cert.serialHex)}/${date.slice(0, 8)}/us-east-1/rolesanywhere/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signString(t.app.key, sts)}`;
    });
    expect(six).toMatchObject({ status: 400, type: 'ValidationException' });
    expect(six.message).toMatch(/maximum depth is 5/);
    // Two days on, the workload's certificate (the profile's default validity, 24h) has expired.
    t.clock.now = new Date(t.clock.now.getTime() + 2 * 86_400_000);
    expect(await t.call({ date: t.clock.now })).toMatchObject({ ...DENIED, message: 'Untrusted Signing Certificate' });
  });

  it('trust anchor: unknown → ResourceNotFoundException "Specified Trust Anchor wasn\'t found."; disabled → AccessDenied', async () => {
    const t = await setup();
    const unknown = await t.call({ anchor: t.anchorArn.replace(/[0-9a-f]{8}-/, '00000000-') });
    expect(unknown).toMatchObject({ status: 404, type: 'ResourceNotFoundException', message: "Specified Trust Anchor wasn't found." });
    await t.sdk.send(new DisableTrustAnchorCommand({ trustAnchorId: t.anchorArn.split('/').pop() }));
    expect(await t.call()).toMatchObject({ ...DENIED, message: 'Trust anchor is disabled' });
  });

  it('revocation: listed in an enabled CRL of the anchor → "Certificate revoked"; the same CRL disabled → 201', async () => {
    const t = await setup();
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.leaf.serial]);
    await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
    expect(await t.call()).toMatchObject({ ...DENIED, message: 'Certificate revoked' });
    const crl = (await t.sdk.send(new ListCrlsCommand({}))).crls![0]!;
    await t.sdk.send(new DisableCrlCommand({ crlId: crl.crlId }));
    expect((await t.call()).status).toBe(201);
  });

  it('profile and role: disabled profile, unlisted role, durationSeconds out of range, roleSessionName not accepted', async () => {
    const t = await setup();
    expect(await t.call({ role: 'arn:aws:iam::123456789012:role/other' })).toMatchObject({ ...DENIED, message: "Requested Role isn't one of those listed in the Profile." });
    const short = await t.call({ duration: 600 });
    expect(short).toMatchObject({ status: 400, type: 'ValidationException' });
    expect(short.message).toMatch(/durationSeconds/);
    expect(await t.call({ roleSessionName: 'my-session' })).toMatchObject({ ...DENIED, message: 'Not authorized to set roleSessionName.' });
    // UpdateProfile's acceptRoleSessionName is newer than SDK 3.332.0: sent as the service's REST call.
    const patched = await fetch(`${t.emu.url}/profile/${t.profileId}`, { method: 'PATCH', headers: SIGV4, body: JSON.stringify({ acceptRoleSessionName: true }) });
    expect(patched.status).toBe(200);
    const named = await t.call({ roleSessionName: 'my-session' });
    expect(named.status).toBe(201);
    expect(named.body.credentialSet[0].assumedRoleUser.arn).toMatch(/\/app\/my-session$/);
    await t.sdk.send(new DisableProfileCommand({ profileId: t.profileId }));
    expect(await t.call()).toMatchObject({ ...DENIED, message: 'Invalid or empty profile provided.' });
  });

  it('session tags: attribute mappings (Put/DeleteAttributeMapping) and values STS would refuse are dropped, as recorded per session', async () => {
    const t = await setup();
    await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=tagged,OU=team (blue),O=Example', '--san', 'dns:tagged.example.com', '--key-out', join(t.cwd, 't.key'), '--out', join(t.cwd, 't.pem')]);
    const tagged = { cert: readCertificate(fs.readFileSync(join(t.cwd, 't.pem')), 't'), key: crypto.createPrivateKey(fs.readFileSync(join(t.cwd, 't.key'))) };
    expect((await t.call(tagged)).status).toBe(201);
    let s = t.emu.sessions().at(-1)!;
    expect(s.principalTags).toEqual({ 'x509Subject/CN': 'tagged', 'x509Subject/O': 'Example', 'x509Issuer/CN': 'Creds Issuing 1', 'x509Issuer/O': 'Example', 'x509SAN/DNS': 'tagged.example.com' });
    expect(s.dropped).toEqual([{ tag: 'x509Subject/OU', value: 'team (blue)', reason: expect.stringContaining('"(" ")"') }]);
    // Map only CN from the subject; drop the SAN mappings entirely.
    const auth = SIGV4;
    const put = await fetch(`${t.emu.url}/profiles/${t.profileId}/mappings`, { method: 'PUT', headers: auth, body: JSON.stringify({ certificateField: 'x509Subject', mappingRules: [{ specifier: 'CN' }] }) });
    expect(put.status).toBe(200);
    const del = await fetch(`${t.emu.url}/profiles/${t.profileId}/mappings?certificateField=x509SAN`, { method: 'DELETE', headers: auth });
    expect(((await del.json()) as any).profile.attributeMappings).toContainEqual({ certificateField: 'x509SAN', mappingRules: [] });
    expect((await t.call(tagged)).status).toBe(201);
    s = t.emu.sessions().at(-1)!;
    expect(s.principalTags).toEqual({ 'x509Subject/CN': 'tagged', 'x509Issuer/CN': 'Creds Issuing 1', 'x509Issuer/O': 'Example' });
    expect(s.dropped.map((d) => d.tag).sort()).toEqual(['x509SAN/DNS', 'x509Subject/O', 'x509Subject/OU']);
  });

  it('a CRL past its nextUpdate: its issuer\'s certificates are refused (default) or the CRL ignored (--expired-crl ignore)', async () => {
    for (const mode of ['reject', 'ignore'] as const) {
      const clock = { now: new Date() };
      const t = await credentialsSetup({ now: () => clock.now, emulator: { expiredCrl: mode } });
      await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=long', '--key-out', join(t.cwd, 'l.key'), '--out', join(t.cwd, 'l.pem'), '--validity', '10d']);
      await t.ok(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '1d']);
      await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
      clock.now = new Date(clock.now.getTime() + 2 * 86_400_000);
      const r = await cli(['credential-process', ...t.args({ certificate: join(t.cwd, 'l.pem'), 'private-key': join(t.cwd, 'l.key') })], t.deps);
      if (mode === 'reject') {
        expect(r.code).toBe(9);
        expect(r.stderr).toContain('AccessDeniedException: Untrusted Signing Certificate');
      } else expect(r.code, r.stderr).toBe(0);
    }
  });
});
