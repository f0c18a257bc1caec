/**
 * `run(argv, deps)`: parses arguments with a fresh (non-singleton) yargs instance, runs one command, renders text or
 * the --json envelope, and returns the exit code. It never calls process.exit and never reads process state.
 */
import yargs, { type Argv } from 'yargs';
import { PkiError, exitCodesHelp } from '../errors.js';
import type { Deps } from '../ports.js';
import type { CommandContext, CommandDef, CommandGroup, CommandOutput } from './command.js';
import { escapingWriter, jsonError, jsonSuccess, textError } from './output/render.js';

export const VERSION = '0.1.0';

type Commands = ReadonlyArray<CommandDef | CommandGroup>;

/**
 * The module of each top-level command, by its first word: a run names its command up front, so only that module
 * (and what it imports) is loaded. Anything else (no command, a typo, top-level --help, a parse error) loads every
 * command (`commands/index.js`, which fixes the order of the help listing).
 */
export const COMMAND_MODULES: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = {
  init: () => import('./commands/init.js'),
  ca: () => import('./commands/ca.js'),
  issue: () => import('./commands/issue.js'),
  renew: () => import('./commands/renew.js'),
  revoke: () => import('./commands/revoke.js'),
  list: () => import('./commands/list.js'),
  show: () => import('./commands/list.js'),
  crl: () => import('./commands/crl.js'),
  anchor: () => import('./commands/anchor.js'),
  target: () => import('./commands/target.js'),
  aws: () => import('./commands/aws.js'),
  rotate: () => import('./commands/rotate.js'),
  audit: () => import('./commands/audit.js'),
  backup: () => import('./commands/backup.js'),
  restore: () => import('./commands/restore.js'),
  'credential-process': () => import('./commands/credential-process.js'),
  credential: () => import('./commands/credential.js'),
  preview: () => import('./commands/preview.js'),
  lint: () => import('./commands/lint.js'),
  inspect: () => import('./commands/inspect.js'),
  verify: () => import('./commands/verify.js'),
  status: () => import('./commands/status.js'),
  emulator: () => import('./commands/emulator.js'),
  import: () => import('./commands/import.js'),
  csr: () => import('./commands/csr.js'),
  profile: () => import('./commands/profile.js'),
  node: () => import('./commands/node.js'),
  store: () => import('./commands/store.js'),
};

const firstWord = (c: CommandDef | CommandGroup): string => c.command.split(' ')[0]!;

/** Every command, in the order of the help listing. */
export async function allCommands(): Promise<Commands> {
  return (await import('./commands/index.js')).COMMANDS;
}

/**
 * Only the command `argv` names (when its first word is a command and its module exports it), else undefined. The
 * word must come first: `pki --dir D crl ...` takes the full path (an option's value could look like a command).
 */
export async function namedCommand(argv: readonly string[]): Promise<Commands | undefined> {
  const word = argv[0];
  const load = word !== undefined && Object.hasOwn(COMMAND_MODULES, word) ? COMMAND_MODULES[word] : undefined;
  if (!load) return undefined;
  const def = Object.values(await load()).find((v): v is CommandDef | CommandGroup => typeof v === 'object' && v !== null && 'command' in v && firstWord(v as CommandDef) === word);
  return def ? [def] : undefined;
}

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
export function buildParser(argv: string[], onSelect: (def: CommandDef, args: Record<string, any>) => void, commands: Commands): Argv {
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
  for (const c of commands) {
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

/** Edit distance (Levenshtein), for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest candidate to `word` (at most 2 edits, or a prefix of it), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 0.5 : distance(word.toLowerCase(), c.toLowerCase());
    if (d <= Math.min(2, Math.max(1, Math.floor(c.length / 3))) && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/**
 * The command (or subcommand) named by the leading words of `argv`, the names one level down, and the longest
 * command path those words name ("pki", "pki issue", "pki ca create").
 */
function commandAt(argv: readonly string[], commands: Commands): { def?: CommandDef; names: string[]; path: string } {
  const words = argv.filter((a) => !a.startsWith('-'));
  const nameOf = (c: { command: string }): string => c.command.split(' ')[0]!;
  const top = commands.find((c) => nameOf(c) === words[0]);
  if (!top) return { names: commands.map(nameOf), path: 'pki' };
  if (!isGroup(top)) return { def: top, names: [], path: `pki ${nameOf(top)}` };
  const sub = top.subcommands.find((c) => nameOf(c) === words[1]);
  return sub ? { def: sub, names: [], path: `pki ${nameOf(top)} ${nameOf(sub)}` } : { names: top.subcommands.map(nameOf), path: `pki ${nameOf(top)}` };
}

/** Option names (without dashes) a command accepts, global ones included. */
function optionNames(def: CommandDef | undefined): string[] {
  const y = globalOptions(yargs([]));
  const built = def ? def.builder(y) : y;
  const keys = Object.keys((built as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
  return keys.filter((k) => !/[A-Z]/.test(k) && k !== 'version');
}

/** Adds "did you mean" to yargs' "Unknown argument(s): a, b" for mistyped options and commands. */
function withSuggestions(message: string, argv: readonly string[], commands: Commands): string {
  // yargs' own suggestion for a mistyped subcommand ("Did you mean create?") names neither the word nor the group.
  const dym = /^Did you mean (\S+)\?$/.exec(message);
  if (dym) {
    const at = commandAt(argv, commands);
    const words = argv.filter((w) => !w.startsWith('-'));
    const typed = words.find((w, i) => i > 0 && !at.names.includes(w)) ?? words[1];
    return `unknown command: ${at.path} ${typed ?? ''}`.trimEnd() + ` (did you mean ${dym[1]}?)`;
  }
  const m = /^Unknown arguments?: (.*)$/.exec(message);
  if (!m) return message;
  const at = commandAt(argv, commands);
  const unknown = m[1]!.split(', ');
  const hints: string[] = [];
  for (const u of unknown) {
    const asOption = argv.some((a) => a === `--${u}` || a.startsWith(`--${u}=`) || a === `-${u}`);
    if (asOption) {
      const near = closest(u, optionNames(at.def));
      if (near) hints.push(`--${u}: did you mean --${near}?`);
    } else {
      const near = closest(u, at.names);
      if (near) hints.push(`${u}: did you mean ${near}?`);
    }
  }
  return hints.length ? `${message} (${hints.join('; ')})` : message;
}

/** Runs the CLI; returns the exit code. */
export async function run(argv: string[], rawDeps: Deps): Promise<number> {
  // Names, subjects and SANs come from CSRs and certificates: no control character reaches the terminal as is.
  const deps: Deps = { ...rawDeps, stdout: escapingWriter(rawDeps.stdout), stderr: escapingWriter(rawDeps.stderr) };
  const json = argv.includes('--json');
  const debug = argv.includes('--debug');
  const end = argv.indexOf('--') < 0 ? argv.length : argv.indexOf('--');
  // A passphrase on the command line is visible to every user (ps, /proc, shell history): refused, and never echoed
  // (also when it starts with a dash, which would otherwise be read as options and listed as unknown).
  const leaked = argv.findIndex(
    (a, i) => i < end && (a.startsWith('--passphrase=') || (a === '--passphrase' && argv[i + 1] !== undefined && !/^(--|-[A-Za-z]$)/.test(argv[i + 1]!))),
  );
  // A single dash before a word (-dash) would be read as the short flags -d -a -s -h (help): refused instead.
  const bundled = argv.findIndex((a, i) => i < end && /^-[A-Za-z][^=]+/.test(a));
  if (leaked < 0 && bundled >= 0) {
    const word = argv[bundled]!.slice(1);
    const near = closest(word, optionNames(commandAt(argv, await allCommands()).def));
    const err = new PkiError('USAGE_INVALID_ARGUMENTS', `${argv[bundled]} is not an option: options take two dashes${near ? ` (did you mean --${near}?)` : ''}`, {
      details: { argument: argv[bundled] },
      hint: 'write options with two dashes (--name); give a value that starts with a dash as --option=-value',
    });
    if (json) deps.stdout.write(jsonError(err));
    else deps.stderr.write(textError(err, debug));
    return err.exitCode;
  }
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
  const parse = async (commands: Commands): Promise<void> => {
    selected = undefined;
    helpText = '';
    parseError = undefined;
    try {
      const parser = buildParser(
        argv,
        (def, args) => {
          selected = { def, args };
        },
        commands,
      );
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
  };
  // The named command alone; anything but a selected command (an error, help) is parsed again with every command,
  // so that messages, suggestions and help are exactly those of the full parser.
  const named = await namedCommand(argv);
  let commands: Commands = named ?? [];
  if (named) await parse(named);
  if (!named || !selected) await parse((commands = await allCommands()));
  if (parseError || (!selected && helpText === '')) {
    const words = argv.slice(0, end);
    const message = withSuggestions(parseError?.message ?? 'no command given', words, commands);
    // The help of the command in question, not the whole help before the error: the error stays in view. The help
    // is printed only when a command or subcommand is missing (`pki`, `pki ca`): then it lists what to name.
    const missingCommand = !parseError || /^name a (sub)?command\b/.test(parseError.message);
    const err = new PkiError('USAGE_INVALID_ARGUMENTS', message, { hint: `see ${commandAt(words, commands).path} --help` });
    if (json) deps.stdout.write(jsonError(err));
    else deps.stderr.write(`${helpText && missingCommand ? helpText + '\n\n' : ''}${textError(err, debug)}`);
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
  if (!out.printed) deps.stdout.write(json ? jsonSuccess(out.kind, out.data, out.exitCode ?? 0) : out.text);
  return out.exitCode ?? 0;
}
