/** migration 7: publishing targets; anchor records of a store made before targets become the implicit target's. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/adapters/store/migrations.js';
import { SqliteStore } from '../../src/adapters/store/sqlite.js';
import { tempDir } from '../helpers.js';

describe('migration 7', () => {
  it('ok/an anchor recorded at schema 6 keeps its name, region and ARN and belongs to the implicit target', async () => {
    const dir = tempDir('pki-mig7-');
    const path = join(dir, 'pki.db');
    const db = new Database(path);
    db.exec('CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 6)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migration VALUES (?, ?, 0)').run(m.version, m.name);
    }
    db.prepare(`INSERT INTO anchor VALUES ('prod', 'arn:aws:rolesanywhere:eu-west-1:111122223333:trust-anchor/x', 'x', 'eu-west-1', '["root"]', 'h', 0)`).run();
    db.close();
    const store = SqliteStore.open(path, false, { baseDir: dir, keysDir: join(dir, 'keys') });
    try {
      expect(await store.getAnchor('prod')).toMatchObject({ name: 'prod', anchorName: 'prod', target: '', region: 'eu-west-1', arn: 'arn:aws:rolesanywhere:eu-west-1:111122223333:trust-anchor/x', caNames: ['root'] });
      expect(await store.listTargets()).toEqual([]);
      const at = new Date('2026-01-01T00:00:00Z');
      await store.addTarget({ name: 'prod-us', region: 'us-east-1', account: null, awsProfile: 'p', roleArn: null, endpoint: null, createdAt: at }, { action: 'target.add', target: 'prod-us', details: {} }, 't', at);
      expect((await store.listTargets()).map((t) => [t.name, t.region, t.awsProfile])).toEqual([['prod-us', 'us-east-1', 'p']]);
      await expect(store.addTarget({ name: 'prod-us', region: 'us-east-1', account: null, awsProfile: null, roleArn: null, endpoint: null, createdAt: at }, { action: 'target.add', target: 'prod-us', details: {} }, 't', at)).rejects.toMatchObject({ code: 'USAGE_TARGET_EXISTS' });
      expect(store.integrityCheck()).toBe('ok');
    } finally {
      store.close();
    }
  });
});
