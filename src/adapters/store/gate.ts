/**
 * One store connection, one transaction at a time. A transaction whose body awaits (CRL generation signs and
 * streams; an import reads files) must not see another store call run on its connection in between: such a call
 * would join the open transaction. The gate queues every other call until the transaction settles; calls made from
 * inside the transaction's own body (the same async context) go straight through.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { PkiError } from '../../errors.js';

export class ConnectionGate {
  private busy: Promise<void> | null = null;
  private readonly owner = new AsyncLocalStorage<boolean>();

  /** True inside the body of the running exclusive section. */
  get inside(): boolean {
    return this.owner.getStore() === true;
  }

  /** Resolves once no exclusive section (other than the caller's own) is running. */
  async idle(): Promise<void> {
    while (this.busy && !this.inside) await this.busy;
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
      return await this.owner.run(true, fn);
    } finally {
      this.busy = null;
      release();
    }
  }
}
