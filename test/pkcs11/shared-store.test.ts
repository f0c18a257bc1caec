/**
 * a token CA key on a PostgreSQL store shared by two nodes: the stored reference names only the token and the key;
 * `pki node join` says to set keys.pkcs11 in the node's pki.yaml; a row edited to carry another module-path and
 * pin-source does not choose the library or the PIN file of any node. Skipped, with the reason printed, where
 * SoftHSM2 or PostgreSQL is missing.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { closePkcs11 } from '../../src/adapters/keys/pkcs11.js';
import { makeDeps, pkiIn, tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';
import { skipReason, softHsm } from '../helpers/softhsm.js';

const why = skipReason();
const cluster = why ? { skip: why } : await startPostgres();
if ('skip' in cluster) process.stderr.write(`SKIP PKCS#11 shared-store test: ${cluster.skip}\n`);
afterAll(async () => {
  closePkcs11();
  if ('stop' in cluster) await cluster.stop();
});

describe.skipIf('skip' in cluster)('token CA keys on a shared PostgreSQL store', () => {
  it('fail/a shared row carrying module-path and pin-source chooses nothing: each node loads its pki.yaml module and reads its own PIN source; node join says to set keys.pkcs11', async () => {
    if ('skip' in cluster) return;
    const hsm = softHsm();
    hsm.initToken('shared');
    const url = await cluster.createDb('p11_shared');
    const cwd = tempDir('pki-p11-pg-');
    const deps = makeDeps(cwd, { now: new Date('2026-01-01T00:00:00Z') });
    const pin = hsm.pinFile();
    const a = pkiIn(join(cwd, 'a'), deps);
    const init = await a.ok(['init', '--subject', 'CN=Shared Root', '--store', url, '--key-store', `pkcs11:token=shared?module-path=${hsm.module}&pin-source=file:${pin}`]);
    expect(init.ca.keyFile).toMatch(/^pkcs11:token=shared;object=root;id=(%[0-9A-F]{2}){20};type=private$/);
    // Node b joins: the report says what it needs for the token key.
    const b = pkiIn(join(cwd, 'b'), deps);
    const joined = await b.ok(['node', 'join', '--store', url]);
    const rootNeeds = (joined.needs as string[]).find((n) => n.startsWith('CA root:'))!;
    expect(rootNeeds).toMatch(/keys\.pkcs11/);
    expect(rootNeeds).toMatch(/pki\.yaml/);
    // Until b's pki.yaml names a module, b cannot open the key (and says where to set it).
    closePkcs11();
    const before = await b.run(['issue', '--ca', 'root', '--subject', 'CN=b0', '--key-out', join(cwd, 'b0.key'), '--out', join(cwd, 'b0.pem')]);
    expect([before.code, before.json.error.code]).toEqual([2, 'USAGE_PKCS11_MODULE_REQUIRED']);
    expect(before.json.error.hint).toMatch(/keys\.pkcs11\.module/);
    const yamlB = join(cwd, 'b', 'pki.yaml');
    fs.writeFileSync(yamlB, fs.readFileSync(yamlB, 'utf8').replace(/(  pbkdf2Iterations: \d+\n)/, `$1  pkcs11:\n    module: ${hsm.module}\n    pinSource: file:${pin}\n`));
    // A row rewritten to send every node to another library and another PIN file.
    const evil = join(cwd, 'evil.so');
    fs.writeFileSync(evil, 'not a library');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('UPDATE ca SET key_path = $1 WHERE name = $2', [`${init.ca.keyFile}?module-path=${evil}&pin-source=file:${hsm.pinFile('999999')}`, 'root']);
    } finally {
      await client.end();
    }
    for (const [node, n] of [[a, 'a1'], [b, 'b1']] as const) {
      closePkcs11();
      const r = await node.run(['issue', '--ca', 'root', '--subject', `CN=${n}`, '--key-out', join(cwd, `${n}.key`), '--out', join(cwd, `${n}.pem`)]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
  });
});
