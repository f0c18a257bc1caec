/**
 * The `tx` handed to a `Store.transaction` body (src/ports.ts StoreTransaction): the store's repositories, refused
 * once the transaction has settled (a call then would run outside it, on its own). The adapter runs the body in its
 * transaction's async context, so a call through `tx` joins the transaction like any call made from the body.
 */
import { PkiError } from '../../errors.js';
import type { Store, StoreTransaction } from '../../ports.js';

/** Whole-store operations: not part of a transaction. */
const CONNECTION_ONLY = new Set<PropertyKey>(['close', 'caKey', 'dumpTable', 'loadTables', 'backupTo', 'integrityCheck']);

/** Runs `body` with a `tx` bound to `store` that refuses every call once `body` has settled. */
export async function withBoundTransaction<T>(store: Store, body: (tx: StoreTransaction) => Promise<T>): Promise<T> {
  let open = true;
  const tx = new Proxy(store, {
    get(target, prop) {
      if (CONNECTION_ONLY.has(prop)) return undefined;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        open
          ? (value as (...a: unknown[]) => unknown).apply(target, args)
          : Promise.reject(new PkiError('INTERNAL_TRANSACTION_ENDED', `store call ${String(prop)} through a transaction that has already ended`));
    },
  }) as unknown as StoreTransaction;
  try {
    return await body(tx);
  } finally {
    open = false;
  }
}
