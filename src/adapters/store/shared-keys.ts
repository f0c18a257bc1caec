/**
 * Keys kept in a shared store. On a store that several CA nodes share, a CA key written to a file on one node would be
 * out of reach of the others: the CA is recorded with its key in the store instead (its encrypted PKCS#8 PEM, the
 * reference `store:NAME`), in the same transaction as the CA row, and the file is removed once that commits. Keys
 * in an HSM (`pkcs11:`) or already in the store are recorded as they are.
 */
import * as fs from 'node:fs';
import { PkiError } from '../../errors.js';
import type { NewCa, Store } from '../../ports.js';

/** The key reference of a CA key kept in the store. */
export const storeKeyRef = (caName: string): string => `store:${caName}`;

export const isStoreKeyRef = (ref: string): boolean => /^store:/i.test(ref);

/** The CA a `store:NAME` reference names. */
export const storeKeyName = (ref: string): string => ref.replace(/^store:/i, '');

function intoStore(ca: NewCa): { ca: NewCa; file?: string } {
  if (ca.keyPem || isStoreKeyRef(ca.keyPath) || /^pkcs11:/i.test(ca.keyPath)) return { ca };
  const file = ca.keyPath.toLowerCase().startsWith('file:') ? new URL(ca.keyPath).pathname : ca.keyPath;
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (e) {
    throw new PkiError('IO_KEY_UNREADABLE', `cannot read CA ${ca.name}'s key ${file} to keep it in the shared store: ${(e as Error).message}`, { details: { ca: ca.name, file }, cause: e });
  }
  return { ca: { ...ca, keyPath: storeKeyRef(ca.name), keyPem: pem }, file };
}

/** `store` with new CA keys moved into it (see the file comment). */
export function keepKeysInStore(store: Store): Store {
  const createCa: Store['createCa'] = async (ca, certificate, audit, actor, at) => {
    const moved = intoStore(ca);
    const record = await store.createCa(moved.ca, certificate, audit, actor, at);
    if (moved.file) fs.rmSync(moved.file, { force: true });
    return record;
  };
  const importCaWithHistory: Store['importCaWithHistory'] = async (ca, entries, history, audit, actor, at) => {
    const moved = intoStore(ca);
    const result = await store.importCaWithHistory(moved.ca, entries, history, audit, actor, at);
    if (moved.file) fs.rmSync(moved.file, { force: true });
    return result;
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'createCa') return createCa;
      if (prop === 'importCaWithHistory') return importCaWithHistory;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
