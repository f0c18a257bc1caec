/**
 * The error model. Every failure the user can cause or meet is a {@link PkiError} whose `code` prefix decides the
 * process exit code (a public contract, printed in every command's help and in the README).
 */

/** Exit codes by error-code prefix. Order matters only for documentation. */
export const EXIT_CODES = [
  { exit: 0, prefix: '', meaning: 'success' },
  { exit: 1, prefix: 'INTERNAL', meaning: 'internal error (a bug): re-run with --debug and report it' },
  { exit: 2, prefix: 'USAGE_', meaning: 'bad arguments or flags' },
  { exit: 3, prefix: 'CONFIG_', meaning: 'invalid pki.yaml or profile (reported as file:line:col)' },
  { exit: 3, prefix: 'PROFILE_', meaning: '' },
  { exit: 4, prefix: 'POLICY_', meaning: 'refused by the profile or by Roles Anywhere rules' },
  { exit: 5, prefix: 'NOT_FOUND_', meaning: 'CA, serial or file not found' },
  { exit: 6, prefix: 'STATE_', meaning: 'conflict with the stored state (already revoked, already initialised, output exists, ...)' },
  { exit: 7, prefix: 'CRYPTO_', meaning: 'key, signature, algorithm or passphrase problem' },
  { exit: 8, prefix: 'IO_', meaning: 'file system error (names the path)' },
  { exit: 9, prefix: 'AWS_', meaning: 'Roles Anywhere or emulator error' },
  { exit: 12, prefix: 'STORE_', meaning: 'the store (PostgreSQL) is unreachable or the connection was lost: nothing was committed; re-run' },
] as const;

export type ErrorCode = string;

export interface PkiErrorOptions {
  details?: Record<string, unknown>;
  hint?: string;
  cause?: unknown;
}

/** A failure with a stable, documented code. Thrown where the cause is known; caught only by `cli/run.ts`. */
export class PkiError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: PkiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PkiError';
    this.code = code;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  /** The process exit code for this error (DESIGN §5). */
  get exitCode(): number {
    return exitCodeFor(this.code);
  }
}

/** Several validation problems reported at once; the exit code is that of the first problem. */
export class PkiErrors extends PkiError {
  readonly problems: readonly PkiError[];
  constructor(problems: readonly PkiError[], summary?: string) {
    const first = problems[0];
    if (!first) throw new Error('PkiErrors needs at least one problem');
    const message =
      problems.length === 1
        ? first.message
        : `${summary ?? `${problems.length} problems`}:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`;
    super(first.code, message, {
      details: { ...first.details, problems: problems.map((p) => ({ code: p.code, message: p.message, ...p.details })) },
      hint: first.hint,
    });
    this.problems = problems;
  }
}

export function exitCodeFor(code: string): number {
  for (const row of EXIT_CODES) {
    if (row.prefix !== '' && code.startsWith(row.prefix)) return row.exit;
  }
  return 1;
}

/** Throws all collected problems at once (DESIGN §5: validation returns all problems). */
export function throwIfAny(problems: PkiError[], summary?: string): void {
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new PkiErrors(problems, summary);
}

/** The EXIT CODES section printed in every command's help. */
export function exitCodesHelp(extra: ReadonlyArray<{ exit: number; meaning: string }> = []): string {
  const rows = new Map<number, string>();
  for (const row of EXIT_CODES) if (row.meaning) rows.set(row.exit, row.meaning);
  for (const row of extra) rows.set(row.exit, row.meaning);
  const lines = [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([exit, meaning]) => `  ${String(exit).padEnd(3)} ${meaning}`);
  return `EXIT CODES\n${lines.join('\n')}`;
}
