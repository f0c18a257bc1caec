#!/usr/bin/env node
/**
 * `npm run soak`: crash-safety soak. A loop of random operations — issue, batch issue, revoke, batch revoke, CRL
 * generation, CRL publishing to the emulator, rotation steps — each its own `pki` process, a share of them killed
 * with SIGKILL at a random moment, and the emulator told now and then to fail or to drop a connection after writing.
 * After every kill (and at the end) a checker proves the invariants:
 *   1. every certificate file that exists is on record in the store;
 *   2. no serial twice for one issuer;
 *   3. every revocation that was acknowledged (exit 0) is in the next CRL;
 *   4. CRL Numbers per CA are 1, 2, 3, ... with no gap and no repeat;
 *   5. the store is consistent by its own checks: on SQLite `PRAGMA integrity_check` and `PRAGMA foreign_key_check`;
 *      on PostgreSQL (see pgIntegrity) amcheck's B-tree and heap checks where amcheck is installed, every primary
 *      key, unique and foreign key constraint re-checked by a query, every constraint validated and every index
 *      valid, each stored CRL's chunks hashing to its recorded SHA-256, and no transaction, prepared transaction or
 *      advisory lock left behind by a killed process;
 *   6. the audit chain verifies;
 *   7. the emulator never holds more than 2 CRLs (or 2 certificates) per trust anchor;
 *   8. after a successful `pki crl publish` (exit 0), no certificate whose revocation was acknowledged before it
 *      started gets credentials (CreateSession against the emulator answers "Certificate revoked").
 * Publishing faults, made out of band with a second client (the AWS SDK for JavaScript) as another tool or a console
 * would: the CRL deleted, disabled, or replaced with an older CRL of the same CA; and overlapping publishes (two
 * `pki crl publish` at once). Leases last PKI_LEASE_SECONDS=5 here, so a killed run's lease expires quickly.
 * Every RESUME_EVERY (default 15) operations, a batch is interrupted with SIGINT, SIGKILL or SIGTERM (in turn) at a
 * random moment and finished with `--resume`, which must leave one file per CSR, each on record, no temporary file,
 * and no CSR issued twice (see interruptAndResume).
 *
 * Env: OPS (default 2000), KILL_RATE (default 0.15), FAULT_RATE (default 0.08), SEED (default 1), TIME_LIMIT seconds
 * (default 3600), RESUME_EVERY (default 15; 0 turns the interrupt-and-resume rounds off).
 * The store: SQLite by default. SOAK_STORE=postgres starts a throwaway PostgreSQL cluster (scripts/pg-cluster.mjs:
 * initdb + pg_ctl on 127.0.0.1, removed at the end); SOAK_STORE_URL=postgres://... uses that database instead (it
 * must be empty: pki init refuses a database that holds a PKI). On PostgreSQL the soak runs SOAK_NODES (default 2)
 * node directories on the one database (`pki node join`), each operation on one picked at random.
 * Prints the number of operations, kills and invariant checks; exits 1 on the first violation.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const OPS = Number(process.env.OPS ?? 2000);
const KILL_RATE = Number(process.env.KILL_RATE ?? 0.15);
/** Share of operations preceded by an out-of-band change to the published CRL. */
const FAULT_RATE = Number(process.env.FAULT_RATE ?? 0.08);
const TIME_LIMIT = Number(process.env.TIME_LIMIT ?? 3600) * 1000;
let seed = Number(process.env.SEED ?? 1) >>> 0;
/** mulberry32: a seeded PRNG, so a run's choices can be replayed. */
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(random() * xs.length)];

const STORE_URL = process.env.SOAK_STORE_URL || undefined;
const STORE = STORE_URL ? 'postgres' : (process.env.SOAK_STORE || 'sqlite');
if (STORE !== 'sqlite' && STORE !== 'postgres') {
  process.stderr.write(`soak: SOAK_STORE=${STORE}: expected sqlite or postgres\n`);
  process.exit(2);
}
if (STORE_URL && !/^postgres(ql)?:\/\//i.test(STORE_URL)) {
  process.stderr.write('soak: SOAK_STORE_URL must be a postgres:// or postgresql:// URL (the SQLite soak makes its own file)\n');
  process.exit(2);
}
/** A URL's password as *** (for messages). */
const redactUrl = (text) => text.replace(/(postgres(?:ql)?:\/\/[^:@/\s]*:)[^@\s]*@/gi, '$1***@');
const NODES = STORE === 'postgres' ? Math.max(1, Number(process.env.SOAK_NODES ?? 2)) : 1;

// --- Reading the store: the checker's own read-only access (better-sqlite3, or a pg connection of its own).
const Database = STORE === 'sqlite' ? (await import('better-sqlite3')).default : undefined;
const pg = STORE === 'postgres' ? (await import('pg')).default : undefined;
/** The throwaway cluster (SOAK_STORE=postgres without SOAK_STORE_URL). */
let cluster;
/** The checker's connection to the PostgreSQL store. */
let pgClient;
/** Whether amcheck's bt_index_check / verify_heapam can be used on the PostgreSQL store. */
const amcheck = { btree: false, heap: false, why: '' };
const { crlChunkProblems, pgIntegrity, preparePgChecker } = await import('./store-checks.mjs');

const { startEmulator } = await import(join(ROOT, 'dist/emulator/server.js'));
const { verifyAudit } = await import(join(ROOT, 'dist/app/audit.js'));
const { crlDerFromFile, decodeCrl, walkCrlEntries } = await import(join(ROOT, 'dist/x509/crl.js'));
const { readCertificate } = await import(join(ROOT, 'dist/x509/certificate.js'));
const { assembleCsr, buildCsrInfo } = await import(join(ROOT, 'dist/x509/csr.js'));
// A workload CSR signed with the script's own key (CA keys sign only through the key store).
const buildCsr = (subjectDer, key, alg, exts) => {
  const info = buildCsrInfo(subjectDer, crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }), exts);
  return assembleCsr(info, alg, crypto.sign(alg.hash, info, key));
};
const { signatureAlgorithmFor } = await import(join(ROOT, 'dist/crypto/keys.js'));
const { encodeName, parseDn } = await import(join(ROOT, 'dist/x509/name.js'));
const { toPem } = await import(join(ROOT, 'dist/asn1/pem.js'));
const { credentialProcess } = await import(join(ROOT, 'dist/adapters/aws/create-session.js'));
const { CreateProfileCommand, DeleteCrlCommand, DisableCrlCommand, RolesAnywhereClient, UpdateCrlCommand } = await import('@aws-sdk/client-rolesanywhere');
const crypto = await import('node:crypto');

const work = fs.mkdtempSync(join(tmpdir(), 'pki-soak-'));
const dir = join(work, 'pki');
/** The node directories: `dir`, and on PostgreSQL the ones that joined it (`pki node join`). */
const nodeDirs = [dir, ...Array.from({ length: NODES - 1 }, (_, i) => join(work, `node-${i + 2}`))];
const anyNode = () => (nodeDirs.length > 1 ? pick(nodeDirs) : dir);
const certs = join(work, 'certs');
fs.mkdirSync(certs);
// Whatever ends the run (the end, a violation, an error, Ctrl-C), the throwaway cluster is stopped and removed.
process.on('exit', () => cluster?.stop());
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(sig, () => process.exit(code));
/** The PostgreSQL database the soak runs on (SOAK_STORE_URL, or a database of the throwaway cluster). */
let storeUrl = STORE_URL;
if (STORE === 'postgres' && !storeUrl) {
  const { startPostgres } = await import('./pg-cluster.mjs');
  const made = await startPostgres();
  if ('skip' in made) {
    process.stderr.write(`soak: SOAK_STORE=postgres: cannot start a throwaway PostgreSQL cluster: ${made.skip} (or give SOAK_STORE_URL=postgres://...)\n`);
    process.exit(2);
  }
  cluster = made;
  storeUrl = await cluster.createDb('pki_soak');
}
const emu = await startEmulator({ ratePerSecond: 0 });
const env = { ...process.env, PKI_DIR: dir, AWS_ACCESS_KEY_ID: 'AKIDSOAK', AWS_SECRET_ACCESS_KEY: 'soak', AWS_REGION: 'us-east-1', PKI_LEASE_SECONDS: '5' };
const ep = ['--endpoint', emu.url, '--api-rate', '0', '--lease-wait', '10'];
const stats = { ops: 0, kills: 0, checks: 0, revocationChecks: 0, faults: {}, exits: {}, interruptRounds: 0, interrupted: 0, resumed: 0 };
/** Every RESUME_EVERY operations, one interrupt-and-resume round (signals in turn: SIGINT, SIGKILL, SIGTERM). */
const RESUME_EVERY = Number(process.env.RESUME_EVERY ?? 15);
const acked = new Map(); // "issuer serial" → acknowledged revocation
const issuedFiles = new Map(); // serial of an issuing-1 certificate issued with --key-out → { cert, key }
/** The second client: what a console, another script or an overlapping tool does to the service. */
const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other' } });
const ROLE = 'arn:aws:iam::123456789012:role/soak';
let anchorArn;
let profileArn;
const started = Date.now();

/**
 * Runs `pki ARGS` in the node directory `nodeDir` (default: the first); with `killAfterMs`, sends `signal` (default
 * SIGKILL) then (if it is still running); with `onStderr`, sends it as soon as stderr matches that pattern instead.
 */
function pki(args, killAfterMs, signal = 'SIGKILL', onStderr = undefined, nodeDir = dir) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...env, PKI_DIR: nodeDir }, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      if (onStderr && !killed && onStderr.test(err) && child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill(signal);
      }
    });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill(signal);
      }
    }, killAfterMs);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, killed, signal: sig, out, err });
    });
  });
}

class Violation extends Error {}
/** Stops the run: the main loop prints the violation, stops the emulator (and the cluster) and exits 1. */
function fail(message) {
  throw new Violation(message);
}

/** Rows of a query written with `?` placeholders (numbered $1, $2... for PostgreSQL; int8 read as numbers). */
async function rows(sql, params = []) {
  if (STORE === 'sqlite') {
    const db = new Database(join(dir, 'pki.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params);
    } finally {
      db.close();
    }
  }
  let i = 0;
  return (await pgClient.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows;
}

async function openPgChecker(url) {
  const types = { getTypeParser: (oid, format) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) };
  pgClient = new pg.Client({ connectionString: url, types, application_name: 'pki-soak' });
  await pgClient.connect();
  Object.assign(amcheck, await preparePgChecker(pgClient));
  if (amcheck.why) process.stderr.write(`soak: ${amcheck.why}\n`);
}

/** Invariant 5: the store's own consistency check, and every stored CRL's chunks hashing to its recorded SHA-256. */
async function storeProblems() {
  const problems = [];
  if (STORE === 'sqlite') {
    const db = new Database(join(dir, 'pki.db'), { readonly: true, fileMustExist: true });
    try {
      const integrity = db.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') problems.push(`integrity_check: ${integrity}`);
      for (const r of db.pragma('foreign_key_check')) problems.push(`foreign_key_check: a row of ${r.table} (rowid ${r.rowid}) has no row in ${r.parent}`);
    } finally {
      db.close();
    }
  } else problems.push(...(await pgIntegrity(pgClient, amcheck)));
  problems.push(...(await crlChunkProblems(rows)));
  return problems;
}

/** The store, as the summary line names it. */
function storeDescription() {
  if (STORE === 'sqlite') return 'sqlite, integrity_check + foreign_key_check';
  const checks = amcheck.btree ? `amcheck bt_index_check${amcheck.heap ? ' + verify_heapam' : ''} + constraint re-checks` : 'constraint re-checks (no amcheck)';
  return `postgres${cluster ? ' (throwaway cluster)' : ''}, ${nodeDirs.length} node${nodeDirs.length > 1 ? 's' : ''}, ${checks}`;
}

async function serialsOnRecord() {
  return new Set((await rows("SELECT ca.name || ' ' || c.serial AS k FROM certificate c JOIN ca ON ca.id = c.issuer_id")).map((r) => r.k));
}

/** The invariants. `withCrl`: also generate a CRL per CA and check acknowledged revocations are in it. */
async function check(withCrl) {
  stats.checks++;
  const problems = await storeProblems();
  if (problems.length) fail(`the store is not consistent: ${problems.slice(0, 5).join('; ')}`);
  const dup = (await rows('SELECT issuer_id, serial, COUNT(*) AS n FROM certificate GROUP BY issuer_id, serial HAVING COUNT(*) > 1'))[0];
  if (dup) fail(`serial ${dup.serial} recorded ${dup.n} times for issuer ${dup.issuer_id}`);
  const onRecord = await serialsOnRecord();
  const caNames = new Map((await rows('SELECT id, name FROM ca')).map((r) => [r.name, r.id]));
  const files = fs.readdirSync(certs, { recursive: true }).map(String);
  for (const f of files) {
    if (!f.endsWith('.pem') || f.split('/').pop().startsWith('.')) continue;
    const cert = readCertificate(fs.readFileSync(join(certs, f)), f);
    const issuer = [...caNames.keys()].find((n) => onRecord.has(`${n} ${cert.serialHex}`));
    if (!issuer) fail(`certificate file ${f} (serial ${cert.serialHex}) is not on record`);
  }
  for (const [name, id] of caNames) {
    const numbers = (await rows('SELECT crl_number FROM crl WHERE issuer_id = ? ORDER BY crl_number', [id])).map((r) => r.crl_number);
    numbers.forEach((n, i) => {
      if (n !== i + 1) fail(`CA ${name}: CRL Numbers ${numbers.join(',')} are not 1..${numbers.length}`);
    });
  }
  // The chain as a node sees it (on PostgreSQL, each node in turn).
  const auditDir = nodeDirs[stats.checks % nodeDirs.length];
  const audit = await verifyAudit(
    { now: () => new Date(), randomBytes: (n) => crypto.randomBytes(n), env: {}, cwd: work, stdout: { write() {} }, stderr: { write() {} }, interactive: false, actor: 'soak' },
    { dir: auditDir },
  );
  if (!audit.intact) fail(audit.firstBroken ? `audit chain broken at row ${audit.firstBroken.seq}: ${audit.firstBroken.reason}` : `audit cross-check: ${audit.mismatches.slice(0, 3).join('; ')}`);
  const perAnchor = new Map();
  for (const c of Object.values(emu.state().crls)) perAnchor.set(c.trustAnchorArn, (perAnchor.get(c.trustAnchorArn) ?? 0) + 1);
  for (const [arn, n] of perAnchor) if (n > 2) fail(`the emulator holds ${n} CRLs for ${arn}`);
  for (const ta of Object.values(emu.state().trustAnchors)) {
    const n = (ta.source.sourceData.x509CertificateData.match(/BEGIN CERTIFICATE/g) ?? []).length;
    if (n > 2) fail(`trust anchor ${ta.name} holds ${n} certificates`);
  }
  if (withCrl)
    for (const ca of ['issuing-1', 'root']) {
      const r = await pki(['crl', 'generate', '--ca', ca, '--out', join(work, `check-${ca}.crl`), '--force'], undefined, 'SIGKILL', undefined, anyNode());
      if (r.code !== 0) fail(`crl generate --ca ${ca} after a kill: exit ${r.code}: ${r.err}`);
      const listed = new Set();
      walkCrlEntries(decodeCrl(crlDerFromFile(fs.readFileSync(join(work, `check-${ca}.crl`)), 'crl'), 'crl'), 'crl', (e) => listed.add(e.serialHex));
      for (const k of acked.keys()) {
        const [issuer, serial] = k.split(' ');
        if (issuer === ca && !listed.has(serial)) fail(`acknowledged revocation ${k} is missing from CRL`);
      }
    }
}

/**
 * Invariant 8: after a successful publish, none of the revoked certificates (acknowledged before it started) gets
 * credentials. Checks up to `max` of them (the most recent always), each with a real CreateSession.
 */
async function checkRevokedRefused(ackedBefore, max) {
  const candidates = ackedBefore.map((k) => k.split(' ')[1]).filter((s) => issuedFiles.has(s));
  if (!candidates.length) return;
  stats.revocationChecks++;
  const sample = new Set([candidates[candidates.length - 1]]);
  while (sample.size < Math.min(max, candidates.length)) sample.add(pick(candidates));
  const deps = { now: () => new Date(), randomBytes: (n) => crypto.randomBytes(n), env: {}, cwd: work, stdout: { write() {} }, stderr: { write() {} }, interactive: false, actor: 'soak' };
  for (const serial of sample) {
    const f = issuedFiles.get(serial);
    let got = false;
    try {
      await credentialProcess(deps, { certificate: f.cert, privateKey: f.key, trustAnchorArn: anchorArn, profileArn, roleArn: ROLE, endpoint: emu.url });
      got = true;
    } catch (e) {
      if (!/Certificate revoked/.test(e.message)) fail(`revoked certificate ${serial}: CreateSession failed for another reason than revocation: ${e.message}`);
    }
    if (got) fail(`revoked certificate ${serial} got credentials after a successful crl publish`);
  }
}

/** Out-of-band changes to issuing-1's CRL on the anchor, made with the second client. */
async function outOfBand(kind) {
  const crl = Object.values(emu.state().crls).find((c) => c.trustAnchorArn === anchorArn && c.name === 'pki-issuing-1');
  if (!crl) return;
  stats.faults[kind] = (stats.faults[kind] ?? 0) + 1;
  if (kind === 'delete') await sdk.send(new DeleteCrlCommand({ crlId: crl.crlId }));
  else if (kind === 'disable') await sdk.send(new DisableCrlCommand({ crlId: crl.crlId }));
  else if (kind === 'oldCrl') {
    const id = (await rows("SELECT id FROM ca WHERE name = 'issuing-1'"))[0].id;
    const numbers = (await rows('SELECT crl_number FROM crl WHERE issuer_id = ? ORDER BY crl_number', [id])).map((r) => r.crl_number);
    if (numbers.length < 2) return;
    const older = numbers[Math.floor(random() * (numbers.length - 1))];
    const der = Buffer.concat((await rows('SELECT data FROM crl_chunk WHERE issuer_id = ? AND crl_number = ? ORDER BY seq', [id, older])).map((r) => r.data));
    await sdk.send(new UpdateCrlCommand({ crlId: crl.crlId, crlData: Buffer.from(toPem('X509 CRL', der)) }));
  }
}

// --- Set-up (never killed).
const setup = async (args) => {
  const r = await pki(args);
  if (r.code !== 0) {
    // Not a violation: nothing was soaked yet (e.g. SOAK_STORE_URL names a database that already holds a PKI).
    process.stderr.write(redactUrl(`soak: set-up failed: pki ${args.join(' ')}: exit ${r.code}: ${r.err}`));
    fs.rmSync(work, { recursive: true, force: true });
    process.exit(2);
  }
  return r.out;
};
await setup(['init', '--subject', 'CN=Soak Root', '--no-passphrase', ...(storeUrl ? ['--store', storeUrl] : [])]);
if (storeUrl) await openPgChecker(storeUrl);
await setup(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Soak Issuing 1', '--no-passphrase']);
await setup(['ca', 'create', 'issuing-2', '--parent', 'root', '--subject', 'CN=Soak Issuing 2', '--no-passphrase']);
// The other nodes of a shared PostgreSQL store.
for (const d of nodeDirs.slice(1)) await setup(['node', 'join', '--dir', d, '--store', storeUrl]);
anchorArn = JSON.parse(await setup(['anchor', 'push', '--name', 'soak', '--ca', 'issuing-1', '--enable', '--json', ...ep])).data.arn;
profileArn = (await sdk.send(new CreateProfileCommand({ name: 'soak', roleArns: [ROLE], enabled: true }))).profile.profileArn;
const csrDir = join(work, 'csrs');
fs.mkdirSync(csrDir);
for (let i = 0; i < 3; i++) {
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  fs.writeFileSync(join(csrDir, `b${i}.csr`), toPem('CERTIFICATE REQUEST', buildCsr(encodeName(parseDn(`CN=batch-${i}`)), key, signatureAlgorithmFor('ecdsa-p256'), [])));
}
// A larger batch (three groups of 256) for the interrupt-and-resume operation.
const bigCsrDir = join(work, 'csrs-big');
fs.mkdirSync(bigCsrDir);
{
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  for (let i = 0; i < 600; i++)
    fs.writeFileSync(join(bigCsrDir, `big-${String(i).padStart(3, '0')}.csr`), toPem('CERTIFICATE REQUEST', buildCsr(encodeName(parseDn(`CN=big-${i}`)), key, signatureAlgorithmFor('ecdsa-p256'), [])));
}

/**
 * A batch stopped at a random moment by SIGINT, SIGTERM or SIGKILL, then finished with `--resume` (a plain re-run
 * when it stopped before anything was recorded). Afterwards: exactly one certificate file per CSR, each on record,
 * no temporary file left, and one certificate per CSR file recorded for the batch (nothing issued twice).
 */
async function interruptAndResume() {
  const out = join(certs, `resume-${++n}`);
  const args = ['issue', '--ca', 'issuing-1', '--batch', bigCsrDir, '--out-dir', out];
  const signal = ['SIGINT', 'SIGKILL', 'SIGTERM'][stats.interruptRounds++ % 3];
  // Half the time at a random moment (possibly before anything is recorded), else right after the first group; the
  // first round always after the first group, so that every run resumes at least one interrupted batch.
  // On PostgreSQL the batch may be started on one node and resumed on another.
  const [node1, node2] = [anyNode(), anyNode()];
  const first = stats.interruptRounds > 1 && random() < 0.5 ? await pki(args, Math.floor(random() * 1500), signal, undefined, node1) : await pki(args, undefined, signal, /issued \d+\/600/, node1);
  const expected = { SIGINT: 130, SIGTERM: 143, SIGKILL: null };
  if (first.killed) {
    stats.interrupted++;
    // Exit 130/143 after a clean stop; death by the signal itself when it came before the batch was listening.
    if (first.code !== expected[signal] && first.signal !== signal && first.code !== 0) fail(`batch stopped by ${signal}: exit ${first.code}: ${first.err}`);
  } else if (first.code !== 0) fail(`batch exit ${first.code}: ${first.err}`);
  let second = await pki([...args, '--resume', '--json'], undefined, 'SIGKILL', undefined, node2);
  if (second.code === 5 && /NOT_FOUND_BATCH/.test(second.out)) {
    const left = fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f.endsWith('.pem')) : [];
    if (left.length) fail(`batch ${out}: nothing to resume, yet ${left.length} certificate files exist`);
    second = await pki(args, undefined, 'SIGKILL', undefined, node2);
  } else stats.resumed++;
  if (second.code !== 0) fail(`finishing batch ${out}: exit ${second.code}: ${second.err}${second.out}`);
  const names = fs.readdirSync(out);
  if (names.some((f) => f.startsWith('.'))) fail(`batch ${out}: temporary files left: ${names.filter((f) => f.startsWith('.')).join(', ')}`);
  if (names.length !== 600) fail(`batch ${out}: ${names.length} files for 600 CSRs`);
  const row = (await rows('SELECT COUNT(*) AS n, COUNT(DISTINCT i.file) AS files FROM issue_batch_item i JOIN issue_batch b ON b.id = i.batch_id WHERE b.out_dir = ?', [fs.realpathSync(out)]))[0];
  if (row.n !== 600 || row.files !== 600) fail(`batch ${out}: ${row.n} certificates recorded for ${row.files} CSR files (want 600 for 600)`);
  await check(false);
  return { code: 0, killed: first.killed };
}

// --- The operations. Each returns the pki arguments, and what to do with the result.
let n = 0;
const issuedSerials = async () =>
  (await rows("SELECT c.serial FROM certificate c JOIN ca ON ca.id = c.issuer_id LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE ca.name = 'issuing-1' AND c.is_ca = 0 AND r.serial IS NULL ORDER BY c.serial")).map((r) => r.serial);
const operations = {
  issue: () => ({ args: ['issue', '--ca', 'issuing-1', '--subject', `CN=w${++n}`, '--key-out', join(work, `k${n}.key`), '--out', join(certs, `w${n}.pem`), '--force'], files: { cert: join(certs, `w${n}.pem`), key: join(work, `k${n}.key`) } }),
  batch: () => {
    const out = join(certs, `batch-${++n}`);
    fs.mkdirSync(out, { recursive: true });
    return { args: ['issue', '--ca', 'issuing-1', '--batch', csrDir, '--out-dir', out, '--force'], batchDir: out };
  },
  revoke: async () => {
    // Half the time a certificate whose key is on file: invariant 8 can then ask for credentials with it (the
    // batches' certificates, which have no key here, soon outnumber them).
    const all = await issuedSerials();
    const withKey = all.filter((s) => issuedFiles.has(s));
    const serial = withKey.length && random() < 0.5 ? pick(withKey) : pick(all);
    return serial ? { args: ['revoke', '--ca', 'issuing-1', '--serial', serial], revoked: [serial] } : operations.issue();
  },
  revokeBatch: async () => {
    const all = await issuedSerials();
    const some = [...new Set([pick(all), pick(all), pick(all)])].filter(Boolean);
    if (!some.length) return operations.issue();
    const file = join(work, `revoke-${++n}.txt`);
    fs.writeFileSync(file, some.join('\n') + '\n');
    return { args: ['revoke', '--ca', 'issuing-1', '--batch', file], revoked: some };
  },
  crl: () => ({ args: ['crl', 'generate', '--ca', pick(['issuing-1', 'root']), '--out', join(work, 'soak.crl'), '--force'] }),
  publish: () => ({ args: ['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'soak', ...ep], publish: true }),
  /** Two publishes at once (overlapping cron runs): one waits for the other's lease. */
  overlap: () => ({ args: ['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'soak', ...ep], publish: true, overlap: true }),
  rotate: () => ({ rotate: true }),
};
const weights = [['issue', 4], ['batch', 1], ['revoke', 2], ['revokeBatch', 1], ['crl', 2], ['publish', 2], ['overlap', 1], ['rotate', 1]];
const total = weights.reduce((s, [, w]) => s + w, 0);
const choose = () => {
  let r = random() * total;
  for (const [name, w] of weights) if ((r -= w) < 0) return name;
  return 'issue';
};

/** The next rotation step on anchor "soak": start issuing-2 beside issuing-1, or abort it; interrupted steps re-run. */
async function rotationArgs() {
  const r = await pki(['rotate', 'status', '--anchor', 'soak', '--json'], undefined, 'SIGKILL', undefined, anyNode());
  const phase = JSON.parse(r.out).data.rotation?.phase;
  if (phase === 'starting') return ['rotate', 'start', '--anchor', 'soak', '--new-ca', 'issuing-2', ...ep];
  if (phase === 'started' || phase === 'aborting' || phase === 'switched') return ['rotate', 'abort', '--anchor', 'soak', ...ep];
  return ['rotate', 'start', '--anchor', 'soak', '--new-ca', 'issuing-2', ...ep];
}

let violation;
try {
  while (stats.ops < OPS && Date.now() - started < TIME_LIMIT) {
    if (RESUME_EVERY > 0 && stats.ops % RESUME_EVERY === RESUME_EVERY - 1) {
      const r = await interruptAndResume();
      stats.ops++;
      const key = r.killed ? 'interrupted+resumed' : 'batch+resume';
      stats.exits[key] = (stats.exits[key] ?? 0) + 1;
      continue;
    }
    const name = choose();
    const op = await operations[name]();
    const args = op.rotate ? await rotationArgs() : op.args;
    if (random() < 0.05) emu.setFaults(pick([{ failNext: { status: 503, count: 1 } }, { dropAfterWrite: 1 }, { throttleNext: 1 }]));
    if (random() < FAULT_RATE) await outOfBand(pick(['delete', 'disable', 'oldCrl']));
    const ackedBefore = [...acked.keys()];
    const kill = random() < KILL_RATE ? Math.floor(random() * 500) : undefined;
    // On PostgreSQL each run on a node picked at random (overlapping publishes possibly from two nodes).
    const runs = await Promise.all(
      op.overlap ? [pki(args, kill, 'SIGKILL', undefined, anyNode()), pki(args, random() < KILL_RATE ? Math.floor(random() * 500) : undefined, 'SIGKILL', undefined, anyNode())] : [pki(args, kill, 'SIGKILL', undefined, anyNode())],
    );
    emu.setFaults({});
    for (const r of runs) {
      stats.ops++;
      stats.exits[r.killed ? 'killed' : r.code] = (stats.exits[r.killed ? 'killed' : r.code] ?? 0) + 1;
      if (!r.killed && r.code === 1) fail(`pki ${args.join(' ')} exited 1 (internal error): ${r.err}`);
      if (!r.killed && r.code === 0 && op.revoked) for (const s of op.revoked) acked.set(`issuing-1 ${s}`, true);
      if (!r.killed && r.code === 0 && op.files) issuedFiles.set(readCertificate(fs.readFileSync(op.files.cert), op.files.cert).serialHex, op.files);
    }
    if (op.publish && runs.some((r) => !r.killed && r.code === 0)) await checkRevokedRefused(ackedBefore, 3);
    for (const r of runs)
      if (r.killed) {
        stats.kills++;
        await check(stats.kills % 5 === 0);
      }
    if (stats.ops % 100 === 0) process.stderr.write(`soak: ${stats.ops} operations, ${stats.kills} kills, ${stats.checks} checks\n`);
  }
  await check(true);
  // The last check needs a revoked certificate whose key is on file: when the random operations left none (a short
  // run), one is issued and revoked here, so that invariant 8 is checked at least once in every run.
  if (![...acked.keys()].some((k) => issuedFiles.has(k.split(' ')[1]))) {
    const op = operations.issue();
    const issued = await pki(op.args);
    if (issued.code !== 0) fail(`the final issue failed: exit ${issued.code}: ${issued.err}`);
    const serial = readCertificate(fs.readFileSync(op.files.cert), op.files.cert).serialHex;
    issuedFiles.set(serial, op.files);
    const revoked = await pki(['revoke', '--ca', 'issuing-1', '--serial', serial]);
    if (revoked.code !== 0) fail(`the final revoke failed: exit ${revoked.code}: ${revoked.err}`);
    acked.set(`issuing-1 ${serial}`, true);
  }
  // A last publish repairs whatever the last faults left; then every revoked certificate on file must be refused.
  const last = await pki(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'soak', ...ep.slice(0, -2), '--lease-wait', '30']);
  if (last.code !== 0) fail(`the final crl publish failed: exit ${last.code}: ${last.err}`);
  await checkRevokedRefused([...acked.keys()], 10);
  console.log(
    `soak: ${stats.ops} operations, ${stats.kills} kills, ${stats.checks} invariant checks, ${stats.revocationChecks} revocation checks after publishing, 0 violations ` +
      `(batches interrupted: ${stats.interrupted}, resumed: ${stats.resumed}; out-of-band faults: ${JSON.stringify(stats.faults)}; exit codes: ${JSON.stringify(stats.exits)}; ` +
      `store: ${storeDescription()}; ${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
} catch (e) {
  if (!(e instanceof Violation)) throw e;
  violation = e.message;
} finally {
  await pgClient?.end().catch(() => undefined);
  await emu.close();
}
if (violation) {
  process.stderr.write(`\nINVARIANT VIOLATED after ${stats.ops} operations, ${stats.kills} kills: ${violation}\nwork dir kept: ${work}\n`);
  process.exit(1);
}
fs.rmSync(work, { recursive: true, force: true });
