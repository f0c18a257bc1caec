/**
 * A workload key on a SoftHSM2 token with the long-running credential commands and the library provider, against the
 * emulator: `pki credential serve`, `pki credential update` and `fromRolesAnywhere` keep working when the key is
 * rotated on the token (old key pair removed, a new one generated under the same label, a new certificate written
 * over the old file): the next credentials come from the new certificate, signed by the new key, with no restart.
 * `fromRolesAnywhere` takes the module and the PIN as options (pkcs11Lib, pkcs11PinSource, pkcs11Pin).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePkcs11 } from '../../src/adapters/keys/pkcs11.js';
import { startCredentialServer } from '../../src/app/credential-serve.js';
import { credentialUpdate } from '../../src/app/credential-update.js';
import { fromRolesAnywhere } from '../../src/index.js';
import { credentialsSetup, ROLE } from '../aws-fixtures.js';
import { CLI } from '../helpers.js';
import { skipReason, softHsm, USER_PIN, type SoftHsm } from '../helpers/softhsm.js';

const why = skipReason();

describe.skipIf(!!why)('a workload key on a token, rotated under a running credential command (SoftHSM2, emulator)', () => {
  let hsm: SoftHsm;
  let pin: string;
  let n = 0;
  beforeAll(() => {
    hsm = softHsm();
    for (let i = 0; i < 4; i++) hsm.initToken(`wl-${i}`);
    pin = hsm.pinFile();
  });
  afterAll(() => closePkcs11());

  /** A PKI, the emulator, an anchor and profile (aws-fixtures), and a token of its own with a workload key labelled "app". */
  async function setup() {
    const t = await credentialsSetup();
    const token = `wl-${n++}`;
    const cert = join(t.cwd, 'app-token.pem');
    const tool = (args: string[]) => hsm.tool(['--token-label', token, '--login', '--pin', USER_PIN, ...args]);
    /** Generates the key "app" on the token (pki csr --key-store) and issues its certificate over `cert`. */
    const newKey = async (): Promise<{ serial: string; keyRef: string }> => {
      const csr = join(t.cwd, `app-${Date.now()}-${Math.random()}.csr`);
      // Another process (the built CLI), as on a real host: the running command sees the token change under it.
      const made = spawnSync(process.execPath, [CLI, 'csr', '--subject', 'CN=app-01,O=Example', '--key-store', `pkcs11:token=${token};object=app?pin-source=file:${pin}`, '--pkcs11-lib', hsm.module, '--out', csr, '--json'], { env: hsm.env, encoding: 'utf8' });
      expect(made.status, made.stdout + made.stderr).toBe(0);
      const issued = await t.ok(['issue', '--ca', 'issuing-1', '--csr', csr, '--out', cert, '--force']);
      return { serial: issued.serial as string, keyRef: JSON.parse(made.stdout).data.keyRef as string };
    };
    /** The rotation on the token: the old key pair removed (pkcs11-tool), a new one generated (pki csr), a new certificate. */
    const rotate = async () => {
      tool(['--delete-object', '--type', 'privkey', '--label', 'app']);
      tool(['--delete-object', '--type', 'pubkey', '--label', 'app']);
      return newKey();
    };
    const first = await newKey();
    const common = { certificate: cert, intermediates: join(t.cwd, 'chain.pem'), trustAnchorArn: t.anchorArn, profileArn: t.profileArn, roleArn: ROLE, endpoint: t.emu.url };
    return { t, token, cert, first, rotate, tool, common, keyRef: `pkcs11:token=${token};object=app` };
  }

  it('ok/credential serve: after the key and certificate are replaced, the next request gets credentials from the new pair, no restart', async () => {
    const { t, first, rotate, common, keyRef } = await setup();
    const server = await startCredentialServer(t.deps, { ...common, privateKey: `${keyRef}?pin-source=file:${pin}`, pkcs11Lib: hsm.module, port: 0 });
    try {
      const get = async () => {
        const token = await (await fetch(`${server.url}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
        const r = await fetch(`${server.url}/latest/meta-data/iam/security-credentials/app`, { headers: { 'x-aws-ec2-metadata-token': token } });
        const body = await r.text();
        expect(r.status, body).toBe(200);
        return JSON.parse(body) as { AccessKeyId: string };
      };
      const a = await get();
      expect(await get()).toEqual(a);
      const second = await rotate();
      expect(second.serial).not.toBe(first.serial);
      const b = await get();
      expect(b.AccessKeyId).not.toBe(a.AccessKeyId);
      // The emulator verified each CreateSession's signature with the certificate sent: the old pair, then the new.
      expect(t.emu.sessions().map((s) => s.serial)).toEqual([first.serial, second.serial]);
      expect(t.emu.sessions()[1]!.accessKeyId).toBe(b.AccessKeyId);
      expect(t.deps.err.join('')).toContain('the certificate or key files changed');
    } finally {
      await server.close();
    }
  });

  it('ok/credential update: the profile is rewritten with credentials from the new key and certificate at the next wake-up', async () => {
    const { t, first, rotate, common, keyRef } = await setup();
    const file = join(t.cwd, 'credentials');
    let second: { serial: string } | undefined;
    let step = 0;
    const written: string[] = [];
    const result = await credentialUpdate(t.deps, { ...common, privateKey: `${keyRef}?pin-source=file:${pin}`, pkcs11Lib: hsm.module, credentialsFile: file }, {
      sleep: async () => {
        written.push(/aws_access_key_id = (\S+)/.exec(fs.readFileSync(file, 'utf8'))![1]!);
        step++;
        if (step === 1) second = await rotate();
        return step < 3;
      },
    });
    expect(result.writes).toBe(2);
    expect(t.emu.sessions().map((s) => s.serial)).toEqual([first.serial, second!.serial]);
    expect(written).toEqual([t.emu.sessions()[0]!.accessKeyId, t.emu.sessions()[1]!.accessKeyId, t.emu.sessions()[1]!.accessKeyId]);
  });

  it('ok/fromRolesAnywhere takes the module (pkcs11Lib) and the PIN (pkcs11PinSource or pkcs11Pin) as options; a rotated key is used at the next call', async () => {
    const { t, first, rotate, common, keyRef } = await setup();
    // The URI names only the token and the key: module and PIN come from the options.
    const viaSource = fromRolesAnywhere({ ...common, privateKey: keyRef, pkcs11Lib: hsm.module, pkcs11PinSource: `file:${pin}` });
    const a = await viaSource();
    expect(a.accessKeyId).toBe(t.emu.sessions()[0]!.accessKeyId);
    closePkcs11(); // another process: logs in again
    const viaPin = fromRolesAnywhere({ ...common, privateKey: keyRef, pkcs11Lib: hsm.module, pkcs11Pin: USER_PIN });
    await viaPin();
    const viaEnvSource = fromRolesAnywhere({ ...common, privateKey: keyRef, pkcs11Lib: hsm.module, pkcs11PinSource: 'env:APP_TOKEN_PIN', env: { APP_TOKEN_PIN: USER_PIN } });
    await viaEnvSource();
    // $PKI_PKCS11_MODULE and $PKI_PKCS11_PIN are read from options.env (not from the process's environment by default).
    const viaEnv = fromRolesAnywhere({ ...common, privateKey: keyRef, env: { PKI_PKCS11_MODULE: hsm.module, PKI_PKCS11_PIN: USER_PIN } });
    await viaEnv();
    expect(t.emu.sessions().map((s) => s.serial)).toEqual([first.serial, first.serial, first.serial, first.serial]);
    // The URI's own pin-source comes first (as on the command line).
    closePkcs11();
    await fromRolesAnywhere({ ...common, privateKey: `${keyRef}?pin-source=file:${pin}`, pkcs11Lib: hsm.module, pkcs11PinSource: `file:${hsm.pinFile('000000')}` })();
    // Rotated on the token: the provider already in use picks up the new pair.
    const second = await rotate();
    const b = await viaSource();
    expect(b.accessKeyId).not.toBe(a.accessKeyId);
    expect(t.emu.sessions().at(-1)!.serial).toBe(second.serial);
  });

  it('fail/fromRolesAnywhere: no module, a missing module, no PIN, a wrong PIN, a pin-source that is neither file: nor env: are named errors; nothing is sent', async () => {
    const { t, common, keyRef } = await setup();
    closePkcs11();
    const fails = async (opts: Record<string, unknown>) => fromRolesAnywhere({ ...common, privateKey: keyRef, ...opts })().then(() => undefined, (e: unknown) => e as { code: string; message: string; details: Record<string, unknown> });
    const noModule = await fails({ pkcs11PinSource: `file:${pin}` });
    expect(noModule?.code).toBe('USAGE_PKCS11_MODULE_REQUIRED');
    expect(noModule?.message).toContain('input.pkcs11Lib');
    const missing = await fails({ pkcs11Lib: join(t.cwd, 'nope.so'), pkcs11PinSource: `file:${pin}` });
    expect(missing?.code).toBe('CRYPTO_TOKEN_MODULE_NOT_FOUND');
    const noPin = await fails({ pkcs11Lib: hsm.module });
    expect(noPin?.code).toBe('CRYPTO_TOKEN_PIN_REQUIRED');
    const wrong = await fails({ pkcs11Lib: hsm.module, pkcs11Pin: '000000' });
    expect(wrong?.code).toBe('CRYPTO_TOKEN_PIN_INCORRECT');
    expect(JSON.stringify(wrong)).not.toContain('000000');
    const badSource = await fails({ pkcs11Lib: hsm.module, pkcs11PinSource: '/run/pin' });
    expect(badSource?.code).toBe('USAGE_BAD_PIN_SOURCE');
    expect(badSource?.message).toContain('input.pkcs11PinSource');
    const emptyEnv = await fails({ pkcs11Lib: hsm.module, pkcs11PinSource: 'env:NOT_SET' });
    expect(emptyEnv?.code).toBe('CRYPTO_TOKEN_PIN_REQUIRED');
    expect(t.emu.sessions()).toEqual([]);
    // The token is still usable (no lock-out from the wrong PIN above).
    expect(execFileSync('pkcs11-tool', ['--module', hsm.module, '--list-token-slots'], { env: hsm.env }).toString()).toContain('wl-');
  });
});
