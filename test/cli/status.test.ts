/** `pki status`: exit codes 0/10/11 as an injected clock moves, JSON and the Prometheus text format. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/server.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const DAY = 86_400_000;

describe('pki status', () => {
  it('ok, then warning and critical as the clock moves; revocations not in a CRL; Prometheus output', async () => {
    const cwd = tempDir('pki-status-');
    const clock = { now: T0 };
    const deps = makeDeps(cwd);
    deps.now = () => clock.now;
    const dir = join(cwd, 'pki');
    const run = (argv: string[]) => cli([...argv, '--dir', dir, '--json'], deps);
    await run(['init', '--subject', 'CN=Status Root', '--validity', '1y', '--no-passphrase']);
    await run(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Status Issuing', '--validity', '100d', '--no-passphrase']);
    const leaf = (await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=w', '--key-out', join(cwd, 'k'), '--validity', '10d'])).json.data;
    await run(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '7d']);
    const status = async (extra: string[] = []) => {
      const r = await run(['status', ...extra]);
      return { code: r.code, status: r.json.data.status, messages: r.json.data.checks.filter((c: { level: string }) => c.level !== 'ok').map((c: { level: string; message: string }) => `${c.level}: ${c.message}`), data: r.json.data };
    };
    let s = await status();
    expect(s).toMatchObject({ code: 0, status: 'ok', messages: [] });
    expect(s.data.cas.find((c: { name: string }) => c.name === 'issuing-1')).toMatchObject({ validCertificates: 1, expiringWithinWarn: 1, crl: { number: 1 } });

    await run(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial]);
    s = await status();
    expect(s.code, JSON.stringify(s.messages)).toBe(10);
    expect(s.messages).toEqual([expect.stringMatching(/^warning: CA issuing-1 revoked certificates after CRL #1/)]);
    await run(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '7d']);
    expect((await status()).code).toBe(0);

    clock.now = new Date(T0.getTime() + 6 * DAY); // the CRL has a day left
    s = await status();
    expect(s.code, JSON.stringify(s.messages)).toBe(10);
    expect(s.messages).toEqual([expect.stringMatching(/^warning: CA issuing-1's CRL #2 expires .* \(within --crl-warn\)/)]);
    clock.now = new Date(T0.getTime() + 8 * DAY); // the CRL has expired
    expect((await status()).code).toBe(11);
    await run(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '30d']);
    clock.now = new Date(T0.getTime() + 75 * DAY); // issuing-1 within 30 days of its end
    await run(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '24d']); // nextUpdate before the CA's end
    s = await status(['--crl-warn', '1h']);
    expect(s.code, JSON.stringify(s.messages)).toBe(10);
    expect(s.messages).toEqual([expect.stringMatching(/^warning: CA issuing-1 expires .* \(within --warn\)/)]);
    clock.now = new Date(T0.getTime() + 95 * DAY); // within 7 days
    s = await status(['--crl-warn', '1h']);
    expect(s.code, JSON.stringify(s.messages)).toBe(11);
    expect(s.messages).toEqual([expect.stringMatching(/^critical: CA issuing-1 expires .* \(within --crit\)/)]);

    const prom = await cli(['status', '--dir', dir, '--format', 'prometheus', '--crl-warn', '1h'], deps);
    expect(prom.code).toBe(11);
    expect(prom.stdout).toContain('# TYPE pki_status gauge\npki_status 2\n');
    expect(prom.stdout).toMatch(/^pki_ca_days_to_expiry\{ca="issuing-1"\} [0-6]$/m);
    expect(prom.stdout).toMatch(/^pki_crl_number\{ca="issuing-1"\} 4$/m);
    expect(prom.stdout).toMatch(/^pki_certificates_valid\{ca="issuing-1"\} 0$/m);
  });

  it('text output: a headline, then one line per CA, CRL, trust anchor and service check with its level, each problem under its line; --json unchanged', async () => {
    const emu = await startEmulator({ ratePerSecond: 0, account: '111122223333', region: 'us-east-1' });
    try {
      const cwd = tempDir('pki-status-text-');
      const deps = makeDeps(cwd, { now: T0, env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' } });
      const dir = join(cwd, 'pki');
      const run = (argv: string[]) => cli([...argv, '--dir', dir], deps);
      const ok = async (argv: string[]) => expect((await run(argv)).code, argv.join(' ')).toBe(0);
      await ok(['init', '--subject', 'CN=Status Root', '--validity', '1y', '--no-passphrase']);
      await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Status Issuing', '--validity', '20d', '--no-passphrase']);
      const leaf = (await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=w', '--key-out', join(cwd, 'k'), '--validity', '10d', '--dir', dir, '--json'], deps)).json.data;
      await ok(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '7d']);
      const aws = ['--region', 'us-east-1', '--endpoint', emu.url, '--api-rate', '0'];
      await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', ...aws]);
      await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...aws]);
      const arn = (await cli(['anchor', 'status', '--name', 'prod', '--dir', dir, '--json', ...aws.slice(2)], deps)).json.data.arn;

      const first = await run(['status']);
      expect(first.code).toBe(10);
      expect(first.stdout).toBe(
        [
          'Status: WARNING (exit 10): 1 warning — 2 CAs, 1 trust anchor; at 2026-01-01 00:00:00Z',
          '',
          'CAs',
          '  OK        root       active, expires 2027-01-01 00:00:00Z (in 365d), 0 valid certificates',
          '  WARNING   issuing-1  active, expires 2026-01-21 00:00:00Z (in 20d), 1 valid certificate, 1 expiring within --warn',
          '                       - CA issuing-1 expires 2026-01-21T00:00:00.000Z (within --warn)',
          '',
          'CRLs',
          '  OK        root       no CRL yet',
          '  OK        issuing-1  CRL #1, next update 2026-01-08 00:00:00Z (in 7d)',
          '',
          'Trust anchors',
          `  OK        prod  [root, issuing-1] ${arn}, CRLs up to date`,
          '',
        ].join('\n'),
      );

      // A revocation not yet in a CRL, and the comparison with the service: the problem under the line it concerns.
      await ok(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial]);
      const second = await run(['status', '--check-service', '--crit', '1d', '--warn', '1d', ...aws]);
      expect(second.code).toBe(10);
      expect(second.stdout.split('\n')).toEqual([
        'Status: WARNING (exit 10): 1 warning — 2 CAs, 1 trust anchor; at 2026-01-01 00:00:00Z',
        '',
        'CAs',
        '  OK        root       active, expires 2027-01-01 00:00:00Z (in 365d), 0 valid certificates',
        '  OK        issuing-1  active, expires 2026-01-21 00:00:00Z (in 20d), 0 valid certificates',
        '',
        'CRLs',
        '  OK        root       no CRL yet',
        '  WARNING   issuing-1  CRL #1, next update 2026-01-08 00:00:00Z (in 7d)',
        '                       - CA issuing-1 revoked certificates after CRL #1: generate and publish a new one',
        '',
        'Trust anchors',
        `  OK        prod  [root, issuing-1] ${arn}, CRLs up to date`,
        '',
        'On the service (--check-service)',
        '  OK        prod  holds what it should',
        '',
      ]);
      // --json keeps its shape: the same data the text is made from.
      const json = await cli(['status', '--dir', dir, '--json'], deps);
      expect(json.code).toBe(10);
      expect(Object.keys(json.json.data).sort()).toEqual(['anchors', 'cas', 'checks', 'exitCode', 'now', 'rotations', 'status']);
      expect(json.json.data.checks.filter((c: { level: string }) => c.level !== 'ok').map((c: { what: string }) => c.what)).toEqual(['ca/issuing-1', 'crl/issuing-1']);
    } finally {
      await emu.close();
    }
  });
});
