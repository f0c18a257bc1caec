/**
 * One store connection, one transaction at a time. A transaction whose body awaits (CRL generation signs and
 * streams; an import reads files; `Store.transaction`) must not see another store call run on its connection in
 * between: such a call would join the open transaction. The gate queues every other call until the transaction
 * settles; calls made from inside the transaction's own body (the same async context) go straight through.
 *
 * Inside a transaction, a nested awaited transaction is a savepoint ({@link ConnectionGate.nested}). Savepoints are a
 * stack on the connection, so nested transactions started side by side from one body (Promise.all) run one after
 * the other, and a call from the body waits while a savepoint opened beside it is open (it would land in it).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { PkiError } from '../../errors.js';

export class ConnectionGate {
  private busy: Promise<void> | null = null;
  /** The savepoint depth of the caller's async context inside the running exclusive section (0: its body). */
  private readonly depth = new AsyncLocalStorage<number>();
  /** How many savepoints are open on the connection now. */
  private open = 0;
  private waiters: Array<() => void> = [];

  /** True inside the body of the running exclusive section. */
  get inside(): boolean {
    return this.depth.getStore() !== undefined;
  }

  /**
   * Resolves once no exclusive section (other than the caller's own) is running; inside one, once no savepoint
   * opened beside the caller's (by another branch of the same body) is open.
   */
  async idle(): Promise<void> {
    const mine = this.depth.getStore();
    if (mine !== undefined) {
      while (this.open > mine) await new Promise<void>((r) => this.waiters.push(r));
      return;
    }
    while (this.busy) await this.busy;
  }

  /**
   * Runs `fn` alone on the connection: later callers wait until it settles. With `settle`, `fn` starts only after
   * the calls that found the connection free just before (their `idle()` resolved, their continuation not yet run)
   * have run their synchronous part: a synchronous adapter (SQLite, in-memory) would otherwise run such a call inside
   * the transaction `fn` opens, so that it commits or rolls back with it.
   */
  async exclusive<T>(fn: () => Promise<T>, opts: { settle?: boolean } = {}): Promise<T> {
    if (this.inside) throw new PkiError('INTERNAL_NESTED_TRANSACTION', 'a store transaction was opened inside another one on the same connection');
    while (this.busy) await this.busy;
    let release!: () => void;
    this.busy = new Promise<void>((r) => (release = r));
    try {
      // A macrotask: every pending continuation (a microtask) runs first.
      if (opts.settle) await new Promise<void>((r) => setImmediate(r));
      this.open = 0;
      return await this.depth.run(0, fn);
    } finally {
      this.busy = null;
      release();
    }
  }

  /**
   * Runs `fn` (which opens a savepoint, runs the nested body and releases or rolls back to it) one level below the
   * caller, inside the running exclusive section. Waits first while a savepoint opened by another branch of the
   * same body is open (savepoints nest; they cannot interleave).
   */
  async nested<T>(fn: () => Promise<T>): Promise<T> {
    const mine = this.depth.getStore();
    if (mine === undefined) throw new PkiError('INTERNAL_NESTED_TRANSACTION', 'a savepoint was asked for outside a transaction');
    while (this.open > mine) await new Promise<void>((r) => this.waiters.push(r));
    this.open = mine + 1;
    try {
      return await this.depth.run(mine + 1, fn);
    } finally {
      this.open = mine;
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    }
  }
}
