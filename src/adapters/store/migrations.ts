/** Numbered schema migrations. Append only: never edit a migration that has shipped. */
import type Database from 'better-sqlite3';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { existsSync } from 'node:fs';

/** Where the store lives: what a migration that rewrites file paths needs to know. */
export interface MigrationContext {
  /** The PKI directory (key paths are stored relative to it). */
  baseDir: string;
  /** This PKI's key directory. */
  keysDir: string;
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Runs after `sql`, in the same transaction. */
  run?: (db: Database.Database, ctx: MigrationContext) => void;
  /**
   * The migration rebuilds a table that others reference (SQLite's documented 12-step ALTER): foreign keys are
   * switched off around its transaction and `PRAGMA foreign_key_check` must come back empty before it commits.
   */
  rebuildsTables?: boolean;
}

/**
 * The form a CA key path is stored in: relative to the PKI directory when the file is inside it (so that a PKI
 * directory that is moved, copied or restored elsewhere uses its own keys), else absolute as configured.
 */
export function storedKeyPath(baseDir: string, keyPath: string): string {
  if (!isAbsolute(keyPath)) return keyPath;
  const rel = relative(baseDir, keyPath);
  return rel && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : keyPath;
}

/**
 * Migration 3's rewrite of one stored key path. A path inside the PKI directory becomes relative. An absolute path
 * outside it that is the same file name in another PKI directory's key directory (one holding a pki.yaml: the
 * directory this one was copied or restored from), or whose file name exists in this PKI's own key directory, is
 * pointed at this PKI's key directory: a copy must never use the original's keys (if the copy lacks the file,
 * unlocking the CA fails naming the missing file). Any other path (a key directory configured outside the PKI
 * directory) is kept.
 */
export function migratedKeyPath(ctx: MigrationContext, keyPath: string): string {
  const stored = storedKeyPath(ctx.baseDir, keyPath);
  if (!isAbsolute(stored)) return stored;
  const local = join(ctx.keysDir, basename(stored));
  if (local === stored) return stored;
  const keysRel = relative(ctx.baseDir, ctx.keysDir);
  // The directory `stored` would belong to if it sits in a PKI directory's key directory (e.g. /old/pki for /old/pki/keys/x).
  let otherPkiDir: string | undefined;
  if (keysRel && !keysRel.startsWith('..') && !isAbsolute(keysRel) && dirname(stored).endsWith(sep + keysRel)) otherPkiDir = dirname(stored).slice(0, -(keysRel.length + 1));
  const fromOtherPki = otherPkiDir !== undefined && existsSync(join(otherPkiDir, 'pki.yaml'));
  return fromOtherPki || existsSync(local) ? storedKeyPath(ctx.baseDir, local) : stored;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE ca (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES ca(id),
  status TEXT NOT NULL CHECK (status IN ('active', 'pending')),
  subject TEXT NOT NULL,
  cert_der BLOB,
  csr_der BLOB,
  external_chain_pem TEXT,
  key_path TEXT NOT NULL,
  key_type TEXT NOT NULL,
  key_encrypted INTEGER NOT NULL,
  serial TEXT,
  not_before INTEGER,
  not_after INTEGER,
  -- Bumped by every revocation of a certificate this CA issued: a CRL records the value it was made at, so
  -- "nothing was revoked since the last CRL" is one comparison.
  revocation_epoch INTEGER NOT NULL DEFAULT 0,
  -- How many certificates this CA has revoked (a CRL's "pruned" count is this minus its entries).
  revocation_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);

CREATE TABLE certificate (
  id INTEGER PRIMARY KEY,
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  serial TEXT NOT NULL,
  subject TEXT NOT NULL,
  sans TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  profile TEXT NOT NULL,
  is_ca INTEGER NOT NULL,
  der BLOB NOT NULL,
  requested_by TEXT NOT NULL,
  source TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (issuer_id, serial)
);
CREATE INDEX certificate_serial ON certificate(serial);
CREATE INDEX certificate_not_after ON certificate(issuer_id, not_after);

-- Revocations are permanent. Each row keeps its CRL entry already encoded (with and, when it differs, without the
-- reason code) and the certificate's notAfter, so a CRL is streamed from this table alone.
CREATE TABLE revocation (
  issuer_id INTEGER NOT NULL,
  serial TEXT NOT NULL,
  reason INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL,
  invalidity_date INTEGER,
  cert_not_after INTEGER NOT NULL,
  entry_der BLOB NOT NULL,
  entry_der_no_reason BLOB,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (issuer_id, serial),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificate(issuer_id, serial)
) WITHOUT ROWID;
CREATE TRIGGER revocation_no_update BEFORE UPDATE ON revocation BEGIN SELECT RAISE(ABORT, 'revocations are permanent'); END;
CREATE TRIGGER revocation_no_delete BEFORE DELETE ON revocation BEGIN SELECT RAISE(ABORT, 'revocations are permanent'); END;

CREATE TABLE crl (
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  crl_number INTEGER NOT NULL,
  this_update INTEGER NOT NULL,
  next_update INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  pruned INTEGER NOT NULL,
  reasons INTEGER NOT NULL,
  der_size INTEGER NOT NULL,
  pem_size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  revocation_epoch INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (issuer_id, crl_number)
) WITHOUT ROWID;
-- The DER of every CRL, in chunks (a 1M-entry CRL is 35 MB; chunks keep memory flat).
CREATE TABLE crl_chunk (
  issuer_id INTEGER NOT NULL,
  crl_number INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (issuer_id, crl_number, seq)
) WITHOUT ROWID;

-- Roles Anywhere trust anchors this PKI publishes to, and the CRL each issuer has there.
CREATE TABLE anchor (
  name TEXT PRIMARY KEY,
  arn TEXT NOT NULL,
  trust_anchor_id TEXT NOT NULL,
  region TEXT NOT NULL,
  ca_names TEXT NOT NULL,
  bundle_sha256 TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE published_crl (
  anchor_name TEXT NOT NULL REFERENCES anchor(name),
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  crl_id TEXT NOT NULL,
  crl_arn TEXT NOT NULL,
  crl_number INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  PRIMARY KEY (anchor_name, issuer_id)
);

CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
`,
  },
  {
    version: 2,
    name: 'CA rotation',
    sql: `
-- Two-certificate CA rotations on a trust anchor (pki rotate). A phase ending in -ing is a step that was begun and
-- not yet completed: re-running that step reconciles with the service and completes it.
CREATE TABLE rotation (
  id INTEGER PRIMARY KEY,
  anchor_name TEXT NOT NULL REFERENCES anchor(name),
  old_ca_id INTEGER NOT NULL REFERENCES ca(id),
  new_ca_id INTEGER NOT NULL REFERENCES ca(id),
  anchor_change INTEGER NOT NULL,
  bundle_before TEXT NOT NULL,
  phase TEXT NOT NULL CHECK (phase IN ('starting', 'started', 'switched', 'finishing', 'finished', 'aborting', 'aborted')),
  started_at INTEGER NOT NULL,
  switched_at INTEGER,
  ended_at INTEGER,
  updated_at INTEGER NOT NULL
);
-- At most one rotation in progress per trust anchor.
CREATE UNIQUE INDEX rotation_one_open ON rotation(anchor_name) WHERE phase NOT IN ('finished', 'aborted');
`,
  },
  {
    version: 3,
    name: 'CA lifecycle states; key paths relative to the PKI directory',
    rebuildsTables: true,
    sql: `
-- status gains 'revoked' and 'retired' (a CHECK constraint cannot be altered: the table is rebuilt, ids kept).
CREATE TABLE ca_v3 (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES ca(id),
  status TEXT NOT NULL CHECK (status IN ('active', 'pending', 'revoked', 'retired')),
  subject TEXT NOT NULL,
  cert_der BLOB,
  csr_der BLOB,
  external_chain_pem TEXT,
  -- Relative to the PKI directory when the key file is inside it.
  key_path TEXT NOT NULL,
  key_type TEXT NOT NULL,
  key_encrypted INTEGER NOT NULL,
  serial TEXT,
  not_before INTEGER,
  not_after INTEGER,
  revocation_epoch INTEGER NOT NULL DEFAULT 0,
  revocation_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
);
INSERT INTO ca_v3 (id, name, parent_id, status, subject, cert_der, csr_der, external_chain_pem, key_path, key_type, key_encrypted, serial, not_before, not_after, revocation_epoch, revocation_count, created_at)
  SELECT id, name, parent_id, status, subject, cert_der, csr_der, external_chain_pem, key_path, key_type, key_encrypted, serial, not_before, not_after, revocation_epoch, revocation_count, created_at FROM ca;
DROP TABLE ca;
ALTER TABLE ca_v3 RENAME TO ca;
-- A CA whose own certificate its parent revoked.
UPDATE ca SET status = 'revoked'
  WHERE status = 'active' AND parent_id IS NOT NULL AND serial IS NOT NULL
    AND EXISTS (SELECT 1 FROM revocation r WHERE r.issuer_id = ca.parent_id AND r.serial = ca.serial);
-- The old CA of a finished rotation (rotations finished before this release).
UPDATE ca SET status = 'retired', retired_at = (SELECT MAX(ended_at) FROM rotation r WHERE r.old_ca_id = ca.id AND r.phase = 'finished')
  WHERE status = 'active' AND id IN (SELECT old_ca_id FROM rotation WHERE phase = 'finished');
`,
    run(db, ctx) {
      const update = db.prepare('UPDATE ca SET key_path = ? WHERE id = ?');
      for (const row of db.prepare('SELECT id, key_path FROM ca').all() as Array<{ id: number; key_path: string }>) {
        const next = migratedKeyPath(ctx, row.key_path);
        if (next !== row.key_path) update.run(next, row.id);
      }
    },
  },
  {
    version: 4,
    name: 'batch issuance runs (issue --batch --resume)',
    sql: `
-- One row per pki issue --batch run: which CSR directory into which output directory, and whether it finished.
-- An unfinished row is a batch that was interrupted (signal, crash, kill): --resume completes it.
CREATE TABLE issue_batch (
  id INTEGER PRIMARY KEY,
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  csr_dir TEXT NOT NULL,
  out_dir TEXT NOT NULL,
  total INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX issue_batch_dirs ON issue_batch(issuer_id, csr_dir, out_dir);
-- Which CSR file (name in csr_dir, and the SHA-256 of its bytes) each certificate of a batch was issued for;
-- written in the transaction that records the certificate.
CREATE TABLE issue_batch_item (
  batch_id INTEGER NOT NULL REFERENCES issue_batch(id),
  file TEXT NOT NULL,
  csr_sha256 TEXT NOT NULL,
  issuer_id INTEGER NOT NULL,
  serial TEXT NOT NULL,
  PRIMARY KEY (batch_id, file),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificate(issuer_id, serial)
) WITHOUT ROWID;
`,
  },
  {
    version: 5,
    name: 'imported CA history',
    sql: `
-- A CA brought across from another tool (pki import openssl-ca | easy-rsa | cfssl) with what it issued and revoked.
-- next_crl_number is the lowest CRL Number pki's first CRL for the CA may carry (above the old tool's last one);
-- NULL when the old tool's CRL history is unknown: crl generate then refuses until told (never a silent reset).
-- Certificates known only from the old tool's index (no certificate file) are rows of certificate with an empty der.
CREATE TABLE ca_history (
  ca_id INTEGER PRIMARY KEY REFERENCES ca(id),
  tool TEXT NOT NULL,
  next_crl_number INTEGER,
  crl_number_source TEXT,
  certificates INTEGER NOT NULL,
  known_serials INTEGER NOT NULL,
  revocations INTEGER NOT NULL,
  imported_at INTEGER NOT NULL
);
`,
  },
  {
    version: 6,
    name: 'trust-anchor leases',
    sql: `
-- One writer per trust anchor (pki crl publish, pki anchor push, pki rotate): a lease that expires, so a process
-- killed while holding it (kill -9) blocks others only until expires_at (milliseconds since the epoch).
CREATE TABLE IF NOT EXISTS anchor_lease (
  anchor_name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  acquired_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
`,
  },
  {
    version: 7,
    name: 'publishing targets (account/region pairs)',
    sql: `
-- Where trust anchors and CRLs are published: an account/region pair and how to reach it (an AWS shared-config
-- profile, a role to assume, or an endpoint). pki target add | list | remove.
CREATE TABLE IF NOT EXISTS target (
  name TEXT PRIMARY KEY,
  region TEXT NOT NULL,
  account TEXT,
  aws_profile TEXT,
  role_arn TEXT,
  endpoint TEXT,
  created_at INTEGER NOT NULL
);
-- Anchor records per target: an anchor pushed to target T is recorded under "NAME@T" (its CRLs and its lease are
-- then per target too); an existing record (no target: the region and endpoint given on the command line) keeps its
-- name and target '' (the implicit target). anchor_name is the trust anchor's own name on the service.
ALTER TABLE anchor ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE anchor ADD COLUMN anchor_name TEXT;
UPDATE anchor SET anchor_name = name WHERE anchor_name IS NULL;
`,
  },
  {
    version: 8,
    name: 'CRL number reservations',
    sql: `
-- crl generate reserves its CRL Number in a first transaction (with the checks and the TBS), signs outside any
-- transaction (a key store may sign asynchronously), and records the signed CRL in a second one. A run that dies in
-- between leaves its reservation and no CRL: the number is skipped (a gap), never used twice.
CREATE TABLE IF NOT EXISTS crl_reservation (
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  crl_number INTEGER NOT NULL,
  reserved_at INTEGER NOT NULL,
  PRIMARY KEY (issuer_id, crl_number)
) WITHOUT ROWID;
`,
  },
  {
    version: 9,
    name: 'CA keys kept in the store',
    sql: `
-- A CA key kept in the store itself (its encrypted PKCS#8 PEM; key reference store:NAME): every CA node of a shared
-- store reads it from here and unlocks it with the operators' passphrase. Keys in files or an HSM have no row here.
CREATE TABLE IF NOT EXISTS ca_key (
  ca_id INTEGER PRIMARY KEY REFERENCES ca(id),
  pem BLOB NOT NULL
);
`,
  },
];
