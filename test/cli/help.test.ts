import { describe, expect, it } from 'vitest';
import type { CommandDef, CommandGroup } from '../../src/cli/command.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

const leafCommands: Array<{ path: string[]; def: CommandDef }> = COMMANDS.flatMap((c) =>
  'subcommands' in c
    ? (c as CommandGroup).subcommands.map((s) => ({ path: [c.command, s.command.split(' ')[0]!], def: s }))
    : [{ path: [(c as CommandDef).command.split(' ')[0]!], def: c as CommandDef }],
);

describe('help quality', () => {
  it('lists the commands the foundation needs', () => {
    expect(leafCommands.map((c) => c.path.join(' '))).toEqual(
      expect.arrayContaining(['init', 'ca create', 'ca csr', 'ca sign', 'ca import', 'ca list', 'ca export', 'issue', 'revoke', 'list', 'show']),
    );
  });

  it.each(leafCommands.map((c) => [c.path.join(' '), c]))('`pki %s --help` has a description, examples and EXIT CODES', async (_name, { path, def }) => {
    const deps = makeDeps(tempDir());
    const r = await cli([...path, '--help'], deps);
    expect(r.code).toBe(0);
    expect(def.describe.length).toBeGreaterThan(20);
    expect(r.stdout).toContain(def.describe);
    expect(def.examples.length).toBeGreaterThan(0);
    expect(r.stdout).toContain('EXAMPLES');
    for (const [example] of def.examples) expect(r.stdout).toContain(example);
    expect(r.stdout).toMatch(/EXIT CODES\n\s+0\s+\S/);
    for (const exit of [2, 3, 4, 5, 6, 7, 8]) expect(r.stdout).toMatch(new RegExp(`\\n\\s+${exit}\\s+\\S`));
  });

  it('top-level help lists every command and the exit codes', async () => {
    const r = await cli(['--help'], makeDeps(tempDir()));
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`pki ${c.command.split(' ')[0]}`);
    expect(r.stdout).toContain('EXIT CODES');
  });

  it('no command is a usage error (exit 2) with a JSON error under --json', async () => {
    const r = await cli(['--json'], makeDeps(tempDir()));
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, kind: 'pki.error', version: 1, error: { code: 'USAGE_INVALID_ARGUMENTS' } });
  });
});
