/**
 * A small strict schema checker for YAML documents that reports every problem with file:line:col.
 * Unknown keys are errors (a typo must never be silently ignored in a CA profile).
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { PkiError, PkiErrors } from '../errors.js';
import { parseDuration, parseDurationParts } from '../domain/duration.js';

export type Spec =
  /** `secret`: a value that may be a secret typed in the wrong place (a PIN): never echoed in errors. */
  | { type: 'string'; enum?: readonly string[]; pattern?: RegExp; patternHelp?: string; description?: string; secret?: boolean }
  | { type: 'integer'; min?: number; max?: number; description?: string }
  | { type: 'boolean'; description?: string }
  | { type: 'duration'; description?: string }
  /** A duration kept as calendar years + seconds (certificate validity). */
  | { type: 'validity'; description?: string }
  | { type: 'regex'; description?: string }
  | { type: 'list'; items: Spec; maxItems?: number; description?: string }
  | { type: 'object'; fields: Record<string, FieldSpec>; description?: string }
  /** A mapping with keys chosen by the user (checked by `key`, which returns the normalised key or throws). */
  | { type: 'map'; key: (k: string) => string; values: Spec; description?: string };

export type FieldSpec = Spec & { required?: boolean };

interface Ctx {
  file: string;
  lines: LineCounter;
  problems: PkiError[];
  code: string;
}

function where(ctx: Ctx, node: Node | null | undefined): string {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = ctx.lines.linePos(offset);
  return `${ctx.file}:${line}:${col}`;
}

function problem(ctx: Ctx, node: Node | null | undefined, path: string, message: string): void {
  const loc = where(ctx, node);
  ctx.problems.push(new PkiError(ctx.code, `${loc}: ${path ? `${path}: ` : ''}${message}`, { details: { location: loc, path } }));
}

function check(ctx: Ctx, node: Node | null | undefined, spec: Spec, path: string): unknown {
  if (spec.type === 'object') {
    if (!isMap(node)) {
      problem(ctx, node, path, 'expected a mapping');
      return undefined;
    }
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const keyNode = pair.key as Node;
      const sub = path ? `${path}.${key}` : key;
      const fieldSpec = spec.fields[key];
      if (!fieldSpec) {
        problem(ctx, keyNode, sub, `unknown key (allowed: ${Object.keys(spec.fields).join(', ')})`);
        continue;
      }
      seen.add(key);
      const value = check(ctx, pair.value as Node, fieldSpec, sub);
      if (value !== undefined) out[key] = value;
    }
    for (const [key, fieldSpec] of Object.entries(spec.fields))
      if (fieldSpec.required && !seen.has(key)) problem(ctx, node, path, `missing required key "${key}"`);
    return out;
  }
  if (spec.type === 'map') {
    if (!isMap(node)) {
      problem(ctx, node, path, 'expected a mapping');
      return undefined;
    }
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const raw = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const sub = path ? `${path}.${raw}` : raw;
      let key: string;
      try {
        key = spec.key(raw);
      } catch (e) {
        problem(ctx, pair.key as Node, sub, (e as Error).message);
        continue;
      }
      if (key in out) {
        problem(ctx, pair.key as Node, sub, `${key} is given twice`);
        continue;
      }
      const value = check(ctx, pair.value as Node, spec.values, sub);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  if (spec.type === 'list') {
    if (!isSeq(node)) {
      problem(ctx, node, path, 'expected a list');
      return undefined;
    }
    if (spec.maxItems !== undefined && node.items.length > spec.maxItems) problem(ctx, node, path, `at most ${spec.maxItems} items`);
    return node.items.map((item, i) => check(ctx, item as Node, spec.items, `${path}[${i}]`)).filter((v) => v !== undefined);
  }
  if (!isScalar(node)) {
    problem(ctx, node, path, `expected a ${spec.type}`);
    return undefined;
  }
  const v = node.value;
  switch (spec.type) {
    case 'boolean':
      if (typeof v !== 'boolean') return void problem(ctx, node, path, 'expected true or false');
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return void problem(ctx, node, path, 'expected a whole number');
      if (spec.min !== undefined && v < spec.min) return void problem(ctx, node, path, `must be at least ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) return void problem(ctx, node, path, `must be at most ${spec.max}`);
      return v;
    case 'duration':
      try {
        return parseDuration(String(v), `${where(ctx, node)}: ${path}`, ctx.code);
      } catch (e) {
        ctx.problems.push(e as PkiError);
        return undefined;
      }
    case 'validity':
      try {
        return parseDurationParts(String(v), `${where(ctx, node)}: ${path}`, ctx.code);
      } catch (e) {
        ctx.problems.push(e as PkiError);
        return undefined;
      }
    case 'regex':
      try {
        return new RegExp(`^(?:${String(v)})$`, 'u');
      } catch (e) {
        return void problem(ctx, node, path, `invalid regular expression: ${(e as Error).message}`);
      }
    case 'string': {
      if (typeof v !== 'string') return void problem(ctx, node, path, 'expected a string');
      if (spec.enum && !spec.enum.includes(v)) return void problem(ctx, node, path, `"${v}" is not one of ${spec.enum.join(', ')}`);
      if (spec.pattern && !spec.pattern.test(v)) return void problem(ctx, node, path, `${spec.secret ? 'the value (not shown)' : `"${v}"`} ${spec.patternHelp ?? `does not match ${spec.pattern}`}`);
      return v;
    }
  }
}

/**
 * Parses YAML `text` from `file` and checks it against `spec`. Throws one PkiError (or PkiErrors with all problems)
 * with code `code` (e.g. PROFILE_INVALID, CONFIG_INVALID).
 */
export function parseYamlWithSchema(text: string, file: string, spec: Spec, code: string): Record<string, unknown> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const ctx: Ctx = { file, lines, problems: [], code };
  for (const err of doc.errors) {
    const { line, col } = lines.linePos(err.pos[0]);
    ctx.problems.push(new PkiError(code, `${file}:${line}:${col}: YAML syntax: ${err.message.split('\n')[0]}`, { details: { location: `${file}:${line}:${col}` } }));
  }
  if (ctx.problems.length === 0) {
    const value = check(ctx, doc.contents as Node, spec, '');
    if (ctx.problems.length === 0) return value as Record<string, unknown>;
  }
  if (ctx.problems.length === 1) throw ctx.problems[0];
  throw new PkiErrors(ctx.problems, `${file}: ${ctx.problems.length} problems`);
}
