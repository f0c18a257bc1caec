import { migrateStore } from '../../app/store-migrate.js';
import type { CommandDef, CommandGroup } from '../command.js';

const migrate: CommandDef = {
  command: 'migrate',
  describe: 'Move this PKI\'s SQLite store into an empty PostgreSQL database, verified row by row, then switch pki.yaml to it',
  examples: [
    ['pki store migrate --dir ./pki --to postgres://pki@db.example/pki?sslmode=verify-full', 'copy, verify, switch; other nodes then join with pki node join'],
    ['pki store migrate --dir ./pki --to postgresql://pki@127.0.0.1:5432/pki --json', 'rows per table, the keys moved into the store, the audit head'],
  ],
  notes:
    'Stop every other pki process on this PKI first (cron jobs, batch runs): a write during the copy is caught by the\n' +
    'verification and nothing is migrated. The copy is ONE transaction that inserts every row of every table (ids,\n' +
    'audit rows and hashes unchanged), reads every row back and compares it with the source, runs pki audit verify\n' +
    'on the copy and writes store.url to pki.yaml, all before it commits (a COMMIT that fails puts pki.yaml back).\n' +
    'Any failure leaves pki.yaml and the SQLite file as they were and the database empty. CA key files are moved into the store with their CA (the\n' +
    'encrypted PKCS#8 PEM as it is; key reference store:NAME) so that other nodes can use them with the passphrase;\n' +
    'pkcs11: keys stay where they are. The SQLite file and key files are left in place, no longer used: keep them as\n' +
    'a backup. Errors: USAGE_BAD_STORE_URL (exit 2: --to is no valid PostgreSQL URL), STATE_STORE_NOT_EMPTY,\n' +
    'STATE_MIGRATION_MISMATCH, STATE_AUDIT_BROKEN (exit 6), IO_KEY_UNREADABLE, IO_READ_FAILED (exit 8: a key file, or\n' +
    'an sslcert/sslkey/sslrootcert file named in the URL), STORE_UNAVAILABLE (exit 12).',
  builder: (y) => y.options({ to: { type: 'string', demandOption: true, describe: 'the empty PostgreSQL database: postgres://USER@HOST[:PORT]/DB[?sslmode=...]' } }),
  async run(a, { deps }) {
    const r = await migrateStore(deps, { dir: a.dir, to: a.to });
    return {
      kind: 'pki.store.migrate.result',
      data: r,
      text:
        `Moved ${r.from} to ${r.to}, verified row by row and by pki audit verify; pki.yaml now names the new store\n` +
        r.tables.filter((t) => t.rows).map((t) => `  ${t.table.padEnd(18)} ${t.rows} rows\n`).join('') +
        `  keys moved into the store: ${r.keysMoved.length}\n` +
        `  audit head ${r.auditHead ?? '(empty)'}\n` +
        `The SQLite file and key files are no longer used (keep them as a backup). Add nodes with: pki node join --dir DIR --store URL\n`,
    };
  },
};

export const storeGroup: CommandGroup = { command: 'store', describe: 'The store: migrate a SQLite store to a shared PostgreSQL database', subcommands: [migrate] };
