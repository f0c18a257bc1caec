/**
 * The default {@link StoreFactory}: a store URL chooses the adapter. A path or `sqlite:PATH` opens the SQLite file
 * (src/store/sqlite.ts); `postgres://` or `postgresql://` the PostgreSQL database (src/store/postgres.ts, loaded only
 * then, so SQLite users never load the PostgreSQL driver).
 */
import { existsSync } from 'node:fs';
import { PkiError } from '../errors.js';
import type { Store, StoreFactory } from '../ports.js';
import { SqliteStore } from './sqlite.js';
import { keepKeysInStore } from './shared-keys.js';
import { sqlitePath, storeKind } from './url.js';

export const defaultStoreFactory: StoreFactory = {
  async open(url, where, opts): Promise<Store> {
    if (storeKind(url) === 'postgres') {
      const { PostgresStore } = await import('./postgres.js');
      // Shared by several CA nodes: new CA keys are kept in the store (shared-keys.ts).
      return keepKeysInStore(await PostgresStore.open(url, { baseDir: where.baseDir, keysDir: where.keysDir, env: opts.env }));
    }
    const file = sqlitePath(url, where.baseDir);
    if (!opts.create && !existsSync(file))
      throw new PkiError('NOT_FOUND_STORE', `the store ${file}${where.configFile ? ` named in ${where.configFile}` : ''} does not exist`, { details: { file } });
    return SqliteStore.open(file, opts.create, { baseDir: where.baseDir, keysDir: where.keysDir });
  },
};
