/**
 * the JSON contract, read from the code: for every `{ kind: 'pki.….result', data }` a command returns (and every
 * `failedEnvelope(kind, data, …)` it writes), the type of `data` as the TypeScript checker sees it, turned into a
 * JSON shape (what JSON.stringify makes of it: a Date is a string, functions and undefined are dropped). The
 * declared contract, src/cli/results.ts, is generated from this; the contract test fails when the two differ.
 */
import { join } from 'node:path';
import ts from 'typescript';
import type { Shape } from '../../src/cli/results.js';

export type { Shape };

const MAX_DEPTH = 14;

function shapeOf(checker: ts.TypeChecker, type: ts.Type, at: ts.Node, seen: ts.Type[]): Shape {
  const f = type.flags;
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return 'unknown';
  if (f & ts.TypeFlags.StringLiteral) return { literal: (type as ts.StringLiteralType).value };
  if (f & ts.TypeFlags.StringLike) return 'string';
  if (f & ts.TypeFlags.NumberLike) return 'number';
  if (f & ts.TypeFlags.BooleanLike) return 'boolean';
  if (f & ts.TypeFlags.Null) return 'null';
  if (f & ts.TypeFlags.BigIntLike) return 'unknown';
  if (type.isUnion()) {
    const parts = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
    return union(parts.map((t) => shapeOf(checker, t, at, seen)));
  }
  if (seen.includes(type) || seen.length > MAX_DEPTH) return 'unknown';
  const name = type.getSymbol()?.getName();
  if (name === 'Date') return 'string';
  if (name === 'Buffer' || name === 'Uint8Array') return 'unknown';
  const next = [...seen, type];
  if (checker.isArrayType(type) || checker.isTupleType(type)) {
    const args = checker.getTypeArguments(type as ts.TypeReference);
    return { array: union(args.map((t) => shapeOf(checker, t, at, next))) };
  }
  if (type.isIntersection() || f & ts.TypeFlags.Object) {
    const props: Record<string, { shape: Shape; optional?: true }> = {};
    for (const p of checker.getPropertiesOfType(type)) {
      const t = checker.getTypeOfSymbolAtLocation(p, at);
      // Functions are not JSON.
      if (t.getCallSignatures().length && !checker.getPropertiesOfType(t).length) continue;
      const undef = t.isUnion() ? t.types.some((x) => x.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) : !!(t.flags & ts.TypeFlags.Undefined);
      const optional = !!(p.flags & ts.SymbolFlags.Optional) || undef;
      if (t.flags & ts.TypeFlags.Undefined) continue;
      props[p.getName()] = optional ? { shape: shapeOf(checker, t, at, next), optional: true } : { shape: shapeOf(checker, t, at, next) };
    }
    const index = checker.getIndexInfosOfType(type);
    if (index.length && !Object.keys(props).length) return { record: union(index.map((i) => shapeOf(checker, i.type, at, next))) };
    return { object: Object.fromEntries(Object.entries(props).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  }
  return 'unknown';
}

const key = (s: Shape): string => JSON.stringify(s);

/** A union, flattened, deduplicated and ordered (one member: itself); `unknown` absorbs everything. */
export function union(shapes: Shape[]): Shape {
  const flat = shapes.flatMap((s) => (typeof s === 'object' && 'union' in s ? s.union : [s]));
  if (flat.includes('unknown')) return 'unknown';
  // Objects of one union are merged when they have the same keys? No: kept apart, as the code has them.
  const byKey = new Map(flat.map((s) => [key(s), s]));
  const out = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  if (out.length === 0) return 'null';
  return out.length === 1 ? out[0]! : { union: out };
}

/** kind → the JSON shape of its `data`, from every command module under src/cli/commands. */
export function extractContract(root: string): Record<string, Shape> {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram({ rootNames: parsed.fileNames.filter((f) => f.includes('/src/')), options: parsed.options });
  const checker = program.getTypeChecker();
  const found = new Map<string, Shape[]>();
  const add = (kind: string, data: ts.Expression) => {
    const list = found.get(kind) ?? [];
    list.push(shapeOf(checker, checker.getTypeAtLocation(data), data, []));
    found.set(kind, list);
  };
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.includes('/src/cli/commands/')) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isObjectLiteralExpression(node)) {
        const prop = (n: string) => node.properties.find((p): p is ts.PropertyAssignment | ts.ShorthandPropertyAssignment => (ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) && p.name.getText(sf) === n);
        const kind = prop('kind');
        const data = prop('data');
        if (kind && ts.isPropertyAssignment(kind) && ts.isStringLiteralLike(kind.initializer) && data)
          add(kind.initializer.text, ts.isPropertyAssignment(data) ? data.initializer : data.name);
      }
      if (ts.isCallExpression(node) && node.expression.getText(sf) === 'failedEnvelope' && node.arguments.length >= 2 && ts.isStringLiteralLike(node.arguments[0]!))
        add(node.arguments[0].text, node.arguments[1]!);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return Object.fromEntries([...found.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, union(v)]));
}

/** `data`'s shape as a TypeScript type. */
export function typeText(s: Shape, indent = ''): string {
  if (typeof s === 'string') return s;
  if ('literal' in s) return JSON.stringify(s.literal);
  if ('array' in s) {
    const inner = typeText(s.array, indent);
    return typeof s.array === 'object' && ('union' in s.array || 'object' in s.array) ? `Array<${inner}>` : `${inner}[]`;
  }
  if ('record' in s) return `Record<string, ${typeText(s.record, indent)}>`;
  if ('union' in s) return s.union.map((x) => typeText(x, indent)).join(' | ');
  const entries = Object.entries(s.object);
  if (!entries.length) return 'Record<string, never>';
  const inner = indent + '  ';
  return `{\n${entries.map(([k, v]) => `${inner}${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}${v.optional ? '?' : ''}: ${typeText(v.shape, inner)};`).join('\n')}\n${indent}}`;
}

const typeName = (kind: string): string =>
  kind
    .replace(/^pki\./, '')
    .split(/[.-]/)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('') + 'Data';

/** The text of src/cli/results.ts for `contract` at `version`. */
export function resultsModule(contract: Record<string, Shape>, version: number): string {
  const kinds = Object.keys(contract);
  return `/**
 * The JSON contract of \`pki --json\` (docs/json.md): for every command, the type of \`data\` in its envelope
 * \`{ ok, kind, version, data }\`, declared. GENERATED from the commands' result types by
 *   UPDATE_JSON_CONTRACT=1 npx vitest run test/unit/json-contract.test.ts
 * and checked by that test: a change to what a command returns fails it until this file is regenerated, and the
 * diff is the contract change to review (docs/json.md says when it needs a new JSON_CONTRACT_VERSION). Do not edit by
 * hand.
 */

/** The \`version\` of every envelope. A field removed, renamed or retyped is a new version; a field added is not. */
export const JSON_CONTRACT_VERSION = ${version};

/** A JSON shape: what \`data\` holds (a Date is an ISO string; \`unknown\` is any JSON value). */
export type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  | 'null'
  | 'unknown'
  | { literal: string }
  | { array: Shape }
  | { record: Shape }
  | { union: Shape[] }
  | { object: Record<string, { shape: Shape; optional?: true }> };

${kinds.map((k) => `/** \`${k}\` */\nexport type ${typeName(k)} = ${typeText(contract[k]!)};`).join('\n\n')}

/** kind → its data type. */
export interface ResultData {
${kinds.map((k) => `  '${k}': ${typeName(k)};`).join('\n')}
}

export type ResultKind = keyof ResultData;

/** A success (or a failing verdict: \`ok\` false with the command's kind and its data). */
export interface JsonResult<K extends ResultKind = ResultKind> {
  ok: boolean;
  kind: K;
  version: typeof JSON_CONTRACT_VERSION;
  data: ResultData[K];
}

/** A refusal or failure: exit code from \`error.code\`'s prefix (README "Exit codes"). */
export interface JsonError {
  ok: false;
  kind: 'pki.error';
  version: typeof JSON_CONTRACT_VERSION;
  error: { code: string; message: string; details: Record<string, unknown>; hint: string | null };
}

/** The shapes above as data, for checking real output (test/unit/json-contract.test.ts). */
export const RESULT_SHAPES: Record<ResultKind, Shape> = {
${kinds.map((k) => `  '${k}': ${JSON.stringify(contract[k])},`).join('\n')}
};
`;
}
