#!/usr/bin/env node
/**
 * Writes the migration runbooks examples/migrate-from-openssl.md, examples/migrate-from-easy-rsa.md and
 * examples/migrate-from-cfssl.md from real runs: the old CA is made by the old tool itself (openssl ca; easyrsa from
 * the Debian package easy-rsa; cfssl's certdb with the schema cfssl documents, certificates made by openssl), then
 * brought across with pki (in-process, the real store) and checked with openssl.
 *
 *   node scripts/migrate-runbooks.mjs           # rewrite the three runbooks
 *   node scripts/migrate-runbooks.mjs --check   # run every step, write nothing (test/e2e/docs-migrate.test.ts)
 *
 * Without easyrsa installed the easy-rsa runbook is skipped (said on stderr).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { run } = await import(join(ROOT, 'dist/cli/run.js'));
const check = process.argv.includes('--check');
const EASYRSA = ['/usr/share/easy-rsa/easyrsa', '/usr/bin/easyrsa'].find((p) => fs.existsSync(p));
const now = new Date();

function runbook(title) {
  const work = fs.mkdtempSync(join(tmpdir(), 'pki-migrate-runbook-'));
  const md = [];
  const clean = (s) => s.replaceAll(work, '.');
  const say = (...lines) => md.push(...lines, '');
  const quote = (a) => (/[\s",*$]/.test(a) ? JSON.stringify(a) : a);
  async function pki(args, { expect = 0 } = {}) {
    const out = [];
    const deps = {
      now: () => new Date(),
      randomBytes: (n) => randomBytes(n),
      env: { PKI_DIR: join(work, 'pki') },
      cwd: work,
      stdout: { write: (s) => out.push(s) },
      stderr: { write: (s) => out.push(s) },
      interactive: false,
      actor: 'ops@ca-host',
    };
    const code = await run(args, deps);
    const text = clean(out.join(''));
    if (code !== expect) throw new Error(`${title}: pki ${args.join(' ')}: exit ${code}, expected ${expect}\n${text}`);
    md.push('```', `$ pki ${args.map((a) => quote(clean(a))).join(' ')}`, text.trimEnd(), ...(code && !text.includes(`exit ${code})`) ? [`(exit ${code})`] : []), '```', '');
    return text;
  }
  /** A shell step of the old tool: run for real; shown with its output when `show`. */
  function sh(cmd, args, { show = true, env = {}, cwd = work, expectFail = false } = {}) {
    const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
    if ((r.status !== 0) !== expectFail) throw new Error(`${title}: ${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    const shownCmd = cmd === EASYRSA ? 'easyrsa' : cmd;
    if (show) md.push('```', `$ ${shownCmd} ${args.map((a) => quote(clean(a))).join(' ')}`, ...(r.stdout.trim() ? [clean(r.stdout).trimEnd()] : []), '```', '');
    return r.stdout;
  }
  return { work, md, say, pki, sh };
}

function write(name, md) {
  const file = join(ROOT, 'examples', name);
  const text = `${md.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
  if (!check) fs.writeFileSync(file, text);
  process.stderr.write(`${check ? 'checked' : 'wrote'} examples/${name}\n`);
}

const CA_EXTS = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash'];

async function verifySection(r, caPem, crl, leaves) {
  r.say('Check the first CRL with openssl: a higher number than the old CA\'s last, and every old revocation on it.');
  r.sh('openssl', ['crl', '-in', crl, '-noout', '-crlnumber']);
  for (const [leaf, expectRevoked] of leaves) {
    const res = spawnSync('openssl', ['verify', '-crl_check', '-CAfile', caPem, '-CRLfile', crl, leaf], { cwd: r.work, encoding: 'utf8' });
    const revoked = /certificate revoked/.test(res.stdout + res.stderr);
    if (revoked !== expectRevoked) throw new Error(`openssl verify ${leaf}: expected ${expectRevoked ? 'revoked' : 'valid'}\n${res.stdout}${res.stderr}`);
    r.md.push('```', `$ openssl verify -crl_check -CAfile ${caPem.replaceAll(r.work, '.')} -CRLfile ${crl.replaceAll(r.work, '.')} ${leaf.replaceAll(r.work, '.')}`, (res.stdout + res.stderr).replaceAll(r.work, '.').trimEnd(), '```', '');
  }
}

const COMMON_AFTER = [
  '## Afterwards',
  '',
  '- Stop the old CA for good: keep its directory (or certdb) read-only as a record, and remove its key once the',
  '  migration is verified. pki now holds the key (re-encrypted) and the whole history.',
  '- Publish CRLs from pki from now on (`pki crl generate --renew-before 2d` from cron, `pki crl publish` to the',
  '  Roles Anywhere trust anchor), and monitor with `pki status` / `pki crl check`.',
  '- `pki revoke --serial` works for every old certificate, including those known only by their index line.',
];

async function openssl() {
  const r = runbook('openssl');
  const old = join(r.work, 'oldca');
  fs.mkdirSync(join(old, 'newcerts'), { recursive: true });
  fs.writeFileSync(join(old, 'index.txt'), '');
  fs.writeFileSync(join(old, 'serial'), '1000\n');
  fs.writeFileSync(join(old, 'crlnumber'), '01\n');
  fs.writeFileSync(
    join(old, 'openssl.cnf'),
    `[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndir = ${old}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/newcerts\ncertificate = $dir/ca.pem\nprivate_key = $dir/ca.key\nserial = $dir/serial\ncrlnumber = $dir/crlnumber\ndefault_md = sha256\ndefault_days = 365\ndefault_crl_days = 7\npolicy = policy_any\nunique_subject = no\nx509_extensions = leaf\ncrl_extensions = crl_ext\n[ policy_any ]\norganizationName = optional\ncommonName = supplied\n[ leaf ]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n[ crl_ext ]\nauthorityKeyIdentifier = keyid\n`,
  );
  r.say(
    '# Runbook: migrating an `openssl ca` CA to pki',
    '',
    `*Generated by \`node scripts/migrate-runbooks.mjs\` from a real run (${now.toISOString().slice(0, 10)}); \`test/e2e/docs-migrate.test.ts\` re-runs every step.*`,
    '',
    'What comes across: the CA certificate and key, every line of openssl\'s database (`index.txt`: valid, revoked',
    'with date and reason, expired), the certificates kept in `newcerts/`, and the CRL numbering (`crlnumber`, the last',
    'CRL). One transaction: all or nothing.',
    '',
    '## The old CA',
    '',
    'A CA run with `openssl ca` (its `openssl.cnf` names `database`, `new_certs_dir`, `crlnumber`): three workload',
    'certificates, one revoked for key compromise, a few CRLs published.',
  );
  r.sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(old, 'ca.key'), '-out', join(old, 'ca.pem'), '-subj', '/O=Example/CN=Example Legacy CA', '-days', '3650', ...CA_EXTS], { show: false });
  for (const n of ['web-01', 'web-02', 'web-03']) {
    r.sh('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(r.work, `${n}.key`), '-out', join(r.work, `${n}.csr`), '-subj', `/O=Example/CN=${n}`], { show: false });
    r.sh('openssl', ['ca', '-batch', '-config', join(old, 'openssl.cnf'), '-in', join(r.work, `${n}.csr`), '-out', join(r.work, `${n}.pem`), '-notext'], { show: n === 'web-01' });
  }
  r.sh('openssl', ['ca', '-config', join(old, 'openssl.cnf'), '-revoke', join(r.work, 'web-02.pem'), '-crl_reason', 'keyCompromise']);
  for (let i = 1; i <= 4; i++) r.sh('openssl', ['ca', '-config', join(old, 'openssl.cnf'), '-gencrl', '-out', join(old, 'last.crl')], { show: i === 4 });
  r.sh('cat', [join(old, 'index.txt'), join(old, 'crlnumber')]);
  r.say('## Import', '', 'Stop issuing on the old CA first (nothing may be added to `index.txt` during the import). Then, in the PKI:');
  await r.pki(['init', '--subject', 'CN=Example Root CA,O=Example', '--no-passphrase']);
  await r.pki(['import', 'openssl-ca', '--name', 'legacy', '--cert', join(old, 'ca.pem'), '--key', join(old, 'ca.key'), '--index', join(old, 'index.txt'), '--crlnumber', join(old, 'crlnumber'), '--certs', join(old, 'newcerts'), '--crl', join(old, 'last.crl'), '--no-passphrase']);
  r.say('(`--no-passphrase` keeps the example short; in production let pki encrypt the key: `--passphrase-file` or `$PKI_CA_PASSPHRASE`. An encrypted old key needs `--key-passphrase-file`.)');
  await r.pki(['list', '--ca', 'legacy']);
  r.say('## The first CRL', '', 'Numbered from `crlnumber` (the number openssl would have given its next CRL), with every unexpired old revocation:');
  await r.pki(['crl', 'generate', '--ca', 'legacy', '--out', join(r.work, 'legacy.crl')]);
  await verifySection(r, join(old, 'ca.pem'), join(r.work, 'legacy.crl'), [[join(r.work, 'web-02.pem'), true], [join(r.work, 'web-01.pem'), false]]);
  r.say(
    '## When the old CRL number is unknown',
    '',
    'Imported without `--crlnumber` and `--crl`, pki does not know where the old numbering ended, and refuses to start',
    'at 1 (relying parties would keep the old, higher-numbered CRL, or take an empty #1 as current):',
  );
  await r.pki(['import', 'openssl-ca', '--name', 'legacy-2', '--cert', join(old, 'ca.pem'), '--key', join(old, 'ca.key'), '--index', join(old, 'index.txt'), '--no-passphrase']);
  await r.pki(['crl', 'generate', '--ca', 'legacy-2'], { expect: 6 });
  r.say('Give it the old CA\'s last CRL (the number is continued, and none of its entries may disappear):');
  await r.pki(['crl', 'generate', '--ca', 'legacy-2', '--previous', join(old, 'last.crl'), '--out', join(r.work, 'legacy-2.crl')]);
  r.say(...COMMON_AFTER);
  write('migrate-from-openssl.md', r.md);
}

async function easyRsa() {
  if (!EASYRSA) {
    process.stderr.write('skipped examples/migrate-from-easy-rsa.md: easyrsa is not installed (apt-get install -y easy-rsa)\n');
    return;
  }
  const r = runbook('easy-rsa');
  const erEnv = { EASYRSA_BATCH: '1', EASYRSA_PKI: join(r.work, 'easyrsa', 'pki'), EASYRSA_ALGO: 'ec', EASYRSA_CURVE: 'prime256v1', EASYRSA_DIGEST: 'sha256' };
  fs.mkdirSync(join(r.work, 'easyrsa'));
  const er = (args, show = true) => r.sh(EASYRSA, args, { env: erEnv, cwd: join(r.work, 'easyrsa'), show });
  r.say(
    '# Runbook: migrating an easy-rsa CA to pki',
    '',
    `*Generated by \`node scripts/migrate-runbooks.mjs\` from a real run of easy-rsa (${now.toISOString().slice(0, 10)}); \`test/e2e/docs-migrate.test.ts\` re-runs every step.*`,
    '',
    'easy-rsa keeps an `openssl ca` database in its PKI directory: `ca.crt`, `private/ca.key`, `index.txt`, the',
    'certificates in `issued/`, `certs_by_serial/` and `revoked/certs_by_serial/`, and `crl.pem`. `pki import easy-rsa`',
    'reads them all from `--pki-dir` (the `EASYRSA_PKI` directory).',
    '',
    '## The old CA',
    '',
    '(`EASYRSA_BATCH=1 EASYRSA_ALGO=ec EASYRSA_CURVE=prime256v1` in the environment.)',
  );
  er(['init-pki'], false);
  er(['--req-cn=Example VPN CA', 'build-ca', 'nopass'], false);
  r.md.push('```', '$ easyrsa init-pki', '$ easyrsa --req-cn="Example VPN CA" build-ca nopass', '$ easyrsa build-client-full alice nopass', '$ easyrsa build-client-full bob nopass', '$ easyrsa revoke bob keyCompromise', '$ easyrsa gen-crl', '```', '');
  for (const n of ['alice', 'bob']) er(['build-client-full', n, 'nopass'], false);
  fs.copyFileSync(join(r.work, 'easyrsa', 'pki', 'issued', 'bob.crt'), join(r.work, 'bob.crt'));
  er(['revoke', 'bob', 'keyCompromise'], false);
  er(['gen-crl'], false);
  r.sh('cat', [join(r.work, 'easyrsa', 'pki', 'index.txt')]);
  r.say('## Import');
  await r.pki(['init', '--subject', 'CN=Example Root CA,O=Example', '--no-passphrase']);
  await r.pki(['import', 'easy-rsa', '--name', 'vpn', '--pki-dir', join(r.work, 'easyrsa', 'pki'), '--no-passphrase']);
  r.say('(A CA key built without `nopass` needs `--key-passphrase-file`.)');
  await r.pki(['list', '--ca', 'vpn']);
  r.say('## The first CRL', '', 'easy-rsa 3.1 CRLs carry no CRL Number, so pki starts at 1, still listing every old revocation:');
  await r.pki(['crl', 'generate', '--ca', 'vpn', '--out', join(r.work, 'vpn.crl')]);
  await verifySection(r, join(r.work, 'easyrsa', 'pki', 'ca.crt'), join(r.work, 'vpn.crl'), [[join(r.work, 'bob.crt'), true], [join(r.work, 'easyrsa', 'pki', 'issued', 'alice.crt'), false]]);
  r.say(...COMMON_AFTER);
  write('migrate-from-easy-rsa.md', r.md);
}

async function cfssl() {
  const r = runbook('cfssl');
  const old = join(r.work, 'cfssl');
  fs.mkdirSync(old);
  r.say(
    '# Runbook: migrating a cfssl CA to pki',
    '',
    `*Generated by \`node scripts/migrate-runbooks.mjs\` (${now.toISOString().slice(0, 10)}); \`test/e2e/docs-migrate.test.ts\` re-runs every step. The certdb has the schema cfssl documents (certdb/sqlite/migrations) with rows as cfssl writes them; its certificates are made here by openssl, so the runbook runs without cfssl installed.*`,
    '',
    'What comes across: the CA (`ca.pem`, `ca-key.pem`), every certificate in cfssl\'s SQLite certdb (`certificates`',
    'table: status, revocation time and reason, the PEM), the signing profiles of `config.json` as pki profiles, and',
    'the workloads\' `csr.json` files (`pki csr --from-cfssl`).',
    '',
    '## The old CA',
  );
  r.sh('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(old, 'ca-key.pem')], { show: false });
  r.sh('openssl', ['req', '-x509', '-new', '-key', join(old, 'ca-key.pem'), '-out', join(old, 'ca.pem'), '-subj', '/C=US/O=Example/CN=Example cfssl CA', '-days', '3650', ...CA_EXTS], { show: false });
  fs.writeFileSync(join(old, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const aki = execFileSync('openssl', ['x509', '-in', join(old, 'ca.pem'), '-noout', '-ext', 'subjectKeyIdentifier']).toString().split('\n')[1].trim().replace(/:/g, '').toLowerCase();
  const db = new Database(join(old, 'certs.db'));
  db.exec(`CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob, status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL, issued_at timestamp, not_before timestamp, metadata text, sans text, common_name text, PRIMARY KEY(serial_number, authority_key_identifier));`);
  const goTime = (d) => d.toISOString().replace('T', ' ').replace(/\.(\d{3})Z$/, '.$1000000+00:00');
  for (const [i, n] of ['app-01', 'app-02'].entries()) {
    r.sh('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(r.work, `${n}.key`), '-out', join(r.work, `${n}.csr`), '-subj', `/O=Example/CN=${n}`], { show: false });
    r.sh('openssl', ['x509', '-req', '-in', join(r.work, `${n}.csr`), '-CA', join(old, 'ca.pem'), '-CAkey', join(old, 'ca-key.pem'), '-set_serial', `0x${randomBytes(16).toString('hex').replace(/^./, '4')}`, '-days', '365', '-sha256', '-extfile', join(old, 'leaf.ext'), '-out', join(r.work, `${n}.pem`)], { show: false });
    const serial = BigInt(`0x${execFileSync('openssl', ['x509', '-in', join(r.work, `${n}.pem`), '-noout', '-serial']).toString().trim().replace('serial=', '')}`).toString(10);
    const notAfter = new Date(execFileSync('openssl', ['x509', '-in', join(r.work, `${n}.pem`), '-noout', '-enddate']).toString().trim().replace('notAfter=', ''));
    db.prepare('INSERT INTO certificates (serial_number, authority_key_identifier, ca_label, status, reason, expiry, revoked_at, pem) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      serial, aki, '', i === 1 ? 'revoked' : 'good', i === 1 ? 1 : 0, goTime(notAfter), i === 1 ? goTime(new Date(now.getTime() - 3600_000)) : '0001-01-01 00:00:00+00:00', fs.readFileSync(join(r.work, `${n}.pem`), 'utf8'),
    );
  }
  db.close();
  r.say('cfssl\'s certdb after `cfssl gencert -db-config ...` for app-01 and app-02 and `cfssl revoke -db-config ... -reason keycompromise` of app-02:');
  const rows = spawnSync('node', ['-e', `const D=require(${JSON.stringify(join(ROOT, 'node_modules/better-sqlite3'))});const d=new D(${JSON.stringify(join(old, 'certs.db'))},{readonly:true});for(const r of d.prepare('SELECT serial_number, status, reason, revoked_at FROM certificates').all())console.log([r.serial_number,r.status,r.reason,r.revoked_at].join(' | '))`], { encoding: 'utf8' });
  r.md.push('```', '$ sqlite3 certs.db "SELECT serial_number, status, reason, revoked_at FROM certificates"', rows.stdout.trimEnd(), '```', '');
  r.say('## Import the CA and its certdb');
  await r.pki(['init', '--subject', 'CN=Example Root CA,O=Example', '--no-passphrase']);
  await r.pki(['import', 'cfssl', '--name', 'legacy', '--cert', join(old, 'ca.pem'), '--key', join(old, 'ca-key.pem'), '--certdb', join(old, 'certs.db'), '--no-passphrase']);
  await r.pki(['list', '--ca', 'legacy']);
  r.say('## The first CRL', '', 'cfssl keeps no CRL number. Without the last CRL cfssl published, pki refuses to guess:');
  await r.pki(['crl', 'generate', '--ca', 'legacy'], { expect: 6 });
  r.say('cfssl\'s CRLs carry no CRL Number either, so any number follows them: start at 1 (or pass `--previous last-cfssl.crl` to have its entries checked too).');
  await r.pki(['crl', 'generate', '--ca', 'legacy', '--first-crl-number', '1', '--out', join(r.work, 'legacy.crl')]);
  await verifySection(r, join(old, 'ca.pem'), join(r.work, 'legacy.crl'), [[join(r.work, 'app-02.pem'), true], [join(r.work, 'app-01.pem'), false]]);
  r.say('## Signing profiles', '', 'cfssl\'s `config.json`:');
  const config = {
    signing: {
      default: { expiry: '168h' },
      profiles: {
        client: { usages: ['signing', 'digital signature', 'key encipherment', 'client auth'], expiry: '8760h' },
        intermediate_ca: { usages: ['signing', 'digital signature', 'cert sign', 'crl sign'], expiry: '43800h', ca_constraint: { is_ca: true, max_path_len: 0, max_path_len_zero: true } },
      },
    },
  };
  fs.writeFileSync(join(r.work, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  r.sh('cat', [join(r.work, 'config.json')]);
  await r.pki(['profile', 'import', 'cfssl', join(r.work, 'config.json'), '--out-dir', join(r.work, 'pki', 'profiles')], { expect: 2 });
  await r.pki(['profile', 'import', 'cfssl', join(r.work, 'config.json'), '--out-dir', join(r.work, 'pki', 'profiles'), '--ignore-unmapped']);
  r.sh('cat', [join(r.work, 'pki', 'profiles', 'client.yaml')]);
  r.say('## Workloads', '', 'On each workload host, the `csr.json` it already has makes the key and CSR there (the key never leaves the host):');
  fs.writeFileSync(join(r.work, 'csr.json'), `${JSON.stringify({ CN: 'app-03', hosts: ['app-03.example.com'], key: { algo: 'ecdsa', size: 256 }, names: [{ C: 'India', O: 'Example' }] }, null, 2)}\n`);
  r.sh('cat', [join(r.work, 'csr.json')]);
  await r.pki(['csr', '--from-cfssl', join(r.work, 'csr.json'), '--key-out', join(r.work, 'app-03.key'), '--out', join(r.work, 'app-03.csr')], { expect: 2 });
  fs.writeFileSync(join(r.work, 'csr.json'), fs.readFileSync(join(r.work, 'csr.json'), 'utf8').replace('"India"', '"IN"'));
  await r.pki(['csr', '--from-cfssl', join(r.work, 'csr.json'), '--key-out', join(r.work, 'app-03.key'), '--out', join(r.work, 'app-03.csr')]);
  r.say('and the CA signs it with the imported profile:');
  await r.pki(['issue', '--ca', 'legacy', '--csr', join(r.work, 'app-03.csr'), '--profile', 'client', '--out', join(r.work, 'app-03.pem')]);
  r.say(...COMMON_AFTER);
  write('migrate-from-cfssl.md', r.md);
}

await openssl();
await easyRsa();
await cfssl();
