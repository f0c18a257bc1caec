/**
 * The emulator's state: the resources it was sent (trust anchors, CRLs, profiles), kept in Maps so that no id (not
 * even "__proto__" or "constructor") reaches an object's prototype, and their JSON form (the state file, GET
 * /_emulator/state, Emulator.state()).
 */
import * as fs from 'node:fs';
import { PkiError } from '../errors.js';
import { readInput, writeFileAtomic } from '../fs/files.js';

/**
 * The largest state file read: 50 trust anchors with their bundles, their CRLs (each at most 300,000 bytes of PEM,
 * base64 in the file) and profiles fit in a small fraction of it.
 */
export const MAX_STATE_FILE_BYTES = 256 * 1024 * 1024;
import type { AttributeMappings } from '../domain/session.js';
import { ServiceError } from './rules.js';

export interface TrustAnchor {
  trustAnchorId: string;
  trustAnchorArn: string;
  name: string;
  source: { sourceType: string; sourceData: { x509CertificateData: string } };
  enabled: boolean;
  notificationSettings: unknown[];
  createdAt: string;
  updatedAt: string;
  tags: Array<{ key: string; value: string }>;
}

export interface Crl {
  crlId: string;
  crlArn: string;
  name: string;
  /** base64 of the PEM bytes, as on the wire. */
  crlData: string;
  enabled: boolean;
  trustAnchorArn: string;
  createdAt: string;
  updatedAt: string;
  tags: Array<{ key: string; value: string }>;
}

export interface Profile {
  profileId: string;
  profileArn: string;
  name: string;
  roleArns: string[];
  managedPolicyArns: string[];
  sessionPolicy?: string;
  durationSeconds: number;
  requireInstanceProperties: boolean;
  acceptRoleSessionName: boolean;
  enabled: boolean;
  /** Certificate attribute mappings (§6.3); absent in state files from before they existed: the defaults. */
  attributeMappings?: AttributeMappings;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  tags: Array<{ key: string; value: string }>;
}

export interface EmulatorState {
  trustAnchors: Record<string, TrustAnchor>;
  crls: Record<string, Crl>;
  profiles: Record<string, Profile>;
}

/** The state in memory: Maps, so that no id (not even "__proto__" or "constructor") reaches an object's prototype. */
export interface ResourceStore {
  trustAnchors: Map<string, TrustAnchor>;
  crls: Map<string, Crl>;
  profiles: Map<string, Profile>;
}

const ID_FIELD = { trustAnchors: 'trustAnchorId', crls: 'crlId', profiles: 'profileId' } as const;

/** Reads the state file (none, or a missing file: empty); `label` names the file's option in errors. */
export function loadState(file: string | undefined, label: string): ResourceStore {
  const store: ResourceStore = { trustAnchors: new Map(), crls: new Map(), profiles: new Map() };
  if (!file || !fs.existsSync(file)) return store;
  const bad = (why: string): PkiError => new PkiError('IO_EMULATOR_STATE', `${label} ${file} is not an emulator state file: ${why}`, { details: { file } });
  let s: unknown;
  try {
    s = JSON.parse(readInput(file, label, MAX_STATE_FILE_BYTES, 'emulator state file').toString('utf8'));
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw bad('not a JSON object');
  for (const kind of ['trustAnchors', 'crls', 'profiles'] as const) {
    const section = (s as Record<string, unknown>)[kind];
    if (section === undefined) continue;
    if (typeof section !== 'object' || section === null || Array.isArray(section)) throw bad(`${kind} is not an object`);
    // JSON.parse makes "__proto__" an own key, so Object.entries sees it; it must then be a resource with that id.
    for (const [id, r] of Object.entries(section)) {
      if (typeof r !== 'object' || r === null || (r as Record<string, unknown>)[ID_FIELD[kind]] !== id) throw bad(`${kind}.${id} is not a resource whose ${ID_FIELD[kind]} is ${id}`);
      (store[kind] as Map<string, unknown>).set(id, r);
    }
  }
  return store;
}

/** The JSON shape of the state (file, GET /_emulator/state, Emulator.state()). */
export const snapshot = (store: ResourceStore): EmulatorState => ({
  trustAnchors: Object.fromEntries(store.trustAnchors),
  crls: Object.fromEntries(store.crls),
  profiles: Object.fromEntries(store.profiles),
});

/** Writes the state file after a change (nothing without one). */
export function saveState(file: string | undefined, store: ResourceStore, label: string): void {
  if (file) writeFileAtomic(file, JSON.stringify(snapshot(store), null, 2), { force: true, flag: label, mode: 0o600 });
}

/** A resource by id, or ResourceNotFoundException naming what was looked for. */
export function find<T>(collection: Map<string, T>, id: string, what: string): T {
  const r = collection.get(id);
  if (!r) throw new ServiceError('ResourceNotFoundException', 404, `Resource not found: ${what} ${id}`);
  return r;
}

/** What the API returns for a resource: everything but its tags (those come from ListTagsForResource). */
export function view<T extends { tags: unknown }>(r: T): Omit<T, 'tags'> {
  const { tags: _tags, ...rest } = r;
  return rest;
}
