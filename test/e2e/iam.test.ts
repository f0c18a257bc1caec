/**
 * the IAM side, generated: pki aws trust-policy, pki aws profile create and pki aws config against the emulator,
 * and the generated ~/.aws/config read by the AWS SDK for JavaScript (fromIni), which obtains credentials through
 * credential_process (the built pki) and then through the chained role (the emulator's STS AssumeRole).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromIni } from '@aws-sdk/credential-providers';
import { AssumeRoleCommand, STSClient, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { ListProfilesCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { CLI, makeDeps, tempDir, pkiIn } from '../helpers.js';

const HUB = { account: '111122223333', region: 'eu-west-1' };
const ROLE = `arn:aws:iam::${HUB.account}:role/web`;
const APP_ROLE = 'arn:aws:iam::444455556666:role/app';
const running: Emulator[] = [];

/**
 * The SDK's own STS client for the role assumption fromIni makes, pointed at the emulator (this SDK version's default
 * role assumer takes no endpoint; on AWS it calls sts.REGION.amazonaws.com).
 */
const roleAssumerAt = (endpoint: string) => async (source: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, params: AssumeRoleCommandInput) => {
  const { Credentials: c } = await new STSClient({ region: HUB.region, endpoint, credentials: source }).send(new AssumeRoleCommand(params));
  return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken!, expiration: c!.Expiration! };
};
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function setup() {
  const emu = await startEmulator({ ratePerSecond: 0, ...HUB });
  running.push(emu);
  const cwd = tempDir('pki-iam-');
  const deps = makeDeps(cwd, { env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' }, seed: `iam-${Math.random()}` });
  // credential_process runs the built CLI on the real clock: the certificates must be valid now.
  deps.now = () => new Date();
  const dir = join(cwd, 'pki');
  const { run, ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=IAM Root,O=Example', '--no-passphrase']);
  await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=IAM Issuing,O=Example', '--no-passphrase']);
  await ok(['target', 'add', 'hub', '--region', HUB.region, '--account', HUB.account, '--endpoint', emu.url]);
  const anchor = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', '--target', 'hub', '--api-rate', '0']);
  await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--api-rate', '0']);
  await ok([
    'issue', '--ca', 'issuing-1', '--subject', 'CN=web-01,OU=payments,O=Example', '--san', 'uri:spiffe://example.com/web',
    '--key-out', join(cwd, 'web.key'), '--out', join(cwd, 'web.pem'), '--chain-out', join(cwd, 'chain.pem'),
  ]);
  return { emu, cwd, dir, deps, run, ok, anchorArn: anchor.results[0].arn as string };
}

describe('pki aws: trust policy, profile, config', () => {
  it('trust-policy: the three actions, SourceArn = the anchor in that target, tag conditions checked against the certificate', async () => {
    const { cwd, run, ok, anchorArn } = await setup();
    const r = await ok(['aws', 'trust-policy', '--anchor', 'prod', '--target', 'hub', '--cn', 'web-01', '--ou', 'payments', '--san-uri', 'spiffe://example.com/web', '--cert', join(cwd, 'web.pem')]);
    expect(r.policy.Statement).toEqual([
      {
        Sid: 'RolesAnywhere',
        Effect: 'Allow',
        Principal: { Service: 'rolesanywhere.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
        Condition: {
          ArnEquals: { 'aws:SourceArn': anchorArn },
          StringEquals: { 'aws:PrincipalTag/x509Subject/CN': 'web-01', 'aws:PrincipalTag/x509Subject/OU': 'payments', 'aws:PrincipalTag/x509SAN/URI': 'spiffe://example.com/web' },
        },
      },
    ]);
    expect(anchorArn).toMatch(new RegExp(`^arn:aws:rolesanywhere:${HUB.region}:${HUB.account}:trust-anchor/`));
    // A condition the certificate does not meet, a tag Roles Anywhere never emits, a value it would drop.
    const miss = await run(['aws', 'trust-policy', '--anchor', 'prod', '--target', 'hub', '--cn', 'web-02', '--cert', join(cwd, 'web.pem')]);
    expect(miss.code).toBe(4);
    expect(miss.json.error.code).toBe('POLICY_TRUST_POLICY_MISMATCH');
    expect(miss.json.error.message).toContain('x509Subject/CN');
    const bogus = await run(['aws', 'trust-policy', '--anchor', 'prod', '--target', 'hub', '--tag', 'x509SAN/Email=a@example.com']);
    expect(bogus.code).toBe(2);
    expect(bogus.json.error.code).toBe('USAGE_BAD_TAG');
    const dropped = await run(['aws', 'trust-policy', '--anchor', 'prod', '--target', 'hub', '--cn', 'web;01']);
    expect(dropped.code).toBe(4);
    expect(dropped.json.error.code).toBe('POLICY_TAG_VALUE');
    expect((await run(['aws', 'trust-policy', '--anchor', 'nope', '--target', 'hub'])).code).toBe(5);
  });

  it('profile create is safe to repeat and sets attribute mappings; the generated config obtains credentials through credential_process and the chained role', async () => {
    const { emu, cwd, ok, deps } = await setup();
    const created = await ok(['aws', 'profile', 'create', '--name', 'web', '--role-arn', ROLE, '--target', 'hub', '--duration', '1h', '--map', 'x509Subject/CN', '--map', 'x509SAN/URI', '--api-rate', '0']);
    expect(created.calls).toEqual(['CreateProfile', 'PutAttributeMapping x509Subject', 'PutAttributeMapping x509SAN']);
    expect(created.profileArn).toMatch(new RegExp(`^arn:aws:rolesanywhere:${HUB.region}:${HUB.account}:profile/`));
    expect(created).toMatchObject({ enabled: true, durationSeconds: 3600, roleArns: [ROLE] });
    expect(created.attributeMappings).toMatchObject({ x509Subject: ['CN'], x509SAN: ['URI'] });
    const again = await ok(['aws', 'profile', 'create', '--name', 'web', '--role-arn', ROLE, '--target', 'hub', '--duration', '1h', '--map', 'x509Subject/CN', '--map', 'x509SAN/URI', '--api-rate', '0']);
    expect(again.calls).toEqual([]);
    const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: HUB.region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
    expect(((await sdk.send(new ListProfilesCommand({}))).profiles ?? []).map((p) => p.name)).toEqual(['web']);

    const conf = await ok([
      'aws', 'config', '--anchor', 'prod', '--target', 'hub', '--profile', 'web', '--role-arn', ROLE,
      '--certificate', join(cwd, 'web.pem'), '--private-key', join(cwd, 'web.key'), '--intermediates', join(cwd, 'chain.pem'),
      '--chain-role-arn', APP_ROLE, '--pki-command', `${process.execPath} ${CLI}`, '--api-rate', '0',
    ]);
    expect(conf.config).toContain('[profile web]\ncredential_process = ');
    expect(conf.config).toContain(`[profile web-chained]\nsource_profile = web\nrole_arn = ${APP_ROLE}\nregion = ${HUB.region}\n`);
    const configFile = join(cwd, 'aws-config');
    writeFileSync(configFile, conf.config);
    const files = { configFilepath: configFile, filepath: join(cwd, 'no-credentials') };

    // The SDK reads the generated block, runs credential_process (the built pki) and gets Roles Anywhere credentials.
    const creds = await fromIni({ profile: 'web', ...files })();
    expect(creds.accessKeyId).toMatch(/^ASIA/);
    const sessions = emu.sessions();
    expect(sessions.map((s) => [s.roleArn, s.accessKeyId, s.principalTags['x509Subject/CN']])).toEqual([[ROLE, creds.accessKeyId, 'web-01']]);
    // The profile's mapping keeps only CN and the URI SAN.
    expect(Object.keys(sessions[0]!.principalTags).sort()).toEqual(['x509Issuer/CN', 'x509Issuer/O', 'x509SAN/URI', 'x509Subject/CN']);

    // The chained profile: credential_process again, then STS AssumeRole of the workload-account role with those credentials.
    const chained = await fromIni({ profile: 'web-chained', ...files, roleAssumer: roleAssumerAt(emu.url) })();
    expect(chained.accessKeyId).toMatch(/^ASIA/);
    const assumed = emu.assumedRoles();
    expect(assumed).toHaveLength(1);
    expect(assumed[0]).toMatchObject({ roleArn: APP_ROLE, accessKeyId: chained.accessKeyId });
    expect(emu.sessions().map((s) => s.accessKeyId)).toContain(assumed[0]!.callerAccessKeyId);

    // A target reached through a role: pki assumes it (STS AssumeRole) with the credentials it runs with.
    Object.assign(deps.env, { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_SESSION_TOKEN: creds.sessionToken!, PKI_STS_ENDPOINT: emu.url });
    await ok(['target', 'add', 'via-role', '--region', HUB.region, '--role-arn', `arn:aws:iam::${HUB.account}:role/pki-publisher`, '--endpoint', emu.url]);
    const pushed = await ok(['anchor', 'push', '--name', 'dr', '--ca', 'issuing-1', '--target', 'via-role', '--api-rate', '0']);
    expect(pushed.results[0]).toMatchObject({ target: 'via-role', ok: true, calls: ['CreateTrustAnchor'] });
    expect(emu.assumedRoles().map((a) => [a.roleArn, a.callerAccessKeyId])).toEqual([
      [APP_ROLE, assumed[0]!.callerAccessKeyId],
      [`arn:aws:iam::${HUB.account}:role/pki-publisher`, creds.accessKeyId],
    ]);
  }, 60_000);

  it('config --helper aws: the official helper with the same ARNs; paths shell-quoted; a profile given by ARN needs no lookup', async () => {
    const { emu, ok, run, anchorArn } = await setup();
    const profileArn = `arn:aws:rolesanywhere:${HUB.region}:${HUB.account}:profile/0b0e2c55-1a40-4a4a-9d68-3a0c6a5b8f00`;
    const before = emu.calls().length;
    const r = await ok(['aws', 'config', '--anchor', 'prod', '--target', 'hub', '--profile-arn', profileArn, '--name', 'web', '--role-arn', ROLE, '--certificate', "/etc/pki/my certs/web.pem", '--private-key', "/etc/pki/it's.key", '--helper', 'aws']);
    expect(r.credentialProcess).toBe(
      `aws_signing_helper credential-process --certificate '/etc/pki/my certs/web.pem' --private-key '/etc/pki/it'\\''s.key' --trust-anchor-arn ${anchorArn} --profile-arn ${profileArn} --role-arn ${ROLE} --endpoint ${emu.url}`,
    );
    expect(r.config).toBe(`[profile web]\ncredential_process = ${r.credentialProcess}\nregion = ${HUB.region}\n`);
    expect(emu.calls().length).toBe(before);
    const noProfile = await run(['aws', 'config', '--anchor', 'prod', '--target', 'hub', '--profile', 'missing', '--role-arn', ROLE, '--certificate', 'c.pem', '--private-key', 'k.pem', '--api-rate', '0']);
    expect(noProfile.code).toBe(5);
    expect(noProfile.json.error.code).toBe('NOT_FOUND_PROFILE');
  });

  it('the emulator\'s STS refuses credentials it did not issue', async () => {
    const { emu, cwd } = await setup();
    const configFile = join(cwd, 'aws-config');
    writeFileSync(join(cwd, 'creds'), '[outsider]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n');
    writeFileSync(configFile, `[profile chained]\nsource_profile = outsider\nrole_arn = ${APP_ROLE}\nregion = ${HUB.region}\n`);
    await expect(fromIni({ profile: 'chained', configFilepath: configFile, filepath: join(cwd, 'creds'), roleAssumer: roleAssumerAt(emu.url) })()).rejects.toThrow(/security token included in the request is invalid/);
    expect(emu.assumedRoles()).toEqual([]);
  });
});
