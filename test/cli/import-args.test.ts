/** Random argument lists to the migration commands: a documented error or success, never exit 1 (INTERNAL). */
import * as fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { makeDeps, tempDir, type TestDeps } from '../helpers.js';

const COMMANDS = [['import', 'openssl-ca'], ['import', 'easy-rsa'], ['import', 'cfssl'], ['csr'], ['profile', 'import'], ['crl', 'generate']];
const FLAGS = ['--name', '--cert', '--key', '--index', '--crlnumber', '--certs', '--crl', '--certdb', '--pki-dir', '--key-passphrase-file', '--subject', '--san', '--key-type', '--from-cfssl', '--key-out', '--out', '--out-dir', '--ignore-unmapped', '--first-crl-number', '--previous', '--ca', '--no-passphrase', '--force', '--json'];

describe('migration commands: random arguments', () => {
  let deps: TestDeps;
  let dir: string;
  let cwd: string;
  beforeAll(async () => {
    cwd = tempDir('pki-import-args-');
    deps = makeDeps(cwd, { seed: 'import-args' });
    dir = join(cwd, 'pki');
    expect(await run(['init', '--dir', dir, '--subject', 'CN=Args Root', '--no-passphrase'], deps)).toBe(0);
    fs.writeFileSync(join(cwd, 'index.txt'), 'V\t270101000000Z\t\t01\tunknown\t/CN=a\nR\tbad\n');
    fs.writeFileSync(join(cwd, 'csr.json'), '{"CN":"a","names":[{"C":"India"}],"key":{"algo":"rsa","size":1}}');
    fs.writeFileSync(join(cwd, 'config.json'), '{"signing":{"profiles":{"x":{"usages":["signing"],"expiry":"1h"}}}}');
    fs.mkdirSync(join(cwd, 'd'));
  });

  it('never exit 1, never an exception', async () => {
    const values = ['legacy', 'root', '', '/', '/CN=x', 'CN=x', '/dev/null', 'd', 'index.txt', 'csr.json', 'config.json', 'nope', '-1', '0', '1e309', 'NaN', 'cfssl', 'pem', 'dns:', 'ecdsa-p256', '../x', 'ok\nbad'];
    const argv = fc.tuple(fc.constantFrom(...COMMANDS), fc.array(fc.oneof(fc.constantFrom(...FLAGS), fc.constantFrom(...values)), { maxLength: 10 }));
    await fc.assert(
      fc.asyncProperty(argv, async ([cmd, rest]) => {
        deps.out.length = 0;
        deps.err.length = 0;
        const code = await run([...cmd, ...rest.map((v) => (['index.txt', 'csr.json', 'config.json', 'd'].includes(v) ? join(cwd, v) : v)), '--dir', dir], deps);
        if (code === 1) throw new Error(`exit 1 for ${JSON.stringify([...cmd, ...rest])}: ${deps.err.join('')}`);
        return Number.isInteger(code);
      }),
      { seed: 16, numRuns: 300 },
    );
  }, 120_000);
});
