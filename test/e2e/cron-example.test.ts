/**
 * examples/cron/crontab runs as written: its one-time set-up and every job line, with the built CLI, against the
 * emulator (paths moved to a temporary directory; `--endpoint` added to the commands that talk to AWS). A CRL disabled
 * out of band (the AWS SDK as a second client) is caught by the hourly check and repaired by the next publish.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DisableCrlCommand, GetCrlCommand, ListCrlsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { CLI, ROOT, tempDir } from '../helpers.js';

const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

function parseCrontab(text: string) {
  const setup = [...text.matchAll(/^#\s{3}(pki .+)$/gm)].map((m) => m[1]!);
  const env = Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const jobs = text
    .split('\n')
    .filter((l) => /^[*\d]/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(6).join(' '));
  return { setup, env, jobs };
}

describe('examples/cron/crontab', () => {
  it('the set-up and every job run as written; a CRL disabled out of band is reported by the hourly check and repaired by the next publish', async () => {
    const emu = await startEmulator({ ratePerSecond: 0, region: 'eu-west-1' });
    running.push(emu);
    const work = tempDir('pki-cron-');
    const moved = (s: string) => s.replaceAll('/var/lib/pki', join(work, 'var/lib/pki')).replaceAll('/srv/crl', join(work, 'srv/crl')).replaceAll('/etc/pki', join(work, 'etc/pki'));
    const tab = parseCrontab(moved(fs.readFileSync(join(ROOT, 'examples/cron/crontab'), 'utf8')));
    expect(tab.setup).toHaveLength(2);
    expect(tab.jobs).toHaveLength(3);
    expect(tab.jobs[1]).toContain('pki crl check --crl ');
    fs.mkdirSync(join(work, 'srv/crl'), { recursive: true });
    fs.mkdirSync(join(work, 'etc/pki'), { recursive: true });
    fs.writeFileSync(join(work, 'etc/pki/ca-passphrase'), 'cron example passphrase\n', { mode: 0o400 });
    // `pki` as the job sees it; AWS commands get the emulator's endpoint. `logger` prints what it would log.
    const prelude = [
      `pki() { if [ "$1" = anchor ] || [ "$2" = publish ]; then node ${CLI} "$@" --endpoint ${emu.url} --api-rate 0; else node ${CLI} "$@"; fi; }`,
      'logger() { echo "LOGGED: $*" >&2; }',
    ].join('\n');
    const env = { ...process.env, ...tab.env, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example' };
    // Asynchronous: the emulator answers from this process.
    const sh = (command: string) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn('bash', ['-c', `${prelude}\n${command}`], { env });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => resolve({ code, out, err }));
      });
    const must = async (command: string) => {
      const r = await sh(command);
      expect(r.code, `${command}\n${r.out}${r.err}`).toBe(0);
      expect(r.err, command).not.toContain('LOGGED');
      return r;
    };
    // The PKI the crontab expects: a root and issuing-1, whose key the passphrase file opens.
    await must(`pki init --subject "CN=Cron Root,O=Example" --no-passphrase`);
    await must(`PKI_CA_PASSPHRASE="cron example passphrase" pki ca create issuing-1 --parent root --subject "CN=Cron Issuing 1,O=Example"`);
    for (const c of tab.setup) await must(c);

    const [publishJob, fileCheck, serviceCheck] = tab.jobs as [string, string, string];
    await must(publishJob);
    const served = join(work, 'srv/crl/issuing-1.crl.pem');
    expect(fs.readFileSync(served, 'utf8')).toContain('-----BEGIN X509 CRL-----');
    const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' } });
    const [crl] = (await sdk.send(new ListCrlsCommand({}))).crls!;
    expect(crl).toMatchObject({ name: 'pki-issuing-1', enabled: true });
    expect(Buffer.from(crl!.crlData!).toString()).toBe(fs.readFileSync(served, 'utf8'));
    await must(fileCheck);
    await must(serviceCheck);
    await must(publishJob); // again: nothing due, one read

    // Out of band: the CRL disabled. The hourly service check logs it (exit 11); the next publish repairs it.
    await sdk.send(new DisableCrlCommand({ crlId: crl!.crlId }));
    const caught = await sh(serviceCheck);
    expect(caught.err).toContain('LOGGED: -t pki-crl anchor status exit 11');
    await must(publishJob);
    expect((await sdk.send(new GetCrlCommand({ crlId: crl!.crlId }))).crl!.enabled).toBe(true);
    await must(serviceCheck);

    // The served file checked against the wrong CA is critical.
    const wrong = await sh(fileCheck.replace('issuing-1.pem', 'root.pem').replace(/^/, `pki ca export root --out ${join(work, 'var/lib/pki/root.pem')} && `));
    expect(wrong.err).toContain('LOGGED: -t pki-crl crl check of the served file exit 11');
  }, 60_000);
});
