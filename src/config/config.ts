/** `pki.yaml`: the PKI directory's configuration. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PkiError } from '../errors.js';
import { readInput } from '../fs/files.js';
import { DEFAULT_PBKDF2_ITERATIONS } from '../crypto/keys.js';
import { parseYamlWithSchema, type Spec } from './schema.js';
import { CRL_DATA_MAX_BYTES } from '../domain/roles-anywhere.js';

export const CONFIG_FILE = 'pki.yaml';

export interface Config {
  /** Absolute PKI directory. */
  dir: string;
  file: string;
  /** `url`: the store's URL as written in pki.yaml (null: the SQLite file `sqlite`, the default). */
  store: { sqlite: string; url: string | null };
  keys: { dir: string; pbkdf2Iterations: number; pkcs11: { module?: string; pinSource?: string } };
  profilesDir: string;
  defaultProfile: string;
  crl: { nextUpdate: number; maxPemBytes: number; reasons: boolean };
}

/** IAM Roles Anywhere's crlData limit: 1-300,000 bytes of PEM (reference §3.2). */
export const ROLES_ANYWHERE_CRL_MAX_BYTES = CRL_DATA_MAX_BYTES;

export const CONFIG_SCHEMA: Spec = {
  type: 'object',
  fields: {
    version: { type: 'integer', min: 1, max: 1, required: true, description: 'configuration format version (1)' },
    store: {
      type: 'object',
      description: 'where CA state is kept',
      fields: {
        sqlite: { type: 'string', description: 'SQLite database file, relative to the PKI directory (default pki.db)' },
        url: {
          type: 'string',
          pattern: /^(postgres(ql)?:\/\/|sqlite:)/i,
          patternHelp: 'postgres://..., postgresql://... or sqlite:FILE',
          description: 'the store as a URL, instead of sqlite: postgres://USER@HOST:PORT/DB?sslmode=verify-full for PostgreSQL (several CA nodes; the password from PGPASSFILE or PGPASSWORD), or sqlite:FILE',
        },
      },
    },
    keys: {
      type: 'object',
      description: 'CA private key files',
      fields: {
        dir: { type: 'string', description: 'directory for CA key files (default keys)' },
        pbkdf2Iterations: { type: 'integer', min: 10_000, max: 100_000_000, description: `PBKDF2-HMAC-SHA256 iterations for new CA keys (default ${DEFAULT_PBKDF2_ITERATIONS})` },
        pkcs11: {
          type: 'object',
          description: 'defaults for CA keys on PKCS#11 tokens (pkcs11: URIs), used when a URI does not say',
          fields: {
            module: { type: 'string', description: 'PKCS#11 module (shared library) path, relative to the PKI directory or absolute (else $PKI_PKCS11_MODULE)' },
            pinSource: {
              type: 'string',
              pattern: /^(?:file:.+|env:[A-Za-z_][A-Za-z0-9_]*)$/,
              patternHelp: 'must be file:PATH (relative to the PKI directory) or env:NAME; never the PIN itself',
              secret: true,
              description: 'where the token user PIN comes from: file:PATH or env:NAME (else $PKI_PKCS11_PIN, else a prompt)',
            },
          },
        },
      },
    },
    crl: {
      type: 'object',
      description: 'CRL generation defaults',
      fields: {
        nextUpdate: { type: 'duration', description: 'how long a CRL is valid (nextUpdate - thisUpdate) when --next-update is not given (default 7d)' },
        maxPemBytes: {
          type: 'integer',
          min: 1000,
          max: 1_000_000_000,
          description: `size budget of a CRL in PEM bytes: warn from 80%, refuse above (default ${ROLES_ANYWHERE_CRL_MAX_BYTES}, the Roles Anywhere crlData limit)`,
        },
        reasons: { type: 'string', enum: ['include', 'omit'], description: 'include reason codes in CRL entries (default include)' },
      },
    },
    profiles: { type: 'object', description: 'certificate profiles', fields: { dir: { type: 'string', description: 'your own profiles, searched before the shipped ones (default profiles)' }, default: { type: 'string', description: 'profile for `pki issue` (default roles-anywhere-workload)' } } },
  },
};

/**
 * The pki.yaml `pki init` writes: `storeUrl` (a PostgreSQL URL) replaces the SQLite file; `pkcs11`: token defaults to
 * write under keys.pkcs11 (from `pki init --key-store`).
 */
export function defaultConfigText(pbkdf2Iterations = DEFAULT_PBKDF2_ITERATIONS, opts: { storeUrl?: string; pkcs11?: { module?: string; pinSource?: string } } = {}): string {
  const quote = (v: string) => JSON.stringify(v);
  const { storeUrl, pkcs11 = {} } = opts;
  return [
    '# pki configuration. Paths are relative to this directory.',
    'version: 1',
    'store:',
    // Only a PostgreSQL database is shared (pki node join refuses a SQLite file, which serves one machine).
    ...(storeUrl ? [`  url: ${JSON.stringify(storeUrl)}${/^postgres(ql)?:\/\//i.test(storeUrl) ? '   # shared with other CA nodes (pki node join)' : ''}`] : ['  sqlite: pki.db']),
    'keys:',
    '  dir: keys',
    `  pbkdf2Iterations: ${pbkdf2Iterations}`,
    ...(pkcs11.module || pkcs11.pinSource
      ? [
          '  pkcs11:                  # defaults for pkcs11: key references that do not name them',
          ...(pkcs11.module ? [`    module: ${quote(pkcs11.module)}`] : []),
          ...(pkcs11.pinSource ? [`    pinSource: ${quote(pkcs11.pinSource)}`] : []),
        ]
      : []),
    'profiles:',
    '  dir: profiles            # your own profiles; shipped ones are used when a name is not found here',
    '  default: roles-anywhere-workload',
    'crl:',
    '  nextUpdate: 7d',
    `  maxPemBytes: ${ROLES_ANYWHERE_CRL_MAX_BYTES}   # Roles Anywhere accepts CRLs of at most 300,000 bytes of PEM`,
    '  reasons: include',
    '',
  ].join('\n');
}

/** A `sqlite:FILE` URL is the same as `sqlite: FILE`; `url` stays set only for a PostgreSQL database. */
function storeOf(dir: string, sqlite: string | undefined, url: string | undefined): Config['store'] {
  if (url !== undefined && /^sqlite:/i.test(url)) return { sqlite: resolve(dir, url.replace(/^sqlite:(\/\/)?/i, '')), url: null };
  return { sqlite: resolve(dir, sqlite ?? 'pki.db'), url: url ?? null };
}

/** Loads `<dir>/pki.yaml`. Throws NOT_FOUND_PKI_DIR when the directory is not initialised. */
export function loadConfig(dirInput: string): Config {
  const dir = resolve(dirInput);
  const file = join(dir, CONFIG_FILE);
  if (!existsSync(file))
    throw new PkiError('NOT_FOUND_PKI_DIR', `${dir} is not a PKI directory (no ${CONFIG_FILE})`, {
      details: { dir },
      hint: 'run `pki init --dir DIR --subject "CN=..."` first, or pass --dir / set PKI_DIR',
    });
  let text: string;
  try {
    text = readInput(file, CONFIG_FILE).toString('utf8');
  } catch (e) {
    if (e instanceof PkiError && e.code === 'POLICY_INPUT_TOO_LARGE') throw e;
    throw new PkiError('IO_READ_FAILED', `cannot read ${file}: ${(e as Error).message}`, { details: { file }, cause: e });
  }
  const raw = parseYamlWithSchema(text, file, CONFIG_SCHEMA, 'CONFIG_INVALID') as Record<string, any>;
  return {
    dir,
    file,
    store: storeOf(dir, raw.store?.sqlite, raw.store?.url),
    keys: {
      dir: resolve(dir, raw.keys?.dir ?? 'keys'),
      pbkdf2Iterations: raw.keys?.pbkdf2Iterations ?? DEFAULT_PBKDF2_ITERATIONS,
      pkcs11: { ...(raw.keys?.pkcs11?.module ? { module: resolve(dir, raw.keys.pkcs11.module) } : {}), ...(raw.keys?.pkcs11?.pinSource ? { pinSource: raw.keys.pkcs11.pinSource } : {}) },
    },
    profilesDir: resolve(dir, raw.profiles?.dir ?? 'profiles'),
    defaultProfile: raw.profiles?.default ?? 'roles-anywhere-workload',
    crl: {
      nextUpdate: raw.crl?.nextUpdate ?? 7 * 86400,
      maxPemBytes: raw.crl?.maxPemBytes ?? ROLES_ANYWHERE_CRL_MAX_BYTES,
      reasons: (raw.crl?.reasons ?? 'include') === 'include',
    },
  };
}
