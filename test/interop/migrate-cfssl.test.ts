/**
 * Migration from cfssl: a certdb with the schema cfssl documents (certdb/sqlite/migrations, both migrations),
 * rows written the way cfssl's signer and `cfssl revoke` write them (decimal serial, hex AKI, good/revoked, Go time
 * text, PEM); the certificates are made by openssl with the CA key in cfssl's form (SEC1 "EC PRIVATE KEY").
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, makeDeps, pkiIn, snapshot, tempDir } from '../helpers.js';

const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

const CFSSL_SCHEMA = `
CREATE TABLE certificates (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  ca_label                 blob,
  status                   blob NOT NULL,
  reason                   int,
  expiry                   timestamp,
  revoked_at               timestamp,
  pem                      blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);
CREATE TABLE ocsp_responses (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  body                     blob NOT NULL,
  expiry                   timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier) REFERENCES certificates(serial_number, authority_key_identifier)
);
ALTER TABLE certificates ADD COLUMN "issued_at" timestamp;
ALTER TABLE certificates ADD COLUMN "not_before" timestamp;
ALTER TABLE certificates ADD COLUMN "metadata" text;
ALTER TABLE certificates ADD COLUMN "sans" text;
ALTER TABLE certificates ADD COLUMN "common_name" text;
`;

/** Go's time.Time as mattn/go-sqlite3 stores it. */
const goTime = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.(\d{3})Z$/, '.$1000000+00:00');

function cfsslCa(root: string, name: string) {
  const d = join(root, name);
  fs.mkdirSync(d, { recursive: true });
  const caKey = join(d, 'ca-key.pem');
  const ca = join(d, 'ca.pem');
  ossl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey]);
  ossl(['req', '-x509', '-new', '-key', caKey, '-out', ca, '-subj', `/C=US/O=Example/CN=${name}`, '-days', '3650', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
  const ext = join(d, 'leaf.ext');
  fs.writeFileSync(ext, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const aki = ossl(['x509', '-in', ca, '-noout', '-ext', 'subjectKeyIdentifier']).split('\n')[1]!.trim().replace(/:/g, '').toLowerCase();
  let n = 0;
  const issue = (cn: string) => {
    const base = join(d, cn);
    ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/O=Example/CN=${cn}`]);
    ossl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca, '-CAkey', caKey, '-set_serial', `0x7a${(++n).toString(16).padStart(2, '0')}${randomBytes(6).toString('hex')}`, '-days', '365', '-sha256', '-extfile', ext, '-out', `${base}.pem`]);
    const serialHex = ossl(['x509', '-in', `${base}.pem`, '-noout', '-serial']).trim().replace('serial=', '');
    return { pem: `${base}.pem`, decimal: BigInt(`0x${serialHex}`).toString(10), serialHex: serialHex.toLowerCase() };
  };
  return { d, ca, caKey, aki, issue };
}

function certdb(file: string): Database.Database {
  const db = new Database(file);
  db.exec(CFSSL_SCHEMA);
  return db;
}

function insert(db: Database.Database, aki: string, c: { pem: string; decimal: string }, revoked?: { reason: number; at: Date }) {
  const pem = fs.readFileSync(c.pem, 'utf8');
  const notAfter = new Date(ossl(['x509', '-in', c.pem, '-noout', '-enddate']).trim().replace('notAfter=', ''));
  db.prepare('INSERT INTO certificates (serial_number, authority_key_identifier, ca_label, status, reason, expiry, revoked_at, pem, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    c.decimal, aki, '', revoked ? 'revoked' : 'good', revoked?.reason ?? 0, goTime(notAfter), revoked ? goTime(revoked.at) : '0001-01-01 00:00:00+00:00', pem, goTime(new Date()),
  );
}

function verifyWithCrl(ca: string, crl: string, leaf: string): string {
  const r = spawnSync('openssl', ['verify', '-crl_check', '-CAfile', ca, '-CRLfile', crl, leaf], { encoding: 'utf8' });
  if (r.status === 0) return 'ok';
  return /certificate revoked/.test(r.stdout + r.stderr) ? 'revoked' : r.stdout + r.stderr;
}

async function freshPki(cwd: string) {
  const deps = makeDeps(cwd, { now: new Date(), seed: 'cfssl' });
  const dir = join(cwd, 'pki');
  expect((await cli(['init', '--dir', dir, '--subject', 'CN=New Root CA', '--no-passphrase'], deps)).code).toBe(0);
  return { dir, deps, pki: pkiIn(dir, deps) };
}

describe('pki import cfssl (certdb)', () => {
  it('ok/imports this CA\'s rows (good and revoked) with their certificates, leaves other CAs\' rows out; the old revocations are on the first CRL', async () => {
    const cwd = tempDir('pki-cfssl-');
    const old = cfsslCa(cwd, 'Legacy cfssl CA');
    const other = cfsslCa(cwd, 'Other CA');
    const a = old.issue('web-a');
    const b = old.issue('web-b');
    const c = old.issue('web-c');
    const x = other.issue('web-x');
    const db = certdb(join(cwd, 'certs.db'));
    const revokedAt = new Date(Date.now() - 3600_000);
    insert(db, old.aki, a);
    insert(db, old.aki, b, { reason: 1, at: revokedAt });
    insert(db, old.aki, c, { reason: 4, at: revokedAt });
    insert(db, other.aki, x);
    db.close();
    const { pki, dir } = await freshPki(cwd);
    const imp = await pki.ok(['import', 'cfssl', '--name', 'legacy', '--cert', old.ca, '--key', old.caKey, '--certdb', join(cwd, 'certs.db'), '--no-passphrase']);
    expect(imp).toMatchObject({ tool: 'cfssl', certificates: 3, knownSerials: 0, revocations: 2, otherCas: 1, nextCrlNumber: null });
    const rows = await pki.ok(['list', '--ca', 'legacy']);
    expect(rows.map((r: any) => `${r.subject}:${r.status}:${r.revocation?.reason ?? '-'}`).sort()).toEqual([
      'CN=web-a,O=Example:valid:-',
      'CN=web-b,O=Example:revoked:keyCompromise',
      'CN=web-c,O=Example:revoked:superseded',
    ]);
    expect((await pki.ok(['show', b.serialHex])).revocation.revokedAt).toBe(new Date(Math.floor(revokedAt.getTime() / 1000) * 1000).toISOString());
    // cfssl keeps no CRL number: refused until told.
    const refused = await pki.run(['crl', 'generate', '--ca', 'legacy']);
    expect(refused.json.error.code).toBe('STATE_CRL_HISTORY_UNKNOWN');
    const out = join(cwd, 'crl.pem');
    const gen = await pki.ok(['crl', 'generate', '--ca', 'legacy', '--first-crl-number', '1', '--out', out]);
    expect(gen.crl.entries).toBe(2);
    expect(verifyWithCrl(old.ca, out, b.pem)).toBe('revoked');
    expect(verifyWithCrl(old.ca, out, c.pem)).toBe('revoked');
    expect(verifyWithCrl(old.ca, out, a.pem)).toBe('ok');
    expect(fs.existsSync(join(dir, 'keys', 'legacy.key.pem'))).toBe(true);
  });

  it('ok/--crl with cfssl\'s last CRL (no CRL Number, as cfssl makes them): numbering starts at 1 and the CRL\'s entries must be revoked in the certdb', async () => {
    const cwd = tempDir('pki-cfssl-');
    const old = cfsslCa(cwd, 'Legacy cfssl CA');
    const a = old.issue('web-a');
    const b = old.issue('web-b');
    const revokedAt = new Date(Date.now() - 3600_000);
    const db = certdb(join(cwd, 'certs.db'));
    insert(db, old.aki, a);
    insert(db, old.aki, b, { reason: 1, at: revokedAt });
    db.close();
    // A CRL without a CRL Number listing web-b (openssl ca without a crlnumber file, as cfssl's CRLs have none).
    const ca = join(cwd, 'oldcrl');
    fs.mkdirSync(ca);
    const exp = (f: string) => ossl(['x509', '-in', f, '-noout', '-enddate']).trim().replace('notAfter=', '');
    const asn1 = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
    fs.writeFileSync(join(ca, 'index.txt'), `R\t${asn1(new Date(exp(b.pem)))}\t${asn1(revokedAt)},keyCompromise\t${b.serialHex.toUpperCase()}\tunknown\t/CN=web-b\n`);
    fs.writeFileSync(join(ca, 'ca.cnf'), `[ca]\ndefault_ca = c\n[c]\ndatabase = ${ca}/index.txt\ncertificate = ${old.ca}\nprivate_key = ${old.caKey}\ndefault_md = sha256\ndefault_crl_days = 7\n`);
    ossl(['ca', '-gencrl', '-config', join(ca, 'ca.cnf'), '-out', join(ca, 'last.crl')]);
    expect(ossl(['crl', '-in', join(ca, 'last.crl'), '-noout', '-text'])).not.toContain('CRL Number');
    const { pki, dir } = await freshPki(cwd);
    const args = ['import', 'cfssl', '--name', 'legacy', '--cert', old.ca, '--key', old.caKey, '--certdb', join(cwd, 'certs.db'), '--crl', join(ca, 'last.crl'), '--no-passphrase'];

    // The same CRL against a certdb that calls web-b good: refused.
    const db2 = new Database(join(cwd, 'certs.db'));
    db2.prepare("UPDATE certificates SET status = 'good'").run();
    db2.close();
    const before = snapshot(dir);
    const bad = await pki.run(args);
    expect(bad.json.error.code).toBe('STATE_IMPORT_INCONSISTENT');
    expect(bad.json.error.message).toMatch(/revoked on .*last\.crl but "good" in the certdb/);
    expect(snapshot(dir)).toEqual(before);
    const db3 = new Database(join(cwd, 'certs.db'));
    db3.prepare("UPDATE certificates SET status = 'revoked' WHERE reason = 1").run();
    db3.close();

    const imp = await pki.ok(args);
    expect(imp).toMatchObject({ revocations: 1, nextCrlNumber: 1, crlNumberSource: expect.stringContaining('no CRL Number') });
    const out = join(cwd, 'crl.pem');
    expect((await pki.ok(['crl', 'generate', '--ca', 'legacy', '--out', out])).crl).toMatchObject({ crlNumber: 1, entries: 1 });
    expect(verifyWithCrl(old.ca, out, b.pem)).toBe('revoked');
  });

  it('fail/a certdb of another CA is refused with nothing imported (CRYPTO_CHAIN_MISMATCH, exit 7)', async () => {
    const cwd = tempDir('pki-cfssl-');
    const old = cfsslCa(cwd, 'Legacy cfssl CA');
    const other = cfsslCa(cwd, 'Other CA');
    const db = certdb(join(cwd, 'certs.db'));
    insert(db, other.aki, other.issue('web-x'));
    db.close();
    const { pki, dir } = await freshPki(cwd);
    const before = snapshot(dir);
    const r = await pki.run(['import', 'cfssl', '--name', 'legacy', '--cert', old.ca, '--key', old.caKey, '--certdb', join(cwd, 'certs.db'), '--no-passphrase']);
    expect(r.code).toBe(7);
    expect(r.json.error.code).toBe('CRYPTO_CHAIN_MISMATCH');
    expect(r.json.error.message).toMatch(/none of them issued by --cert/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('ok/a revoked row of this CA whose AKI column is empty is still imported as revoked (the signature decides, not the column)', async () => {
    const cwd = tempDir('pki-cfssl-');
    const old = cfsslCa(cwd, 'Legacy cfssl CA');
    const db = certdb(join(cwd, 'certs.db'));
    const b = old.issue('web-b');
    insert(db, '', b, { reason: 1, at: new Date(Date.now() - 3600_000) });
    db.close();
    const { pki } = await freshPki(cwd);
    const imp = await pki.ok(['import', 'cfssl', '--name', 'legacy', '--cert', old.ca, '--key', old.caKey, '--certdb', join(cwd, 'certs.db'), '--no-passphrase']);
    expect(imp).toMatchObject({ certificates: 1, revocations: 1, otherCas: 0 });
  });

  it('fail/a revoked_at beyond what a date can hold is a bad certdb row (USAGE_BAD_CERTDB), not an internal error; nothing imported', async () => {
    const cwd = tempDir('pki-cfssl-');
    const old = cfsslCa(cwd, 'Legacy cfssl CA');
    const db = certdb(join(cwd, 'certs.db'));
    insert(db, old.aki, old.issue('web-b'), { reason: 1, at: new Date() });
    db.prepare("UPDATE certificates SET revoked_at = '99999999999999999' WHERE status = 'revoked'").run();
    db.close();
    const { pki, dir } = await freshPki(cwd);
    const before = snapshot(dir);
    const r = await pki.run(['import', 'cfssl', '--name', 'legacy', '--cert', old.ca, '--key', old.caKey, '--certdb', join(cwd, 'certs.db'), '--no-passphrase']);
    expect([r.code, r.json.error.code]).toEqual([2, 'USAGE_BAD_CERTDB']);
    expect(snapshot(dir)).toEqual(before);
  });

  it('fail/a row claiming this CA\'s AKI with a foreign certificate, and a bad revoked_at, are both reported; nothing imported', async () => {
    const cwd = tempDir('pki-cfssl-');
    const old = cfsslCa(cwd, 'Legacy cfssl CA');
    const other = cfsslCa(cwd, 'Other CA');
    const db = certdb(join(cwd, 'certs.db'));
    insert(db, old.aki, old.issue('web-a'));
    insert(db, old.aki, other.issue('web-x'));
    insert(db, old.aki, old.issue('web-b'), { reason: 1, at: new Date() });
    db.prepare("UPDATE certificates SET revoked_at = 'yesterday' WHERE status = 'revoked'").run();
    db.close();
    const { pki, dir } = await freshPki(cwd);
    const before = snapshot(dir);
    const r = await pki.run(['import', 'cfssl', '--name', 'legacy', '--cert', old.ca, '--key', old.caKey, '--certdb', join(cwd, 'certs.db'), '--no-passphrase']);
    expect(r.code).not.toBe(0);
    const messages = r.json.error.details.problems.map((p: any) => p.message).join('\n');
    expect(messages).toMatch(/row 2: the certificate .* was not issued by the CA being imported/);
    expect(messages).toMatch(/row 3: revoked_at "yesterday" is not a time/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('fail/a file that is not a cfssl certdb (USAGE_BAD_CERTDB), a missing one (NOT_FOUND_FILE), a wrong key (CRYPTO_KEY_MISMATCH)', async () => {
    const cwd = tempDir('pki-cfssl-');
    const old = cfsslCa(cwd, 'Legacy cfssl CA');
    const other = cfsslCa(cwd, 'Other CA');
    new Database(join(cwd, 'empty.db')).exec('CREATE TABLE t (x)');
    const { pki, dir } = await freshPki(cwd);
    const before = snapshot(dir);
    const run = (db: string, key = old.caKey) => pki.run(['import', 'cfssl', '--name', 'legacy', '--cert', old.ca, '--key', key, '--certdb', db, '--no-passphrase']);
    expect((await run(join(cwd, 'empty.db'))).json.error).toMatchObject({ code: 'USAGE_BAD_CERTDB', message: expect.stringContaining('no certificates table') });
    expect((await run(join(cwd, 'nope.db'))).json.error.code).toBe('NOT_FOUND_FILE');
    expect((await run(join(cwd, 'empty.db'), other.caKey)).json.error.code).toBe('CRYPTO_KEY_MISMATCH');
    expect(fs.existsSync(join(cwd, 'nope.db'))).toBe(false);
    expect(snapshot(dir)).toEqual(before);
  });
});
