import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { CONFIG_SCHEMA } from '../../src/config/config.js';
import { schemaReference } from '../../src/config/reference.js';
import { PROFILE_SCHEMA, loadProfile } from '../../src/profile/load.js';
import { EXIT_CODES } from '../../src/errors.js';
import { ROOT, tempDir } from '../helpers.js';

const readme = fs.readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('docs', () => {
  it('README quick start gives the two commands', () => {
    expect(readme).toContain('npm install && npm run demo');
    expect(readme).toMatch(/^npm test/m);
  });

  it('README embeds the configuration and profile reference generated from the schemas', () => {
    expect(readme).toContain(schemaReference(CONFIG_SCHEMA));
    expect(readme).toContain(schemaReference(PROFILE_SCHEMA));
  });

  it('README documents every lint code', async () => {
    const { LINT_CODES } = await import('../../src/app/lint.js');
    for (const [code] of LINT_CODES) expect(readme, code).toContain(`| \`${code}\` |`);
  });

  it('README documents every command and every exit code', () => {
    for (const c of COMMANDS) {
      const names = 'subcommands' in c ? c.subcommands.map((s) => `${c.command} ${s.command.split(' ')[0]}`) : [c.command.split(' ')[0]];
      for (const n of names) expect(readme, n).toContain(`pki ${n}`);
    }
    for (const row of EXIT_CODES) expect(readme).toMatch(new RegExp(`\\| ${row.exit} \\|`));
  });

  it.each(fs.readdirSync(join(ROOT, 'examples/profiles')).map((f) => [f]))('example profile %s loads', (f) => {
    expect(loadProfile(join(ROOT, 'examples/profiles', f), undefined, ROOT).name).toBe(f.replace('.yaml', ''));
  });

  it('the offline-root runbook script runs', () => {
    const r = spawnSync('bash', [join(ROOT, 'examples/offline-root.sh'), tempDir()], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('web-01.pem: OK');
  });

  it('the rotation runbook (examples/rotation.md) is generated from steps that still run as documented', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/rotation-runbook.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const runbook = fs.readFileSync(join(ROOT, 'examples/rotation.md'), 'utf8');
    for (const step of ['plan', 'start', 'switch', 'status', 'finish']) expect(runbook).toContain(`$ pki rotate ${step} --anchor prod`);
    expect(readme).toContain('examples/rotation.md');
  });
});
