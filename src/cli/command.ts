/** The shape every CLI command module has. */
import type { Argv } from 'yargs';
import type { Deps } from '../ports.js';

/** What a command produces: a JSON document kind + data, and the text shown without --json. */
export interface CommandOutput {
  kind: string;
  data: unknown;
  /** Text for stdout in text mode. */
  text: string;
  /** Exit code for successful runs that report a condition (monitoring commands); default 0. */
  exitCode?: number;
  /** The command already wrote its output (long-running commands print as soon as they are ready). */
  printed?: boolean;
}

export interface CommandContext {
  deps: Deps;
  json: boolean;
}

export interface CommandDef {
  /** yargs command string, e.g. "show <serial>". */
  command: string;
  describe: string;
  /** [command line, what it does]; at least one. */
  examples: Array<[string, string]>;
  /** Extra exit codes this command defines (monitoring commands). */
  exitCodes?: Array<{ exit: number; meaning: string }>;
  /** Extra help text placed before EXIT CODES. */
  notes?: string;
  builder(y: Argv): Argv;
  run(args: Record<string, any>, ctx: CommandContext): Promise<CommandOutput>;
}

/** A group of subcommands (e.g. `pki ca ...`). */
export interface CommandGroup {
  command: string;
  describe: string;
  subcommands: CommandDef[];
}

export const passphraseFileOption = {
  'passphrase-file': {
    type: 'string',
    describe: 'file holding the CA key passphrase (else $PKI_CA_PASSPHRASE, else a terminal prompt)',
    normalize: true,
  },
} as const;

/** Options shared by all commands that write files. */
export const forceOption = { force: { type: 'boolean', default: false, describe: 'overwrite existing output files' } } as const;
