/**
 * The default {@link StoreFactory}: a store URL chooses the adapter. A path or `sqlite:PATH` opens the SQLite file
 * (src/store/sqlite.ts); `postgres://` or `postgresql://` the PostgreSQL database (src/store/postgres.ts, loaded only
 * then, so SQLite users never load the PostgreSQL driver); `memory:NAME` an in-memory database of this process
 * (src/store/memory.ts: not durable, for tests and library users; created only with `create`, and gone when the
 * process ends, so another process never finds it; pki init accepts only postgres:// and sqlite: URLs).
 */
import { existsSync } from 'node:fs';
import { PkiError } from '../../errors.js';
import type { Store, StoreFactory } from '../../ports.js';
import { SqliteStore } from './sqlite.js';
import { keepKeysInStore } from './shared-keys.js';
import { memoryName, sqlitePath, storeKind } from './url.js';

export const defaultStoreFactory: StoreFactory = {
  async open(url, where, opts): Promise<Store> {
    if (storeKind(url) === 'postgres') {
      const { PostgresStore } = await import('./postgres.js');
      // Shared by several CA nodes: new CA keys are kept in the store (shared-keys.ts).
      return keepKeysInStore(await PostgresStore.open(url, { baseDir: where.baseDir, keysDir: where.keysDir, env: opts.env }));
    }
    if (storeKind(url) === 'memory') {
      const { MemoryStore, memoryDatabase } = await import('./memory.js');
      const db = memoryDatabase(memoryName(url), opts.create);
      if (!db)
        throw new PkiError('NOT_FOUND_STORE', `the in-memory store ${url}${where.configFile ? ` named in ${where.configFile}` : ''} does not exist in this process (an in-memory store is not durable)`, {
          details: { store: url },
        });
      return MemoryStore.open(db, { baseDir: where.baseDir });
    }
    const file = sqlitePath(url, where.baseDir);
    if (!opts.create && !existsSync(file))
      throw new PkiError('NOT_FOUND_STORE', `the store ${file}${where.configFile ? ` named in ${where.configFile}` : ''} does not exist`, { details: { file } });
    return SqliteStore.open(file, opts.create, { baseDir: where.baseDir, keysDir: where.keysDir });
  },
};
