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

describe('usage errors keep the error in view', () => {
  const deps = () => makeDeps(tempDir());
  it('an unknown option or command prints the error and the help to read, not the whole help before it', async () => {
    const opt = await cli(['issue', '--bogus'], deps());
    expect(opt.code).toBe(2);
    expect(opt.stderr).not.toContain('Options:');
    expect(opt.stderr).toContain('error: Unknown argument: bogus');
    expect(opt.stderr).toContain('hint: see pki issue --help');
    const top = await cli(['isue'], deps());
    expect(top.code).toBe(2);
    expect(top.stderr).not.toContain('Commands:');
    expect(top.stderr).toContain('isue: did you mean issue?');
    expect(top.stderr).toContain('hint: see pki --help');
    const sub = await cli(['ca', 'craete', '--json'], deps());
    expect(sub.code).toBe(2);
    expect(sub.json.error).toMatchObject({ code: 'USAGE_INVALID_ARGUMENTS', message: 'unknown command: pki ca craete (did you mean create?)', hint: 'see pki ca --help' });
  });

  it('a missing command or subcommand still lists what to name', async () => {
    const none = await cli([], deps());
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Commands:');
    const group = await cli(['ca'], deps());
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('pki ca create');
    expect(group.stderr).toContain('name a subcommand: pki ca <create|');
  });
});
