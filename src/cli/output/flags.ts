/**
 * Use cases name their typed inputs, never CLI flags: an error about an input says `input.<field>` in its
 * message and hint and lists the field in `details.input` (or, from the file helpers, `details.flag: "input.<field>"`).
 * The CLI shows the flag that fills that field instead: `input.newCa` → `--new-ca`, the flag being the field in kebab
 * case unless {@link FLAG_OF_FIELD} says otherwise. Only declared fields are rewritten, so a file called
 * "input.pem" in a message stays as it is.
 */
import { PkiError } from '../../errors.js';

/** Typed input fields whose flag is not their kebab-case spelling (a list field filled by a repeatable flag). */
export const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  cas: '--ca',
  anchors: '--anchor',
  crls: '--crl',
  targets: '--target',
  roleArns: '--role-arn',
  tags: '--tag',
  maps: '--map',
  refreshBeforeSeconds: '--refresh-before',
  timeoutSeconds: '--timeout',
  stateFile: '--state',
};

/** The flag that fills typed input field `field`. */
export function flagOf(field: string): string {
  return FLAG_OF_FIELD[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** What a typed input field name looks like ("cert", "anchorBundle"). */
export const FIELD = /^[a-z][A-Za-z0-9]*$/;

/** The input fields an error (and each of its problems) declares. */
function declaredFields(details: Record<string, unknown>, into: Set<string>): void {
  const input = details.input;
  for (const f of Array.isArray(input) ? input : [input]) if (typeof f === 'string' && FIELD.test(f)) into.add(f);
  const flag = details.flag;
  if (typeof flag === 'string' && flag.startsWith('input.') && FIELD.test(flag.slice(6))) into.add(flag.slice(6));
  if (Array.isArray(details.problems)) for (const p of details.problems) if (p && typeof p === 'object') declaredFields(p as Record<string, unknown>, into);
  // A message that starts with the input it is about (the file and duration helpers: "input.out x.pem already exists").
  const lead = typeof details.message === 'string' ? /^input\.([a-z][A-Za-z0-9]*)\b/.exec(details.message) : null;
  if (lead) into.add(lead[1]!);
}

function rewrite(value: unknown, fields: Set<string>, re: RegExp): unknown {
  if (typeof value === 'string') return value.replace(re, (_, f: string) => flagOf(f));
  if (Array.isArray(value)) return value.map((v) => rewrite(v, fields, re));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === 'input' ? v : rewrite(v, fields, re);
    return out;
  }
  return value;
}

/**
 * `e` as the CLI shows it: every `input.<field>` of a declared field replaced by its flag in the message, hint and
 * details (`details.flag` then holds the flag, `details.input` still the field). Errors without declared fields
 * are returned as they are.
 */
export function withFlags(e: PkiError): PkiError {
  const fields = new Set<string>();
  declaredFields({ ...e.details, message: e.message }, fields);
  if (!fields.size) return e;
  const re = new RegExp(`\\binput\\.(${[...fields].join('|')})\\b(?![.\\w-])`, 'g');
  const details = rewrite(e.details, fields, re) as Record<string, unknown>;
  if (details.input === undefined && typeof e.details.flag === 'string' && e.details.flag.startsWith('input.')) details.input = e.details.flag.slice(6);
  const out = new PkiError(e.code, rewrite(e.message, fields, re) as string, {
    details,
    ...(e.hint !== undefined ? { hint: rewrite(e.hint, fields, re) as string } : {}),
    ...(e.cause !== undefined ? { cause: e.cause } : {}),
  });
  return out;
}

/**
 * A use case's result as the CLI shows it: `input.<field>` of the named fields replaced by their flags in every
 * string (messages of monitors and warnings that name an input). The command lists the fields it fills.
 */
export function flagsIn<T>(value: T, fields: readonly string[]): T {
  if (!fields.length) return value;
  const re = new RegExp(`\\binput\\.(${fields.join('|')})\\b(?![.\\w-])`, 'g');
  return rewrite(value, new Set(fields), re) as T;
}

/**
 * A result that carries the errors of its parts (one per target, CA or anchor: `{ code, message, hint?, details }`):
 * each shown as {@link withFlags} shows a thrown error.
 */
export function errorsWithFlags<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => errorsWithFlags(v)) as T;
  if (!value || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const o = value as Record<string, unknown>;
  if (typeof o.code === 'string' && typeof o.message === 'string' && o.details && typeof o.details === 'object') {
    const shown = withFlags(new PkiError(o.code, o.message, { details: o.details as Record<string, unknown>, ...(typeof o.hint === 'string' ? { hint: o.hint } : {}) }));
    return { ...o, message: shown.message, details: shown.details, ...(typeof o.hint === 'string' ? { hint: shown.hint } : {}) } as T;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = errorsWithFlags(v);
  return out as T;
}

/**
 * `deps` whose stderr shows the flags of the named fields where a use case's warning names its input
 * (`warning: input.noPassphrase: ...` → `warning: --no-passphrase: ...`). The command lists the fields it fills.
 */
export function stderrWithFlags<D extends { stderr: { write(s: string): unknown } }>(deps: D, fields: readonly string[]): D {
  if (!fields.length) return deps;
  const re = new RegExp(`\\binput\\.(${fields.join('|')})\\b(?![.\\w-])`, 'g');
  const stderr = deps.stderr;
  return { ...deps, stderr: { write: (s: string) => stderr.write(s.replace(re, (_, f: string) => flagOf(f))) } };
}
