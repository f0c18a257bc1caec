/**
 * end to end: a workload gets AWS credentials from (emulated) IAM Roles Anywhere with a certificate from this PKI.
 * The real AWS SDK's fromProcess() runs `pki credential-process` from a shared config file, as a user's
 * ~/.aws/config would; revoking the certificate and publishing the CRL makes the next call fail.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fromProcess } from '@aws-sdk/credential-providers';
import { describe, expect, it } from 'vitest';
import { credentialsSetup, ROLE } from '../aws-fixtures.js';
import { CLI, cli } from '../helpers.js';

describe('pki credential-process', () => {
  it('the AWS SDK\'s fromProcess() gets credentials through pki; after revoke + crl publish the next call fails with "Certificate revoked"', async () => {
    const t = await credentialsSetup();
    const config = join(t.cwd, 'aws-config');
    const command = [process.execPath, CLI, 'credential-process', ...t.args()].map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ');
    fs.writeFileSync(config, `[profile app]\ncredential_process = ${command}\n`);
    fs.writeFileSync(join(t.cwd, 'aws-credentials'), '');
    const provider = fromProcess({ profile: 'app', configFilepath: config, filepath: join(t.cwd, 'aws-credentials') });
    const creds = await provider();
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(creds.secretAccessKey.length).toBeGreaterThanOrEqual(40);
    expect(creds.sessionToken).toBeTruthy();
    expect(creds.expiration!.getTime() - Date.now()).toBeGreaterThan(3500_000);
    const session = t.emu.sessions().at(-1)!;
    expect(session).toMatchObject({ accessKeyId: creds.accessKeyId, roleArn: ROLE, roleSessionName: t.leaf.serial, sourceIdentity: 'CN=app-01' });
    expect(session.principalTags).toMatchObject({
      'x509Subject/CN': 'app-01',
      'x509Subject/OU': 'payments',
      'x509Issuer/CN': 'Creds Issuing 1',
      'x509SAN/DNS': 'app-01.example.com',
      'x509SAN/URI': 'spiffe://example.com/ns/prod/sa/app',
    });
    // pki preview predicted exactly what the emulator recorded.
    const preview = await t.run(['preview', '--cert', join(t.cwd, 'app.pem')]);
    expect(preview.json.data).toMatchObject({ tags: session.principalTags, sourceIdentity: session.sourceIdentity, roleSessionName: session.roleSessionName });

    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.leaf.serial, '--reason', 'keyCompromise']);
    await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
    await expect(provider()).rejects.toThrow(/Certificate revoked/);
  });

  it('prints exactly the credential_process JSON on stdout; the service\'s error on stderr with exit 9', async () => {
    const t = await credentialsSetup();
    const r = await cli(['credential-process', ...t.args()], t.deps);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
    expect(out.Version).toBe(1);
    expect(out.Expiration).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(r.stderr).toBe('');
    // A role the profile does not list.
    const bad = await cli(['credential-process', ...t.args({ 'role-arn': 'arn:aws:iam::123456789012:role/other' })], t.deps);
    expect(bad.code).toBe(9);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain("AccessDeniedException: Requested Role isn't one of those listed in the Profile.");
  });

  it('an intermediate-signed leaf under a root anchor sends --intermediates; a key that is not the certificate\'s is refused locally', async () => {
    const t = await credentialsSetup();
    // Anchor "root-anchor" holds the root; the leaf's issuer travels in X-Amz-X509-Chain.
    const rootAnchor = (await t.ok(['anchor', 'push', '--name', 'root-anchor', '--ca', 'root', '--enable', ...t.ep])).arn as string;
    const withChain = await cli(['credential-process', ...t.args({ 'trust-anchor-arn': rootAnchor, intermediates: join(t.cwd, 'chain.pem') })], t.deps);
    expect(withChain.code, withChain.stderr).toBe(0);
    const without = await cli(['credential-process', ...t.args({ 'trust-anchor-arn': rootAnchor })], t.deps);
    expect(without.code).toBe(9);
    expect(without.stderr).toContain('AccessDeniedException: Untrusted Signing Certificate');
    await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=other', '--key-out', join(t.cwd, 'other.key'), '--out', join(t.cwd, 'other.pem')]);
    const mismatch = await cli(['credential-process', ...t.args({ 'private-key': join(t.cwd, 'other.key') })], t.deps);
    expect(mismatch.code).toBe(7);
    expect(mismatch.stderr).toContain('CRYPTO_KEY_MISMATCH');
  });

  it('refuses a password on the command line and helper options it does not implement, before doing anything', async () => {
    const t = await credentialsSetup();
    for (const flag of [['--pkcs8-password', 'secret'], ['--no-verify-ssl']]) {
      const r = await cli(['credential-process', ...t.args({}, flag)], t.deps);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('USAGE_UNSUPPORTED_OPTION');
      expect(r.stderr).not.toContain('secret');
    }
    const before = t.emu.sessions().length;
    const region = await cli(['credential-process', ...t.args({ 'profile-arn': t.profileArn.replace('us-east-1', 'eu-west-1') })], t.deps);
    expect(region.stderr).toContain("trust anchor and profile regions don't match");
    expect(t.emu.sessions().length).toBe(before);
  });

  it('key files: SEC1 EC, PKCS#1 RSA, encrypted PKCS#8 (password from --pkcs8-password-file or $PKI_KEY_PASSPHRASE)', async () => {
    const t = await credentialsSetup();
    const key = join(t.cwd, 'app.key');
    const conv = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
    conv(['ec', '-in', key, '-out', join(t.cwd, 'sec1.key')]);
    expect(fs.readFileSync(join(t.cwd, 'sec1.key'), 'utf8')).toContain('BEGIN EC PRIVATE KEY');
    conv(['pkcs8', '-topk8', '-in', key, '-v2', 'aes-256-cbc', '-passout', 'pass:correct horse', '-out', join(t.cwd, 'enc.key')]);
    fs.writeFileSync(join(t.cwd, 'pw'), 'correct horse\n');
    const ok = async (over: Record<string, string>, env: Record<string, string> = {}) => {
      const saved = t.deps.env;
      t.deps.env = { ...saved, ...env };
      try {
        return await cli(['credential-process', ...t.args(over)], t.deps);
      } finally {
        t.deps.env = saved;
      }
    };
    expect((await ok({ 'private-key': join(t.cwd, 'sec1.key') })).code).toBe(0);
    expect((await ok({ 'private-key': join(t.cwd, 'enc.key'), 'pkcs8-password-file': join(t.cwd, 'pw') })).code).toBe(0);
    expect((await ok({ 'private-key': join(t.cwd, 'enc.key') }, { PKI_KEY_PASSPHRASE: 'correct horse' })).code).toBe(0);
    const noPw = await ok({ 'private-key': join(t.cwd, 'enc.key') });
    expect(noPw.code).toBe(7);
    expect(noPw.stderr).toContain('CRYPTO_PASSPHRASE_REQUIRED');
    const wrong = await ok({ 'private-key': join(t.cwd, 'enc.key') }, { PKI_KEY_PASSPHRASE: 'wrong' });
    expect(wrong.stderr).toContain('CRYPTO_BAD_PASSPHRASE');
    // RSA: a PKCS#1 key file.
    await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=rsa-app', '--key-type', 'rsa-2048', '--key-out', join(t.cwd, 'rsa.key'), '--out', join(t.cwd, 'rsa.pem')]);
    conv(['rsa', '-in', join(t.cwd, 'rsa.key'), '-traditional', '-out', join(t.cwd, 'rsa1.key')]);
    expect(fs.readFileSync(join(t.cwd, 'rsa1.key'), 'utf8')).toContain('BEGIN RSA PRIVATE KEY');
    const rsa = await ok({ certificate: join(t.cwd, 'rsa.pem'), 'private-key': join(t.cwd, 'rsa1.key') });
    expect(rsa.code, rsa.stderr).toBe(0);
  });
});
