/**
 * publishing reconciles with what Roles Anywhere really holds. Each out-of-band change is made by a second
 * client, the real AWS SDK for JavaScript pointed at the emulator; "revoked" is checked by asking the emulator for
 * credentials with the revoked certificate (`pki credential-process`).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DeleteCrlCommand, DisableCrlCommand, GetCrlCommand, ImportCrlCommand, ListCrlsCommand, UpdateCrlCommand } from '@aws-sdk/client-rolesanywhere';
import { describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/adapters/aws/gateway.js';
import { publishCrls } from '../../src/app/publish.js';
import { credentialsSetup } from '../aws-fixtures.js';
import { cli } from '../helpers.js';

/** A workload certificate revoked and its CRL published: the emulator refuses it. */
async function revokedSetup() {
  const t = await credentialsSetup();
  const credentials = async () => {
    const r = await cli(['credential-process', ...t.args()], t.deps);
    return r.code === 0 ? 'granted' : /Certificate revoked/.test(r.stderr) ? 'revoked' : `exit ${r.code}: ${r.stderr}`;
  };
  const crlBefore = (await t.ok(['crl', 'export', '--ca', 'issuing-1'])).pem as string;
  expect(await credentials()).toBe('granted');
  await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.leaf.serial, '--reason', 'keyCompromise']);
  const published = await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
  expect(published.results[0]).toMatchObject({ action: 'updated', crlNumber: 2 });
  expect(await credentials()).toBe('revoked');
  const crlId = published.results[0].crlId as string;
  const publish = (extra: string[] = []) => t.run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--renew-before', '2d', ...t.ep, ...extra]);
  const status = () => t.run(['anchor', 'status', '--name', 'prod', ...t.ep]);
  const ops = () => t.emu.calls().map((c) => c.op);
  return { ...t, credentials, crlBefore, crlId, publish, status, ops };
}

describe('crl publish reads the service before it decides', () => {
  it('a CRL deleted out of band: anchor status is critical, publish re-imports it, and the revoked certificate is refused again', async () => {
    const t = await revokedSetup();
    await t.sdk.send(new DeleteCrlCommand({ crlId: t.crlId }));
    expect(await t.credentials()).toBe('granted'); // what the deletion does: the revoked certificate works
    const status = await t.status();
    expect(status.code).toBe(11);
    expect(status.json.ok).toBe(false);
    expect(status.json.error).toMatchObject({ code: 'CRITICAL', exit: 11 });
    expect(status.json.data.problems).toEqual([`the CRL of CA issuing-1 (${t.crlId}) is no longer on the trust anchor: what issuing-1 revoked is accepted`]);

    const r = await t.publish();
    expect(r.code).toBe(0);
    expect(r.json.data.results[0]).toMatchObject({ ok: true, action: 're-imported', crlNumber: 2, calls: ['ListCrls', 'ImportCrl', 'GetCrl'] });
    expect(r.json.data.results[0].found).toEqual([`the CRL recorded as published (${t.crlId}) is not on the trust anchor`]);
    expect(await t.credentials()).toBe('revoked');
    expect((await t.status()).code).toBe(0);
    // The next revocation goes up with UpdateCrl to the re-imported CRL (no GetCrl of the deleted id, no exit 9).
    const second = await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=second', '--key-out', join(t.cwd, 'second.key')]);
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', second.serial]);
    const next = await t.publish();
    expect(next.code).toBe(0);
    expect(next.json.data.results[0]).toMatchObject({ action: 'updated', crlNumber: 3, crlId: r.json.data.results[0].crlId });
    expect((await t.sdk.send(new ListCrlsCommand({}))).crls).toHaveLength(1);
  });

  it('a CRL disabled out of band: critical in anchor status; publish re-enables it', async () => {
    const t = await revokedSetup();
    await t.sdk.send(new DisableCrlCommand({ crlId: t.crlId }));
    expect(await t.credentials()).toBe('granted');
    const status = await t.status();
    expect(status.code).toBe(11);
    expect(status.json.data.problems).toEqual(['CRL pki-issuing-1 is disabled: what issuing-1 revoked is accepted']);
    // pki status reads the store only, unless --check-service: then the anchor's findings count (critical, exit 11).
    const local = await t.run(['status']);
    expect(local.json.data.checks.map((c: any) => c.what)).not.toContain('service/prod');
    const service = await t.run(['status', '--check-service', ...t.ep]);
    expect(service.code).toBe(11);
    expect(service.json.data.checks).toContainEqual({ level: 'critical', what: 'service/prod', message: 'trust anchor prod on the service: CRL pki-issuing-1 is disabled: what issuing-1 revoked is accepted' });
    const prom = await cli(['status', '--check-service', '--format', 'prometheus', '--dir', t.dir, ...t.ep], t.deps);
    expect(prom.code).toBe(11);
    expect(prom.stdout).toContain('\npki_anchor_service_status{anchor="prod"} 2\n');
    const r = await t.publish();
    expect(r.json.data.results[0]).toMatchObject({ ok: true, action: 're-enabled', calls: ['ListCrls', 'EnableCrl', 'GetCrl'] });
    const text = await cli(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--dir', t.dir, ...t.ep], t.deps);
    expect(text.stdout).toBe('issuing-1 → prod: unchanged (checked) (CRL #2; ListCrls)\n');
    expect(await t.credentials()).toBe('revoked');
    expect((await t.status()).code).toBe(0);
    const healed = await t.run(['status', '--check-service', ...t.ep]);
    expect(healed.json.data.checks).toContainEqual({ level: 'ok', what: 'service/prod', message: 'trust anchor prod on the service holds what it should' });
    expect(healed.json.data.checks.filter((c: any) => c.what === 'service/prod' && c.level !== 'ok')).toEqual([]);
  });

  it('an older CRL uploaded by another client (UpdateCrl): critical; publish replaces it with the store\'s latest', async () => {
    const t = await revokedSetup();
    await t.sdk.send(new UpdateCrlCommand({ crlId: t.crlId, crlData: Buffer.from(t.crlBefore) }));
    expect(await t.credentials()).toBe('granted');
    const status = await t.status();
    expect(status.code).toBe(11);
    expect(status.json.data.problems).toEqual(["CA issuing-1's CRL on the trust anchor is #1, older than the store's #2: run pki crl publish --ca issuing-1 --anchor prod"]);
    const r = await t.publish();
    expect(r.json.data.results[0]).toMatchObject({ ok: true, action: 'replaced', crlNumber: 2, calls: ['ListCrls', 'UpdateCrl', 'GetCrl'] });
    expect(r.json.data.results[0].found).toEqual([`pki-issuing-1 (${t.crlId}, CRL #1) is older than the CRL #2 recorded as published`]);
    expect(await t.credentials()).toBe('revoked');
    const remote = (await t.sdk.send(new GetCrlCommand({ crlId: t.crlId }))).crl!;
    expect(Buffer.from(remote.crlData!).toString()).toBe((await t.ok(['crl', 'export', '--ca', 'issuing-1'])).pem);
  });

  it('a second, older CRL of the same CA imported by another client: deleted; never an older one uploaded', async () => {
    const t = await revokedSetup();
    const other = (await t.sdk.send(new ImportCrlCommand({ name: 'console-upload', trustAnchorArn: t.anchorArn, crlData: Buffer.from(t.crlBefore), enabled: true }))).crl!;
    expect((await t.status()).json.data.problems).toContain("CA issuing-1's CRL on the trust anchor is #1, older than the store's #2: run pki crl publish --ca issuing-1 --anchor prod");
    const r = await t.publish();
    expect(r.json.data.results[0]).toMatchObject({ ok: true, action: 'unchanged', calls: ['ListCrls', 'DeleteCrl'] });
    const left = (await t.sdk.send(new ListCrlsCommand({}))).crls!;
    expect(left.map((c) => c.crlId)).toEqual([t.crlId]);
    expect(left.map((c) => c.crlId)).not.toContain(other.crlId);
    expect((await t.status()).code).toBe(0);
    expect(t.ops().filter((o) => o === 'UpdateCrl')).toHaveLength(1); // only the publish of #2 in the set-up
  });

  it('a store restored from an older backup never uploads its older CRL over the service\'s newer one', async () => {
    const t = await revokedSetup();
    const backup = join(t.cwd, 'backup');
    fs.cpSync(t.dir, backup, { recursive: true });
    const second = await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=second', '--key-out', join(t.cwd, 'second.key')]);
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', second.serial]);
    expect((await t.publish()).json.data.results[0]).toMatchObject({ action: 'updated', crlNumber: 3 });
    const fromBackup = await cli(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--dir', backup, '--json', ...t.ep], t.deps);
    expect(fromBackup.code).toBe(6);
    expect(fromBackup.json.ok).toBe(false);
    expect(fromBackup.json.data.results[0].error.code).toBe('STATE_CRL_SERVICE_NEWER');
    expect(fromBackup.json.data.results[0].error.message).toContain("holds CRL #3 of issuing-1, newer than the store's latest (#2)");
    const remote = (await t.sdk.send(new GetCrlCommand({ crlId: t.crlId }))).crl!;
    expect(Buffer.from(remote.crlData!).toString()).toBe((await t.ok(['crl', 'export', '--ca', 'issuing-1'])).pem);
    expect(t.ops().filter((o) => o === 'UpdateCrl')).toHaveLength(2);
  });
});

describe('smaller defects', () => {
  it('--json says "ok": false when a CA failed; --dry-run sees a pending revocation; an expired CRL on the anchor is critical', async () => {
    const t = await revokedSetup();
    const failed = await t.run(['crl', 'publish', '--ca', 'nope', '--anchor', 'prod', ...t.ep]);
    expect(failed.code).toBe(5);
    expect(failed.json.ok).toBe(false);
    expect(failed.json.error).toMatchObject({ code: 'NOT_FOUND_CA' });
    expect(failed.json.data.results[0]).toMatchObject({ ca: 'nope', ok: false });

    const second = await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=second', '--key-out', join(t.cwd, 'second.key')]);
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', second.serial]);
    const before = t.ops().length;
    const dry = await t.publish(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.json.data.results[0]).toMatchObject({ action: 'dry-run', calls: ['ListCrls', '(generate CRL #3 (certificates were revoked after #2))', 'UpdateCrl'] });
    expect(t.ops().slice(before)).toEqual(['ListCrls']);
    expect((await t.ok(['crl', 'list', '--ca', 'issuing-1'])).length).toBe(2);

    // Past the published CRL's nextUpdate (the default 7 days): anchor status is critical.
    const later = new Date(Date.now() + 8 * 86400_000);
    t.deps.now = () => later;
    const expired = await t.status();
    expect(expired.code).toBe(11);
    expect(expired.json.data.findings.filter((f: any) => f.level === 'critical').map((f: any) => f.message).join('\n')).toMatch(/CRL pki-issuing-1 expired at .*: the service either refuses every certificate of its CA or ignores the CRL \(which one is UNCONFIRMED\)/);
  });
});

describe('the CRL of a CA that is not in the trust anchor', () => {
  it('the service refuses it; the error names the bundle and how to fix it', async () => {
    const t = await credentialsSetup();
    await t.ok(['anchor', 'push', '--name', 'root-only', '--ca', 'root', ...t.ep]);
    const r = await t.run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'root-only', ...t.ep]);
    expect(r.code).toBe(9);
    expect(r.json.data.results[0].error).toMatchObject({ code: 'AWS_ValidationException', hint: 'put the CA whose CRL you publish in the trust anchor: pki anchor push --name root-only --ca issuing-1' });
    expect(r.json.data.results[0].error.message).toContain('(trust anchor root-only holds [root], not issuing-1)');
  });
});

describe('a CRL generated while publish uploads', () => {
  it('goes up in the same run: the service ends on the store\'s latest, never on an older one', async () => {
    const t = await credentialsSetup();
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.leaf.serial]);
    const gw = await createGateway(t.deps, { endpoint: t.emu.url, region: 'us-east-1', ratePerSecond: 0 });
    let generated = false;
    // Another command (crl generate from a second cron job) makes CRL #3 right after this run uploaded #2.
    const racing: Gateway = {
      ...gw,
      updateCrl: async (id, pem) => {
        const r = await gw.updateCrl(id, pem);
        if (!generated) {
          generated = true;
          await t.ok(['crl', 'generate', '--ca', 'issuing-1']);
        }
        return r;
      },
    };
    const r = await publishCrls(t.deps, { dir: t.dir, cas: ['issuing-1'], anchors: ['prod'], gateway: racing });
    expect(r.results[0]).toMatchObject({ ok: true, action: 'updated', crlNumber: 3, calls: ['ListCrls', 'UpdateCrl', 'GetCrl', 'UpdateCrl', 'GetCrl'] });
    const [crl] = (await t.sdk.send(new ListCrlsCommand({}))).crls!;
    expect(Buffer.from(crl!.crlData!).toString()).toBe((await t.ok(['crl', 'export', '--ca', 'issuing-1'])).pem);
    expect((await t.run(['anchor', 'status', '--name', 'prod', ...t.ep])).code).toBe(0);
  });
});
