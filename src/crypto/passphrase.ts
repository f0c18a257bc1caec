/**
 * Where CA key passphrases come from: a file (the input `passphraseFile`), the `PKI_CA_PASSPHRASE` environment
 * variable, or a terminal prompt. Never from a command-line value (it would show in `ps` and shell history).
 * `fileFlag` is the input field that names the file, as `input.<field>` (errors name it; the CLI shows its flag).
 */
import { PkiError } from '../errors.js';
import { readInput } from '../fs/files.js';
import type { Deps } from '../ports.js';

export const PASSPHRASE_ENV = 'PKI_CA_PASSPHRASE';
export const MIN_PASSPHRASE_LENGTH = 8;

export interface PassphraseSource {
  passphraseFile?: string;
}

/** The input fields a label names (`input.keyPassphraseFile` → keyPassphraseFile), for `details.input`. */
function fieldsOf(...labels: string[]): string[] {
  return labels.filter((l) => l.startsWith('input.')).map((l) => l.slice(6));
}

function fromFile(path: string, flag: string): string {
  const text = readInput(path, flag).toString('utf8').replace(/\r?\n$/, '');
  if (text === '') throw new PkiError('USAGE_EMPTY_PASSPHRASE', `${flag} ${path} is empty`, { details: { file: path, input: fieldsOf(flag) } });
  return text;
}

/** The passphrase to unlock an existing key. */
export async function passphraseToUnlock(deps: Deps, src: PassphraseSource, what: string, fileFlag = 'input.passphraseFile'): Promise<string> {
  if (src.passphraseFile) return fromFile(src.passphraseFile, fileFlag);
  const env = deps.env[PASSPHRASE_ENV];
  if (env) return env;
  if (deps.interactive && deps.promptSecret) return deps.promptSecret(`Passphrase for ${what}: `);
  throw new PkiError('CRYPTO_PASSPHRASE_REQUIRED', `${what} is encrypted and no passphrase was given`, {
    details: { input: fieldsOf(fileFlag) },
    hint: `pass ${fileFlag} FILE or set ${PASSPHRASE_ENV} (no terminal to prompt on)`,
  });
}

/** The passphrase to encrypt a new key (prompted twice on a terminal). */
export async function passphraseForNewKey(deps: Deps, src: PassphraseSource, what: string, fileFlag = 'input.passphraseFile'): Promise<string> {
  let pass: string;
  if (src.passphraseFile) pass = fromFile(src.passphraseFile, fileFlag);
  else if (deps.env[PASSPHRASE_ENV]) pass = deps.env[PASSPHRASE_ENV]!;
  else if (deps.interactive && deps.promptSecret) {
    pass = await deps.promptSecret(`New passphrase for ${what}: `);
    const again = await deps.promptSecret(`Repeat the passphrase for ${what}: `);
    if (again !== pass) throw new PkiError('USAGE_PASSPHRASE_MISMATCH', 'the two passphrases differ; nothing was created');
  } else
    throw new PkiError('USAGE_PASSPHRASE_REQUIRED', `a passphrase is needed to encrypt ${what}`, {
      details: { input: fieldsOf(fileFlag, 'input.noPassphrase') },
      hint: `pass ${fileFlag} FILE, set ${PASSPHRASE_ENV}, run in a terminal, or pass input.noPassphrase to store the key unencrypted (not recommended)`,
    });
  if ([...pass].length < MIN_PASSPHRASE_LENGTH)
    throw new PkiError('USAGE_WEAK_PASSPHRASE', `the passphrase for ${what} is shorter than ${MIN_PASSPHRASE_LENGTH} characters`);
  return pass;
}
