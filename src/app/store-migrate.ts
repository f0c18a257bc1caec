/**
 * `pki store migrate --to URL`: moves a PKI's SQLite store into an empty PostgreSQL database, row by row, for
 * several CA nodes. All or nothing: the copy is one transaction that reads every row back and compares it with the
 * source, runs the audit chain and its cross-checks (pki audit verify) on the copy and switches pki.yaml to the new
 * store, all before it commits (pki.yaml is put back when the COMMIT fails). CA keys kept in files are moved into the store with their CA (their
 * encrypted PKCS#8 PEM as written; key reference store:NAME) so other nodes can use them; pkcs11: references stay.
 * The SQLite file and the key files are left where they were (no longer used).
 */
import * as fs from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { PkiError } from '../errors.js';
import { verifyAuditChain } from '../domain/audit.js';
import { writeFileAtomic } from '../fs/files.js';
import type { Deps, Store } from '../ports.js';
import { storeKeyRef } from '../adapters/store/shared-keys.js';
import { redactUrl, storeKind } from '../adapters/store/url.js';
import { COPY_TABLES } from '../adapters/store/tables.js';
import { crossCheckAudit } from './audit.js';
import { openStore, withWorkspace } from './workspace.js';

export interface MigrateStoreInput {
  dir?: string;
  to: string;
}

type Row = Record<string, unknown>;

export async function migrateStore(deps: Deps, input: MigrateStoreInput) {
  if (storeKind(input.to) !== 'postgres')
    throw new PkiError('USAGE_BAD_STORE_URL', `input.to ${redactUrl(input.to)}: expected a PostgreSQL database (postgres://USER@HOST[:PORT]/DB or postgresql://...)`, { details: { flag: 'input.to', input: 'to' } });
  const shown = redactUrl(input.to);
  return withWorkspace(input.dir, deps, async (ws) => {
    const { config } = ws;
    if (config.store.url !== null) throw new PkiError('USAGE_CONFLICT', `${config.file} already names the store ${redactUrl(config.store.url)}: pki store migrate moves a SQLite store`, { details: { file: config.file } });
    const source = ws.store;
    if (!source.dumpTable) throw new PkiError('INTERNAL_STORE', 'the source store cannot list its rows');
    // The source must be intact: a copy of a broken audit chain would carry the break along.
    const sourceAudit = await source.auditLog();
    const broken = verifyAuditChain(sourceAudit);
    if (broken) throw new PkiError('STATE_AUDIT_BROKEN', `the audit log of ${config.store.sqlite} is broken at row #${broken.seq} (${broken.reason}): nothing was migrated`, { details: { seq: broken.seq }, hint: 'pki audit verify shows the damage; restore the store from a backup first' });

    // The CA keys in files: read now (all must be there) and moved into the store with their CA.
    const keys = new Map<number, { file: string; pem: Buffer }>();
    for await (const ca of source.dumpTable('ca')) {
      const ref = String(ca.key_path);
      if (/^(pkcs11|store):/i.test(ref)) continue;
      const file = ref.toLowerCase().startsWith('file:') ? new URL(ref).pathname : isAbsolute(ref) ? ref : resolve(config.dir, ref);
      try {
        keys.set(Number(ca.id), { file, pem: fs.readFileSync(file) });
      } catch (e) {
        throw new PkiError('IO_KEY_UNREADABLE', `cannot read CA ${String(ca.name)}'s key ${file}: ${(e as Error).message}; nothing was migrated`, { details: { ca: ca.name, file }, cause: e });
      }
    }
    async function* rowsOf(table: string): AsyncGenerator<Row> {
      if (table === 'ca') {
        for await (const r of source.dumpTable!('ca')) yield keys.has(Number(r.id)) ? { ...r, key_path: storeKeyRef(String(r.name)) } : r;
        return;
      }
      if (table === 'ca_key') {
        const existing: Row[] = [];
        for await (const r of source.dumpTable!('ca_key')) existing.push(r);
        const all = [...existing, ...[...keys].map(([id, k]) => ({ ca_id: id, pem: k.pem }))].sort((a, b) => Number(a.ca_id) - Number(b.ca_id));
        yield* all;
        return;
      }
      yield* source.dumpTable!(table);
    }

    // pki audit verify on the copy inside the copy's own transaction, before it commits: a copy that fails it is
    // rolled back with everything else (the database stays empty). pki.yaml is switched last, still before COMMIT,
    // so that a pki.yaml that cannot be written leaves the database empty too; a COMMIT that fails puts it back.
    const original = fs.readFileSync(config.file);
    const originalMode = fs.statSync(config.file).mode & 0o777;
    let switched = false;
    const target: Store = await openStore(config, deps, { url: input.to, setting: 'input.to' });
    let counts: Record<string, number>;
    try {
      if (!target.loadTables) throw new PkiError('INTERNAL_STORE', 'the target store cannot load rows');
      counts = await target.loadTables(rowsOf, async () => {
        const rows = await target.auditLog();
        const problems: string[] = [];
        const brokenCopy = verifyAuditChain(rows);
        if (brokenCopy) problems.push(`the audit chain breaks at row #${brokenCopy.seq}: ${brokenCopy.reason}`);
        if (rows.length !== sourceAudit.length || rows.at(-1)?.hash !== sourceAudit.at(-1)?.hash) problems.push('the audit head differs from the source');
        problems.push(...(await crossCheckAudit({ ...ws, store: target }, rows)));
        if (problems.length)
          throw new PkiError('STATE_MIGRATION_MISMATCH', `the copy in ${shown} fails pki audit verify: ${problems.slice(0, 3).join('; ')}; nothing was committed and ${config.file} was not changed`, { details: { problems } });
        // Verified: switch pki.yaml to the new store (comments and other settings kept).
        const doc = parseDocument(original.toString('utf8'));
        doc.setIn(['store', 'url'], input.to);
        doc.deleteIn(['store', 'sqlite']);
        writeFileAtomic(config.file, doc.toString(), { force: true, flag: 'config', mode: redactUrl(input.to) !== input.to ? 0o600 : 0o644 });
        switched = true;
      });
    } catch (e) {
      // The COMMIT failed after pki.yaml was switched: pki.yaml names the SQLite store again.
      if (switched) writeFileAtomic(config.file, original, { force: true, flag: 'config', mode: originalMode });
      throw e;
    } finally {
      await target.close();
    }

    return {
      dir: config.dir,
      from: config.store.sqlite,
      to: shown,
      tables: COPY_TABLES.map((t) => ({ table: t.name, rows: counts[t.name] ?? 0 })),
      keysMoved: [...keys.values()].map((k) => k.file),
      auditRows: sourceAudit.length,
      auditHead: sourceAudit.at(-1) ? `${sourceAudit.at(-1)!.seq}:${sourceAudit.at(-1)!.hash}` : null,
    };
  });
}
