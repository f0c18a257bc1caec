/** Numbered schema migrations. Append only: never edit a migration that has shipped. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
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
    version: 4,
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
];
