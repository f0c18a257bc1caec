/** Output: the --json envelope, text tables, and error rendering. */
import { PkiError, PkiErrors } from '../../errors.js';
import { withFlags } from './flags.js';
import { JSON_CONTRACT_VERSION } from '../results.js';

/** The envelope's `version`: the JSON contract's (src/cli/results.ts, docs/json.md). */
export const JSON_VERSION = JSON_CONTRACT_VERSION;

/**
 * A command's result. `ok` says whether the outcome is a success — the same as the exit code: false for a verdict that
 * exits with a failure (pki verify 11, pki lint 4, a critical monitor 11), true for 0 and for a monitor's warning (10).
 */
export function jsonSuccess(kind: string, data: unknown, exitCode = 0): string {
  return JSON.stringify({ ok: exitCode === 0 || exitCode === 10, kind, version: JSON_VERSION, data }, null, 2) + '\n';
}

export function jsonError(error: PkiError): string {
  const e = withFlags(error);
  return (
    JSON.stringify(
      { ok: false, kind: 'pki.error', version: JSON_VERSION, error: { code: e.code, message: e.message, details: e.details, hint: e.hint ?? null } },
      null,
      2,
    ) + '\n'
  );
}

export function textError(error: PkiError, debug: boolean): string {
  const e = withFlags(error);
  let out = `error: ${e.message}\n`;
  if (e.hint) out += `hint: ${e.hint}\n`;
  out += `(${e.code}, exit ${e.exitCode})\n`;
  if (debug && e.cause instanceof Error && e.cause.stack) out += `cause: ${e.cause.stack}\n`;
  if (error instanceof PkiErrors && debug) out += `problems: ${JSON.stringify(e.details.problems, null, 2)}\n`;
  return out;
}

/** A plain text table with a header row; columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** 2026-11-23T17:00:00.000Z → 2026-11-23 17:00:00Z */
export function shortTime(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : '-';
}

/**
 * Escapes control characters (C0 but newline and tab, DEL, C1) as \xHH, so that a subject, SAN or file name taken
 * from a CSR or certificate cannot move the cursor, rewrite lines or send escape sequences to the terminal.
 * run() applies it to every text written to stdout and stderr; bytes (Buffers, e.g. DER) pass untouched.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A writer that escapes control characters in text (see {@link escapeControls}). */
export function escapingWriter(inner: { write(s: string): unknown; isTTY?: boolean }): { write(s: string): unknown; isTTY?: boolean } {
  const write = (s: string | Uint8Array): unknown => inner.write(typeof s === 'string' ? escapeControls(s) : (s as unknown as string));
  return inner.isTTY === undefined ? { write } : { write, isTTY: inner.isTTY };
}
