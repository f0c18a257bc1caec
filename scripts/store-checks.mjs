/**
 * The store consistency checks of `npm run soak` (invariant 5), kept apart so that tests can show each one fails on
 * what it is for (test/e2e/soak-postgres.test.ts). Types in store-checks.d.mts.
 */
import { createHash } from 'node:crypto';

/**
 * Prepares the checker's own PostgreSQL connection: index scans off for its session (the re-checks then read the
 * table rows, not the indexes they re-check), and amcheck created if it can be (the throwaway cluster's user is a
 * superuser; on a given database it takes the right to create it, or it is already there). Returns which amcheck
 * functions can be used, and why not when it cannot.
 */
export async function preparePgChecker(client) {
  await client.query('SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off');
  let why = '';
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS amcheck');
  } catch (e) {
    why = `amcheck not available (${e.message}): invariant 5 without the B-tree and heap checks`;
  }
  const fns = (await client.query("SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'bt_index_check') AS btree, EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'verify_heapam') AS heap")).rows[0];
  return { btree: fns.btree, heap: fns.heap, why };
}

/**
 * Invariant 5 on PostgreSQL, the counterpart of SQLite's PRAGMA integrity_check (which checks the file's pages and
 * that every index matches its table) and foreign_key_check. Over the tables of the schema pki's tables are in:
 *   - amcheck (when installed): bt_index_check(index, heapallindexed => true) on every B-tree index (its structure,
 *     and every table row present in it) and verify_heapam on every table (PostgreSQL 14+: corrupt tuples, TOAST);
 *   - every constraint validated (pg_constraint.convalidated) and every index valid, ready and live (pg_index);
 *   - every primary key and unique constraint re-checked by a GROUP BY, every foreign key by an anti-join, every
 *     CHECK constraint and NOT NULL column by a query: with index scans off, so they read the table rows;
 *   - no transaction left open, prepared transaction, or advisory lock (the CRL and audit locks) held once no pki
 *     process runs: the server must have rolled back and released what every killed process held.
 * `client` is a connection prepared by preparePgChecker; `amcheck` what it found; `waitMs`
 * how long to wait for the server to clean up after killed processes. Returns the problems found.
 */
export async function pgIntegrity(client, amcheck = { btree: false, heap: false }, opts = {}) {
  const problems = [];
  const q = async (sql, params) => (await client.query(sql, params)).rows;
  const waitMs = opts.waitMs ?? 15_000;
  const inSchema = 'c.relnamespace = current_schema()::regnamespace';
  if (amcheck.btree)
    for (const { ix } of await q(`SELECT i.indexrelid::regclass::text AS ix FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam WHERE ${inSchema} AND c.relkind = 'r' AND am.amname = 'btree' ORDER BY 1`))
      try {
        await q('SELECT bt_index_check($1::regclass, true)', [ix]);
      } catch (e) {
        problems.push(`amcheck bt_index_check(${ix}): ${e.message}`);
      }
  const tables = (await q(`SELECT c.oid::regclass::text AS t FROM pg_class c WHERE ${inSchema} AND c.relkind = 'r' ORDER BY 1`)).map((r) => r.t);
  if (amcheck.heap)
    for (const t of tables) for (const r of await q('SELECT blkno, offnum, msg FROM verify_heapam($1::regclass) LIMIT 3', [t])) problems.push(`amcheck verify_heapam(${t}): block ${r.blkno} item ${r.offnum}: ${r.msg}`);
  for (const r of await q(`SELECT i.indexrelid::regclass::text AS ix FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE ${inSchema} AND NOT (i.indisvalid AND i.indisready AND i.indislive)`))
    problems.push(`index ${r.ix} is not valid`);
  const attList = (rel, keys) => `ARRAY(SELECT quote_ident(a.attname) FROM unnest(${keys}) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = k.n ORDER BY k.o)`;
  const constraints = await q(
    `SELECT con.conname, con.contype, con.convalidated, con.conrelid::regclass::text AS tbl, con.confrelid::regclass::text AS ref,
            ${attList('con.conrelid', 'con.conkey')} AS cols, ${attList('con.confrelid', 'con.confkey')} AS refcols,
            CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid) END AS expr
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid WHERE ${inSchema} AND con.contype IN ('p', 'u', 'f', 'c') ORDER BY 1`,
  );
  for (const k of constraints) {
    if (!k.convalidated) problems.push(`constraint ${k.conname} on ${k.tbl} is not validated`);
    const notNull = k.cols.map((col) => `t.${col} IS NOT NULL`).join(' AND ') || 'true';
    if (k.contype === 'p' || k.contype === 'u') {
      const dup = await q(`SELECT ${k.cols.map((col) => `t.${col}::text`).join(` || ' ' || `)} AS k, COUNT(*) AS n FROM ${k.tbl} t WHERE ${notNull} GROUP BY ${k.cols.map((col) => `t.${col}`).join(', ')} HAVING COUNT(*) > 1 LIMIT 1`);
      if (dup.length) problems.push(`${k.tbl}: ${k.contype === 'p' ? 'primary key' : 'unique'} ${k.conname} (${k.cols.join(', ')}) = ${dup[0].k} held by ${dup[0].n} rows`);
    } else if (k.contype === 'f') {
      const match = k.cols.map((col, i) => `r.${k.refcols[i]} = t.${col}`).join(' AND ');
      const orphan = await q(`SELECT ${k.cols.map((col) => `t.${col}::text`).join(` || ' ' || `)} AS k FROM ${k.tbl} t WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${k.ref} r WHERE ${match}) LIMIT 1`);
      if (orphan.length) problems.push(`${k.tbl}: foreign key ${k.conname} (${k.cols.join(', ')}) = ${orphan[0].k} has no row in ${k.ref}`);
    } else if (k.expr) {
      const bad = await q(`SELECT COUNT(*) AS n FROM ${k.tbl} t WHERE NOT (${k.expr})`);
      if (Number(bad[0].n) > 0) problems.push(`${k.tbl}: ${bad[0].n} rows break CHECK ${k.conname} (${k.expr})`);
    }
  }
  for (const { t, cols } of await q(
    `SELECT c.oid::regclass::text AS t, array_agg(quote_ident(a.attname) ORDER BY a.attnum) AS cols FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
      WHERE ${inSchema} AND c.relkind = 'r' AND a.attnum > 0 AND a.attnotnull AND NOT a.attisdropped GROUP BY c.oid`,
  )) {
    const bad = await q(`SELECT COUNT(*) AS n FROM ${t} t WHERE ${cols.map((col) => `t.${col} IS NULL`).join(' OR ')}`);
    if (Number(bad[0].n) > 0) problems.push(`${t}: ${bad[0].n} rows with NULL in a NOT NULL column`);
  }
  // What killed processes held: the server notices a closed connection when its backend next reads or writes, so
  // allow it a few seconds.
  let left;
  for (let waited = 0; ; waited += 250) {
    left = (
      await q(
        `SELECT (SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pki' AND state <> 'idle') AS busy,
                (SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS advisory,
                (SELECT COUNT(*) FROM pg_prepared_xacts WHERE database = current_database()) AS prepared`,
      )
    )[0];
    for (const k of Object.keys(left)) left[k] = Number(left[k]);
    if ((left.busy === 0 && left.advisory === 0 && left.prepared === 0) || waited >= waitMs) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (left.busy) problems.push(`${left.busy} pki sessions still in a transaction or a statement with no pki process running`);
  if (left.advisory) problems.push(`${left.advisory} advisory locks still held with no pki process running`);
  if (left.prepared) problems.push(`${left.prepared} prepared transactions left`);
  return problems;
}

/**
 * Every stored CRL's chunks, concatenated in order, hash to the SHA-256 recorded with it (the DER that was written
 * out), and no chunk belongs to no CRL. `rows(sql, params)` reads the store (SQLite or PostgreSQL).
 */
export async function crlChunkProblems(rows) {
  const problems = [];
  const recorded = new Map((await rows('SELECT issuer_id, crl_number, sha256 FROM crl')).map((r) => [`${r.issuer_id} ${r.crl_number}`, r.sha256]));
  const hashes = new Map();
  for (const r of await rows('SELECT issuer_id, crl_number, seq, data FROM crl_chunk ORDER BY issuer_id, crl_number, seq')) {
    const k = `${r.issuer_id} ${r.crl_number}`;
    if (!hashes.has(k)) hashes.set(k, createHash('sha256'));
    hashes.get(k).update(r.data);
  }
  for (const [k, sha] of recorded) {
    const got = hashes.get(k)?.digest('hex');
    if (got !== sha) problems.push(`CRL ${k}: its stored chunks ${got ? `hash to ${got}` : 'are missing'}, not to the recorded ${sha}`);
  }
  for (const k of hashes.keys()) if (!recorded.has(k)) problems.push(`CRL chunks of ${k} without a CRL row`);
  return problems;
}
