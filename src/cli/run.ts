/**
 * `run(argv, deps)`: parses arguments with a fresh (non-singleton) yargs instance, runs one command, renders text or
 * the --json envelope, and returns the exit code. It never calls process.exit and never reads process state.
 */
import yargs, { type Argv } from 'yargs';
import { PkiError, exitCodesHelp } from '../errors.js';
import type { Deps } from '../ports.js';
import type { CommandContext, CommandDef, CommandGroup, CommandOutput } from './command.js';
import { COMMANDS } from './commands/index.js';
import { jsonError, jsonSuccess, textError } from './output/render.js';

export const VERSION = '0.1.0';

function isGroup(c: CommandDef | CommandGroup): c is CommandGroup {
  return 'subcommands' in c;
}

/** EXAMPLES, notes and EXIT CODES, laid out here so that long command lines are never wrapped mid-word. */
function epilogue(def: CommandDef): string {
  const examples = `EXAMPLES\n${def.examples.map(([cmd, what]) => `  ${cmd}\n      ${what}`).join('\n')}`;
  return [examples, def.notes, exitCodesHelp(def.exitCodes)].filter(Boolean).join('\n\n');
}

function globalOptions(y: Argv): Argv {
  return y
    .option('dir', { type: 'string', global: true, describe: 'PKI directory (default: $PKI_DIR, else the current directory)' })
    .option('json', { type: 'boolean', global: true, default: false, describe: 'print one JSON document on stdout' })
    .option('debug', { type: 'boolean', global: true, default: false, describe: 'show error causes and stack traces' });
}

/** Builds the parser; `onSelect` receives the chosen command and its arguments. */
export function buildParser(argv: string[], onSelect: (def: CommandDef, args: Record<string, any>) => void): Argv {
  let y = globalOptions(yargs(argv))
    .scriptName('pki')
    .usage('pki <command> [options]\n\nA private CA for AWS IAM Roles Anywhere: issue, revoke, store and publish certificates.')
    .strict()
    .exitProcess(false)
    .version(VERSION)
    .help('help')
    .alias('help', 'h')
    .wrap(null)
    .demandCommand(1, 'name a command (pki --help lists them)')
    .recommendCommands()
    .epilogue(exitCodesHelp());
  const register = (parent: Argv, def: CommandDef): Argv =>
    parent.command(
      def.command,
      def.describe,
      (sub) => {
        return def.builder(sub).epilogue(epilogue(def));
      },
      (args) => onSelect(def, args as Record<string, any>),
    );
  for (const c of COMMANDS) {
    if (isGroup(c)) {
      y = y.command(c.command, c.describe, (sub) => {
        let g = sub.demandCommand(1, `name a subcommand: pki ${c.command} <${c.subcommands.map((s) => s.command.split(' ')[0]).join('|')}>`);
        for (const s of c.subcommands) g = register(g, s);
        return g.epilogue(exitCodesHelp());
      });
    } else y = register(y, c);
  }
  return y;
}

/** Runs the CLI; returns the exit code. */
export async function run(argv: string[], deps: Deps): Promise<number> {
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  // A passphrase on the command line is visible to every user (ps, /proc, shell history): refused, and never echoed.
  const leaked = argv.findIndex((a, i) => a.startsWith('--passphrase=') || (a === '--passphrase' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')));
  if (leaked >= 0) {
    const err = new PkiError('USAGE_PASSPHRASE_ARGUMENT', '--passphrase takes no value: a passphrase on the command line is visible to every user of the machine', {
      hint: 'use --passphrase-file FILE, $PKI_CA_PASSPHRASE, or the terminal prompt (and change the passphrase you just typed)',
    });
    deps.stdout.write(json ? jsonError(err) : '');
    if (!json) deps.stderr.write(textError(err, false));
    return err.exitCode;
  }
  let selected: { def: CommandDef; args: Record<string, any> } | undefined;
  let helpText = '';
  let parseError: Error | undefined;
  try {
    const parser = buildParser(argv, (def, args) => {
      selected = { def, args };
    });
    await new Promise<void>((resolve) => {
      parser.parse(argv, {}, (err, _args, output) => {
        if (err) parseError = err;
        helpText = output ?? '';
        resolve();
      });
    });
  } catch (e) {
    parseError = e as Error;
  }
  if (parseError || (!selected && helpText === '')) {
    const message = parseError?.message ?? 'no command given';
    const err = new PkiError('USAGE_INVALID_ARGUMENTS', message, { hint: 'see pki --help' });
    if (json) deps.stdout.write(jsonError(err));
    else deps.stderr.write(`${helpText ? helpText + '\n\n' : ''}${textError(err, debug)}`);
    return err.exitCode;
  }
  if (!selected) {
    deps.stdout.write(helpText.endsWith('\n') ? helpText : helpText + '\n');
    return 0;
  }
  const ctx: CommandContext = { deps, json };
  let out: CommandOutput;
  try {
    out = await selected.def.run(selected.args, ctx);
  } catch (e) {
    const err =
      e instanceof PkiError
        ? e
        : new PkiError('INTERNAL', `internal error: ${(e as Error)?.message ?? String(e)}`, { cause: e, hint: 're-run with --debug and report this' });
    if (json) deps.stdout.write(jsonError(err));
    else deps.stderr.write(textError(err, debug));
    if (debug && !(e instanceof PkiError) && e instanceof Error) deps.stderr.write(`${e.stack}\n`);
    return err.exitCode;
  }
  if (!out.printed) deps.stdout.write(json ? jsonSuccess(out.kind, out.data) : out.text);
  return out.exitCode ?? 0;
}
