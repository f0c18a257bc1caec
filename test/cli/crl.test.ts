import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { crlDerFromFile, decodeCrl, walkCrlEntries, type CrlEntry } from '../../src/x509/crl.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { FIXED_NOW, cli, fixture, makeDeps, makePki, snapshot, tempDir } from '../helpers.js';

const HOUR = 3600 * 1000;

function readCrl(path: string) {
  const crl = decodeCrl(crlDerFromFile(fs.readFileSync(path), path), path);
  const entries: CrlEntry[] = [];
  walkCrlEntries(crl, path, (e) => entries.push(e));
  return { crl, entries };
}

/** A PKI with three leaves of issuing-1 (one revoked keyCompromise with an invalidity date, one unspecified, one valid) and one revoked leaf of root. */
async function pkiWithRevocations() {
  const pki = await makePki();
  const { cwd, dir, deps } = pki;
  const issue = async (name: string, ca = 'issuing-1', validity = '24h') =>
    (await cli(['issue', '--ca', ca, '--subject', `CN=${name},O=Example`, '--key-out', join(cwd, `${name}.key`), '--out', join(cwd, `${name}.pem`), '--validity', validity, '--dir', dir, '--json'], deps)).json.data.serial as string;
  const a = await issue('a');
  const b = await issue('b', 'issuing-1', '1h');
  const c = await issue('c');
  const r = await issue('r', 'root');
  expect((await cli(['revoke', '--ca', 'issuing-1', '--serial', a, '--reason', 'keyCompromise', '--invalidity-date', '2026-02-28T00:00:00Z', '--dir', dir], deps)).code).toBe(0);
  expect((await cli(['revoke', '--ca', 'issuing-1', '--serial', b, '--dir', dir], deps)).code).toBe(0);
  expect((await cli(['revoke', '--ca', 'root', '--serial', r, '--reason', 'superseded', '--dir', dir], deps)).code).toBe(0);
  return { ...pki, serials: { a, b, c, r } };
}

describe('pki crl generate', () => {
  it('ok/CRL v2 with AKI, CRL Number, reason codes (unspecified omitted), invalidity date; only this issuer\'s revocations', async () => {
    const { cwd, dir, deps, serials } = await pkiWithRevocations();
    const out = join(cwd, 'crl.pem');
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', out, '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data).toMatchObject({ generated: true, crl: { crlNumber: 1, entries: 2, pruned: 0, reasons: 'include' } });
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^-----BEGIN X509 CRL-----\n/);
    const { crl, entries } = readCrl(out);
    const issuing = readCertificate(Buffer.from((await cli(['ca', 'export', 'issuing-1', '--dir', dir], deps)).stdout), 'issuing-1');
    expect(crl.version).toBe(2);
    expect(crl.crlNumber).toBe(1n);
    expect(crl.authorityKeyId).toEqual(issuing.subjectKeyId);
    expect(crl.issuerDer.equals(issuing.subjectDer)).toBe(true);
    expect(crl.thisUpdate.toISOString()).toBe(FIXED_NOW.toISOString());
    expect(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime()).toBe(7 * 24 * HOUR);
    expect(crl.signatureAlgorithmName).toBe('ecdsa-with-SHA256');
    const bySerial = Object.fromEntries(entries.map((e) => [e.serialHex, e]));
    expect(Object.keys(bySerial).sort()).toEqual([serials.a, serials.b].sort());
    expect(bySerial[serials.a]).toEqual({ serialHex: serials.a, revocationDate: FIXED_NOW, reason: 1, invalidityDate: new Date('2026-02-28T00:00:00Z') });
    expect(bySerial[serials.b]).toEqual({ serialHex: serials.b, revocationDate: FIXED_NOW });
    // The next CRL gets the next number.
    const second = await cli(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '1d', '--dir', dir, '--json'], deps);
    expect(second.json.data.crl.crlNumber).toBe(2);
    expect(second.json.data.pem).toMatch(/BEGIN X509 CRL/);
  });

  it('ok/--reasons omit leaves reason codes out; --format der writes DER', async () => {
    const { cwd, dir, deps } = await pkiWithRevocations();
    const out = join(cwd, 'crl.der');
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--reasons', 'omit', '--format', 'der', '--out', out, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out)[0]).toBe(0x30);
    const { entries } = readCrl(out);
    expect(entries.every((e) => e.reason === undefined)).toBe(true);
    expect(entries.some((e) => e.invalidityDate)).toBe(true);
  });

  it('ok/entries of expired certificates are pruned and counted; --keep-expired keeps them', async () => {
    const { cwd, dir, serials } = await pkiWithRevocations();
    const later = makeDeps(cwd, { now: new Date(FIXED_NOW.getTime() + 2 * HOUR), seed: 'later' });
    const pruned = await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'p.pem'), '--dir', dir, '--json'], later);
    expect(pruned.json.data.crl).toMatchObject({ entries: 1, pruned: 1 });
    expect(readCrl(join(cwd, 'p.pem')).entries.map((e) => e.serialHex)).toEqual([serials.a]);
    const kept = await cli(['crl', 'generate', '--ca', 'issuing-1', '--keep-expired', '--out', join(cwd, 'k.pem'), '--dir', dir, '--json'], later);
    expect(kept.json.data.crl).toMatchObject({ entries: 2, pruned: 0 });
  });

  it('ok/--renew-before: a no-op while fresh and nothing was revoked; a new revocation yields a new CRL', async () => {
    const { dir, deps, serials } = await pkiWithRevocations();
    const gen = () => cli(['crl', 'generate', '--ca', 'issuing-1', '--renew-before', '2d', '--dir', dir, '--json'], deps);
    expect((await gen()).json.data).toMatchObject({ generated: true, crl: { crlNumber: 1 } });
    const noop = await gen();
    expect(noop.code).toBe(0);
    expect(noop.json.data.generated).toBe(false);
    expect(noop.json.data.reason).toMatch(/nothing was revoked since/);
    await cli(['revoke', '--ca', 'issuing-1', '--serial', serials.c, '--dir', dir], deps);
    expect((await gen()).json.data).toMatchObject({ generated: true, crl: { crlNumber: 2, entries: 3 } });
    // Close to nextUpdate, it renews even without revocations.
    const late = makeDeps(deps.cwd, { now: new Date(FIXED_NOW.getTime() + 6 * 24 * HOUR), seed: 'late' });
    const renewed = await cli(['crl', 'generate', '--ca', 'issuing-1', '--renew-before', '2d', '--keep-expired', '--dir', dir, '--json'], late);
    expect(renewed.json.data).toMatchObject({ generated: true, crl: { crlNumber: 3 } });
  });

  it('fail/a previous CRL with a number not below the next one → STATE_CRL_NUMBER_NOT_INCREASING (store restored from an old backup)', async () => {
    const { cwd, dir, deps } = await pkiWithRevocations();
    fs.cpSync(dir, join(cwd, 'backup'), { recursive: true });
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--dir', dir], deps);
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'published.pem'), '--dir', dir], deps);
    const before = snapshot(join(cwd, 'backup'));
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--previous', join(cwd, 'published.pem'), '--dir', join(cwd, 'backup'), '--json'], deps);
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('STATE_CRL_NUMBER_NOT_INCREASING');
    expect(snapshot(join(cwd, 'backup'))).toEqual(before);
  });

  it('fail/a previous CRL from another CA → STATE_CRL_ISSUER_CHANGED', async () => {
    const { cwd, dir, deps } = await pkiWithRevocations();
    await cli(['crl', 'generate', '--ca', 'root', '--out', join(cwd, 'root.crl'), '--dir', dir], deps);
    const other = await makePki({ seed: 'other-pki' });
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'twin.crl'), '--dir', other.dir], other.deps);
    const before = snapshot(cwd);
    for (const prev of ['root.crl', 'twin.crl']) {
      // twin.crl has the same issuer name (same subject) but another key: its AKI differs.
      const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--previous', join(cwd, prev), '--dir', dir, '--json'], deps);
      expect(r.code, prev).toBe(6);
      expect(r.json.error.code).toBe('STATE_CRL_ISSUER_CHANGED');
    }
    expect(snapshot(cwd)).toEqual(before);
  });

  it('fail/a revoked, unexpired serial missing from the new CRL → STATE_CRL_ENTRY_DROPPED, nothing signed', async () => {
    const { cwd, dir, deps, serials } = await pkiWithRevocations();
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--dir', dir], deps);
    // Simulate a store that lost a revocation (restored badly): revocations are otherwise permanent.
    const db = new Database(join(dir, 'pki.db'));
    expect(() => db.prepare('DELETE FROM revocation WHERE serial = ?').run(serials.a)).toThrow(/permanent/);
    db.exec('DROP TRIGGER revocation_no_delete');
    db.prepare('DELETE FROM revocation WHERE serial = ?').run(serials.a);
    db.close();
    const before = snapshot(cwd);
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'new.pem'), '--dir', dir, '--json'], deps);
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('STATE_CRL_ENTRY_DROPPED');
    expect(r.json.error.details.serials).toEqual([serials.a]);
    expect(snapshot(cwd)).toEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('fail/over the size budget → POLICY_CRL_TOO_LARGE naming entries and remedies; a warning from 80%', async () => {
    const { cwd, dir, deps } = await pkiWithRevocations();
    const before = snapshot(cwd);
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--max-pem-bytes', '450', '--out', join(cwd, 'x.pem'), '--dir', dir, '--json'], deps);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_CRL_TOO_LARGE');
    expect(r.json.error.details).toMatchObject({ entries: 2, budgetBytes: 450 });
    expect(r.json.error.hint).toMatch(/--reasons omit/);
    expect(snapshot(cwd)).toEqual(before);
    const ok = await cli(['crl', 'generate', '--ca', 'issuing-1', '--max-pem-bytes', '560', '--out', join(cwd, 'y.pem'), '--dir', dir], deps);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/warning: the CRL uses \d+% of its 560-byte budget/);
    expect(fs.statSync(join(cwd, 'y.pem')).size).toBeLessThanOrEqual(560);
  });

  it('fail/nextUpdate after the CA expires → POLICY_CRL_PAST_CA', async () => {
    const { dir, deps } = await pkiWithRevocations();
    const r = await cli(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '6y', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_CRL_PAST_CA');
  });
});

describe('pki crl check', () => {
  it('ok/exit 0 fresh, 10 within --warn or revocations pending, 11 expired or missing', async () => {
    const { cwd, dir, deps, serials } = await pkiWithRevocations();
    const check = (d = deps) => cli(['crl', 'check', '--ca', 'issuing-1', '--warn', '48h', '--dir', dir, '--json'], d);
    const missing = await check();
    expect([missing.code, missing.json.data.status]).toEqual([11, 'critical']);
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'crl.pem'), '--dir', dir], deps);
    const fresh = await check();
    expect([fresh.code, fresh.json.data.status, fresh.json.data.crlNumber, fresh.json.data.entries]).toEqual([0, 'fresh', '1', 2]);
    expect(fresh.json.data.budgetBytes).toBe(300000);
    const soon = makeDeps(cwd, { now: new Date(FIXED_NOW.getTime() + 6 * 24 * HOUR) });
    expect((await check(soon)).code).toBe(10);
    const expired = makeDeps(cwd, { now: new Date(FIXED_NOW.getTime() + 8 * 24 * HOUR) });
    expect((await check(expired)).code).toBe(11);
    await cli(['revoke', '--ca', 'issuing-1', '--serial', serials.c, '--dir', dir], deps);
    const pending = await check();
    expect(pending.code).toBe(10);
    expect(pending.json.data.problems.join()).toMatch(/revoked after CRL #1/);
    // A file, with its signature checked against the issuer.
    const issuerPem = join(cwd, 'issuing-1.pem');
    await cli(['ca', 'export', 'issuing-1', '--out', issuerPem, '--dir', dir], deps);
    const file = await cli(['crl', 'check', '--crl', join(cwd, 'crl.pem'), '--issuer', issuerPem, '--json'], deps);
    expect(file.json.data).toMatchObject({ status: 'fresh', signatureValid: true, entries: 2, budgetBytes: 300000 });
    const rootPem = join(cwd, 'root.pem');
    await cli(['ca', 'export', 'root', '--out', rootPem, '--dir', dir], deps);
    const wrongIssuer = await cli(['crl', 'check', '--crl', join(cwd, 'crl.pem'), '--issuer', rootPem, '--json'], deps);
    expect([wrongIssuer.code, wrongIssuer.json.data.signatureValid]).toEqual([11, false]);
  });
});

describe('pki crl inspect, list, export', () => {
  it('ok/inspect reports header, counts by reason and the signature; --entries lists them', async () => {
    const { cwd, dir, deps, serials } = await pkiWithRevocations();
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'crl.pem'), '--dir', dir], deps);
    const r = await cli(['crl', 'inspect', join(cwd, 'crl.pem'), '--ca', 'issuing-1', '--entries', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(0);
    expect(r.json.data).toMatchObject({ crlNumber: '1', entries: 2, signatureValid: true, reasons: { none: 1, keyCompromise: 1 } });
    expect(r.json.data.revoked.map((e: any) => e.serial).sort()).toEqual([serials.a, serials.b].sort());
    const text = await cli(['crl', 'inspect', join(cwd, 'crl.pem'), '--entries'], deps);
    expect(text.stdout).toContain(`${serials.a}  2026-03-01 12:00:00Z  keyCompromise  invalid since 2026-02-28 00:00:00Z`);
    expect(text.stdout).toMatch(/signature\s+ecdsa-with-SHA256 \(not checked/);
    // Signed by another key: inspect says so and exits 7.
    const wrong = await cli(['crl', 'inspect', join(cwd, 'crl.pem'), '--ca', 'root', '--dir', dir, '--json'], deps);
    expect(wrong.code).toBe(7);
    expect(wrong.json.data.signatureValid).toBe(false);
  });

  it('ok/list and export give back every stored CRL byte for byte', async () => {
    const { cwd, dir, deps } = await pkiWithRevocations();
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, '1.pem'), '--dir', dir], deps);
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, '2.pem'), '--dir', dir], deps);
    const list = await cli(['crl', 'list', '--ca', 'issuing-1', '--dir', dir, '--json'], deps);
    expect(list.json.data.map((c: any) => c.crlNumber)).toEqual([1, 2]);
    const exp = await cli(['crl', 'export', '--ca', 'issuing-1', '--number', '1', '--out', join(cwd, 'again.pem'), '--dir', dir], deps);
    expect(exp.code).toBe(0);
    expect(fs.readFileSync(join(cwd, 'again.pem'))).toEqual(fs.readFileSync(join(cwd, '1.pem')));
  });

  it.each([
    ['garbage', Buffer.from('not a crl\n')],
    ['truncated', null],
    ['a certificate', 'cert'],
  ])('fail/%s → CRYPTO_BAD_CRL (exit 7)', async (_name, content) => {
    const { cwd, dir, deps } = await pkiWithRevocations();
    await cli(['crl', 'generate', '--ca', 'issuing-1', '--format', 'der', '--out', join(cwd, 'crl.der'), '--dir', dir], deps);
    const file = join(cwd, 'bad');
    if (content === null) fs.writeFileSync(file, fs.readFileSync(join(cwd, 'crl.der')).subarray(0, 200));
    else if (content === 'cert') fs.copyFileSync(join(cwd, 'a.pem'), file);
    else fs.writeFileSync(file, content);
    const r = await cli(['crl', 'inspect', file, '--json'], deps);
    expect(r.code).toBe(7);
    expect(r.json.error.code).toBe('CRYPTO_BAD_CRL');
    expect(r.json.error.message).toContain(file);
  });
});

describe('pki revoke --batch', () => {
  it('ok/revokes every listed serial in one transaction, reasons per line', async () => {
    const { cwd, dir, deps } = await makePki();
    const serials: string[] = [];
    for (const f of ['p256.csr', 'p384.csr', 'rsa2048.csr'])
      serials.push((await cli(['issue', '--ca', 'issuing-1', '--csr', fixture(`csr/${f}`), '--out', join(cwd, `${f}.pem`), '--dir', dir, '--json'], deps)).json.data.serial);
    const list = join(cwd, 'serials.txt');
    fs.writeFileSync(list, `# leaked on 2026-03-01\n${serials[0]}\n\n${serials[1]!.toUpperCase()} superseded\n${serials[2]}   # the RSA one\n`);
    const r = await cli(['revoke', '--ca', 'issuing-1', '--batch', list, '--reason', 'keyCompromise', '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data.revoked).toBe(3);
    expect(r.json.data.certificates.map((c: any) => c.revocation.reason)).toEqual(['keyCompromise', 'superseded', 'keyCompromise']);
  });

  it('fail/bad lines are reported with line numbers and nothing is revoked', async () => {
    const { cwd, dir, deps } = await makePki();
    const good = (await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'g.pem'), '--dir', dir, '--json'], deps)).json.data.serial;
    const list = join(cwd, 'serials.txt');
    fs.writeFileSync(list, `${good}\nnot-hex\n${good} stolen\n`);
    const before = snapshot(cwd);
    const r = await cli(['revoke', '--ca', 'issuing-1', '--batch', list, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(2);
    expect((r.json.error.details.problems as any[]).map((p) => `${p.code}@${p.line}`)).toEqual(['USAGE_BAD_SERIAL@2', 'USAGE_BAD_REASON@3']);
    expect(snapshot(cwd)).toEqual(before);
  });

  it('fail/unknown or already revoked serials: every one named with file:line, nothing revoked', async () => {
    const { cwd, dir, deps } = await makePki();
    const s1 = (await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, '1.pem'), '--dir', dir, '--json'], deps)).json.data.serial;
    const s2 = (await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p384.csr'), '--out', join(cwd, '2.pem'), '--dir', dir, '--json'], deps)).json.data.serial;
    await cli(['revoke', '--ca', 'issuing-1', '--serial', s2, '--dir', dir], deps);
    const list = join(cwd, 'serials.txt');
    fs.writeFileSync(list, `${s1}\n0badc0de\n${s2}\n`);
    const before = snapshot(cwd);
    const r = await cli(['revoke', '--ca', 'issuing-1', '--batch', list, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(5);
    expect((r.json.error.details.problems as any[]).map((p) => p.message.split(':')[1])).toEqual(['2', '3']);
    expect(snapshot(cwd)).toEqual(before);
    const still = await cli(['show', s1, '--dir', dir, '--json'], deps);
    expect(still.json.data.status).toBe('valid');
  });
});

describe('CRL file framing', () => {
  it('ok/finishCrlFile moves the body down when the real outer header is shorter than the room kept', async () => {
    const { finishCrlFile } = await import('../../src/app/crl/file.js');
    const { tlvHeader } = await import('../../src/x509/crl.js');
    const path = join(tempDir(), 'frame.der');
    // A body that with a 300-byte tail needs a 4-byte header (0x82 ..) but with a 50-byte tail only 3 (0x81 ..).
    const tbs = Buffer.alloc(150, 0xab);
    for (const tail of [Buffer.alloc(300, 0xcd), Buffer.alloc(50, 0xcd)]) {
      const fd = fs.openSync(path, 'w+');
      fs.writeSync(fd, tbs, 0, tbs.length, 4);
      finishCrlFile(fd, 4, tbs.length, tail);
      fs.closeSync(fd);
      const expected = Buffer.concat([tlvHeader(0x30, tbs.length + tail.length), tbs, tail]);
      expect(fs.readFileSync(path)).toEqual(expected);
    }
  });
});
