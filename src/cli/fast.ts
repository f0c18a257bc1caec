/**
 * The fast path for `pki credential-process`: AWS SDKs and the AWS CLI run it for every credential refresh, so it
 * skips yargs and the other commands (about 0.2 s of module loading) and parses its own flat flags from the same
 * option table the yargs command uses. `--help` and `--json` take the normal path.
 */
import { PkiError } from '../errors.js';
import type { Deps } from '../ports.js';
import { CREDENTIAL_PROCESS_OPTIONS, REFUSED_HELPER_OPTIONS, credentialProcessCommand, refuseHelperOption } from './commands/credential-process.js';
import { textError } from './output/render.js';

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `--name value` and `--name=value`, as the official helper accepts them; anything else is a usage error. */
export function parseFlags(argv: string[]): Record<string, unknown> {
  const spec = CREDENTIAL_PROCESS_OPTIONS as Record<string, { type: string; demandOption?: boolean; default?: unknown }>;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new PkiError('USAGE_INVALID_ARGUMENTS', `unexpected argument "${arg}"`, { hint: 'see pki credential-process --help' });
    const name = m[1]!;
    if (name === 'debug') continue;
    if (name === 'dir') {
      // The global --dir means nothing to this command; accepted as the yargs path accepts it.
      if (m[2] === undefined) i++;
      continue;
    }
    if (name in REFUSED_HELPER_OPTIONS) refuseHelperOption(name);
    const opt = spec[name];
    if (!opt) throw new PkiError('USAGE_INVALID_ARGUMENTS', `Unknown argument: ${name}`, { hint: 'see pki credential-process --help' });
    if (opt.type === 'boolean') {
      // `--flag` or `--flag=true|false`; never takes the next argument.
      if (m[2] !== undefined && m[2] !== 'true' && m[2] !== 'false') throw new PkiError('USAGE_INVALID_ARGUMENTS', `--${name}="${m[2]}": give --${name} alone, or =true / =false`);
      out[camel(name)] = m[2] !== 'false';
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new PkiError('USAGE_INVALID_ARGUMENTS', `--${name} needs a value`);
    if (opt.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new PkiError('USAGE_INVALID_ARGUMENTS', `--${name} "${value}" is not a number`);
      out[camel(name)] = n;
    } else out[camel(name)] = value;
  }
  for (const [name, opt] of Object.entries(spec)) {
    const key = camel(name);
    if (out[key] === undefined && opt.default !== undefined) out[key] = opt.default;
    if (out[key] === undefined && opt.demandOption) throw new PkiError('USAGE_INVALID_ARGUMENTS', `Missing required argument: ${name}`, { hint: 'see pki credential-process --help' });
  }
  return out;
}

/** Runs `pki credential-process ARGS`; returns the exit code. */
export async function runCredentialProcess(argv: string[], deps: Deps): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const out = await credentialProcessCommand.run(parseFlags(argv), { deps, json: false });
    deps.stdout.write(out.text);
    return 0;
  } catch (e) {
    const err = e instanceof PkiError ? e : new PkiError('INTERNAL', `internal error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    deps.stderr.write(textError(err, debug));
    return err.exitCode;
  }
}

