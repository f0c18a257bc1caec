/** Shared set-up for the #7 tests: a PKI, the emulator, a trust anchor, a profile and one workload certificate. */
import { join } from 'node:path';
import { CreateProfileCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/server.js';
import { makeDeps, tempDir, pkiIn } from './helpers.js';

const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

const ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' };
export const ROLE = 'arn:aws:iam::123456789012:role/app';

/** A PKI whose issuing CA is the trust anchor "prod" (its CRL published), a profile for ROLE, and one workload. */
export async function credentialsSetup(opts: { now?: () => Date; emulator?: Parameters<typeof startEmulator>[0]; keyType?: string } = {}) {
  const emu = await startEmulator({ ratePerSecond: 0, ...(opts.now ? { now: opts.now } : {}), ...opts.emulator });
  running.push(emu);
  const cwd = tempDir('pki-creds-');
  const deps = makeDeps(cwd, { env: ENV, seed: `creds-${Math.random()}` });
  deps.now = opts.now ?? (() => new Date());
  const dir = join(cwd, 'pki');
  const ep = ['--endpoint', emu.url, '--api-rate', '0'];
  const { run, ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=Creds Root,O=Example', '--no-passphrase']);
  await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Creds Issuing 1,O=Example', '--no-passphrase']);
  const anchorArn = (await ok(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', ...ep])).arn as string;
  await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...ep]);
  const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  const profile = (await sdk.send(new CreateProfileCommand({ name: 'app', roleArns: [ROLE], enabled: true, durationSeconds: 3600 }))).profile!;
  const leaf = await ok([
    'issue', '--ca', 'issuing-1', '--subject', 'CN=app-01,OU=payments,O=Example', '--san', 'dns:app-01.example.com', '--san', 'uri:spiffe://example.com/ns/prod/sa/app',
    '--key-out', join(cwd, 'app.key'), '--out', join(cwd, 'app.pem'), '--chain-out', join(cwd, 'chain.pem'), ...(opts.keyType ? ['--key-type', opts.keyType] : []),
  ]);
  /** credential-process arguments; `over` replaces flags' values, `extra` adds flags. */
  const args = (over: Record<string, string> = {}, extra: string[] = []) =>
    Object.entries({
      certificate: join(cwd, 'app.pem'),
      'private-key': join(cwd, 'app.key'),
      'trust-anchor-arn': anchorArn,
      'profile-arn': profile.profileArn!,
      'role-arn': ROLE,
      endpoint: emu.url,
      ...over,
    }).flatMap(([k, v]) => [`--${k}`, v]).concat(extra);
  return { emu, cwd, dir, deps, ep, run, ok, sdk, anchorArn, profileArn: profile.profileArn!, profileId: profile.profileId!, leaf, args };
}


/** A settable test clock starting at the current second (for expiry and refresh tests). */
export function clock(start = new Date(Math.floor(Date.now() / 1000) * 1000)) {
  let t = start.getTime();
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms), set: (d: Date) => void (t = d.getTime()) };
}
