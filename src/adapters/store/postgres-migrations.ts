/**
 * The PostgreSQL schema: the same numbered migrations as the SQLite store (migrations.ts), same versions and names,
 * written for PostgreSQL. Append only; a version added to one list is added to the other (a unit test compares them).
 *
 * Columns keep SQLite's types where the adapters share row mappers (rows.ts): times are BIGINT seconds (milliseconds
 * for leases), flags INTEGER 0/1, DER BYTEA. Serials and names use the "C" collation so that they sort in byte order
 * as in SQLite (CRL entries are streamed in serial order).
 */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE ca (
  id SERIAL PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES ca(id),
  status TEXT NOT NULL CHECK (status IN ('active', 'pending')),
  subject TEXT NOT NULL,
  cert_der BYTEA,
  csr_der BYTEA,
  external_chain_pem TEXT,
  key_path TEXT NOT NULL,
  key_type TEXT NOT NULL,
  key_encrypted INTEGER NOT NULL,
  serial TEXT COLLATE "C",
  not_before BIGINT,
  not_after BIGINT,
  revocation_epoch BIGINT NOT NULL DEFAULT 0,
  revocation_count BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE TABLE certificate (
  id BIGSERIAL PRIMARY KEY,
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  serial TEXT COLLATE "C" NOT NULL,
  subject TEXT NOT NULL,
  sans TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  profile TEXT NOT NULL,
  is_ca INTEGER NOT NULL,
  der BYTEA NOT NULL,
  requested_by TEXT NOT NULL,
  source TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (issuer_id, serial)
);
CREATE INDEX certificate_serial ON certificate(serial);
CREATE INDEX certificate_not_after ON certificate(issuer_id, not_after);
CREATE TABLE revocation (
  issuer_id INTEGER NOT NULL,
  serial TEXT COLLATE "C" NOT NULL,
  reason INTEGER NOT NULL,
  revoked_at BIGINT NOT NULL,
  invalidity_date BIGINT,
  cert_not_after BIGINT NOT NULL,
  entry_der BYTEA NOT NULL,
  entry_der_no_reason BYTEA,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (issuer_id, serial),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificate(issuer_id, serial)
);
CREATE FUNCTION pki_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0];
END $$;
CREATE TRIGGER revocation_no_update BEFORE UPDATE OR DELETE ON revocation FOR EACH ROW EXECUTE FUNCTION pki_refuse_change('revocations are permanent');
CREATE TABLE crl (
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  crl_number BIGINT NOT NULL,
  this_update BIGINT NOT NULL,
  next_update BIGINT NOT NULL,
  entries BIGINT NOT NULL,
  pruned BIGINT NOT NULL,
  reasons INTEGER NOT NULL,
  der_size BIGINT NOT NULL,
  pem_size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  revocation_epoch BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (issuer_id, crl_number)
);
CREATE TABLE crl_chunk (
  issuer_id INTEGER NOT NULL,
  crl_number BIGINT NOT NULL,
  seq INTEGER NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (issuer_id, crl_number, seq)
);
CREATE TABLE anchor (
  name TEXT COLLATE "C" PRIMARY KEY,
  arn TEXT NOT NULL,
  trust_anchor_id TEXT NOT NULL,
  region TEXT NOT NULL,
  ca_names TEXT NOT NULL,
  bundle_sha256 TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE published_crl (
  anchor_name TEXT COLLATE "C" NOT NULL REFERENCES anchor(name),
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  crl_id TEXT NOT NULL,
  crl_arn TEXT NOT NULL,
  crl_number BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  published_at BIGINT NOT NULL,
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
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION pki_refuse_change('audit rows are append-only');
`,
  },
  {
    version: 2,
    name: 'CA rotation',
    sql: `
CREATE TABLE rotation (
  id SERIAL PRIMARY KEY,
  anchor_name TEXT COLLATE "C" NOT NULL REFERENCES anchor(name),
  old_ca_id INTEGER NOT NULL REFERENCES ca(id),
  new_ca_id INTEGER NOT NULL REFERENCES ca(id),
  anchor_change INTEGER NOT NULL,
  bundle_before TEXT NOT NULL,
  phase TEXT NOT NULL CHECK (phase IN ('starting', 'started', 'switched', 'finishing', 'finished', 'aborting', 'aborted')),
  started_at BIGINT NOT NULL,
  switched_at BIGINT,
  ended_at BIGINT,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX rotation_one_open ON rotation(anchor_name) WHERE phase NOT IN ('finished', 'aborted');
`,
  },
  {
    version: 3,
    name: 'CA lifecycle states; key paths relative to the PKI directory',
    // Key paths were stored relative to the PKI directory from the first PostgreSQL release: only the states change.
    sql: `
ALTER TABLE ca DROP CONSTRAINT ca_status_check;
ALTER TABLE ca ADD CONSTRAINT ca_status_check CHECK (status IN ('active', 'pending', 'revoked', 'retired'));
ALTER TABLE ca ADD COLUMN retired_at BIGINT;
`,
  },
  {
    version: 4,
    name: 'batch issuance runs (issue --batch --resume)',
    sql: `
CREATE TABLE issue_batch (
  id SERIAL PRIMARY KEY,
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  csr_dir TEXT NOT NULL,
  out_dir TEXT NOT NULL,
  total INTEGER NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX issue_batch_dirs ON issue_batch(issuer_id, csr_dir, out_dir);
CREATE TABLE issue_batch_item (
  batch_id INTEGER NOT NULL REFERENCES issue_batch(id),
  file TEXT COLLATE "C" NOT NULL,
  csr_sha256 TEXT NOT NULL,
  issuer_id INTEGER NOT NULL,
  serial TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (batch_id, file),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificate(issuer_id, serial)
);
`,
  },
  {
    version: 5,
    name: 'imported CA history',
    sql: `
CREATE TABLE ca_history (
  ca_id INTEGER PRIMARY KEY REFERENCES ca(id),
  tool TEXT NOT NULL,
  next_crl_number BIGINT,
  crl_number_source TEXT,
  certificates BIGINT NOT NULL,
  known_serials BIGINT NOT NULL,
  revocations BIGINT NOT NULL,
  imported_at BIGINT NOT NULL
);
`,
  },
  {
    version: 6,
    name: 'trust-anchor leases',
    sql: `
CREATE TABLE anchor_lease (
  anchor_name TEXT COLLATE "C" PRIMARY KEY,
  holder TEXT NOT NULL,
  acquired_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
`,
  },
  {
    version: 7,
    name: 'publishing targets (account/region pairs)',
    sql: `
CREATE TABLE target (
  name TEXT COLLATE "C" PRIMARY KEY,
  region TEXT NOT NULL,
  account TEXT,
  aws_profile TEXT,
  role_arn TEXT,
  endpoint TEXT,
  created_at BIGINT NOT NULL
);
ALTER TABLE anchor ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE anchor ADD COLUMN anchor_name TEXT;
`,
  },
  {
    version: 8,
    name: 'CRL number reservations',
    sql: `
CREATE TABLE crl_reservation (
  issuer_id INTEGER NOT NULL REFERENCES ca(id),
  crl_number BIGINT NOT NULL,
  reserved_at BIGINT NOT NULL,
  PRIMARY KEY (issuer_id, crl_number)
);
`,
  },
  {
    version: 9,
    name: 'CA keys kept in the store',
    sql: `
CREATE TABLE ca_key (
  ca_id INTEGER PRIMARY KEY REFERENCES ca(id),
  pem BYTEA NOT NULL
);
`,
  },
];
