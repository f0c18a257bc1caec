/**
 * the JSON contract (docs/json.md): src/cli/results.ts declares the `data` of every command's --json envelope.
 * 1. The declaration is what the code returns: generated from the commands' result types and compared here, so a
 *    change to a result cannot land without the declared contract (and its review) changing with it.
 *    Regenerate with UPDATE_JSON_CONTRACT=1 npx vitest run test/unit/json-contract.test.ts.
 * 2. Real output matches it: commands run in-process and their JSON is checked against the declared shapes (every
 *    declared key present unless optional, no undeclared key, the types as declared).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_CONTRACT_VERSION, RESULT_SHAPES, type ResultKind, type Shape } from '../../src/cli/results.js';
import { JSON_VERSION } from '../../src/cli/output/render.js';
import { extractContract, resultsModule } from '../contract/extract.js';
import { ROOT, cli, makePki, pkiIn } from '../helpers.js';

const RESULTS = join(ROOT, 'src/cli/results.ts');

/** Where `value` does not fit `shape` (empty: it fits). */
function misfits(value: unknown, shape: Shape, path = 'data'): string[] {
  if (shape === 'unknown') return [];
  if (shape === 'string' || shape === 'number' || shape === 'boolean') return typeof value === shape ? [] : [`${path}: ${JSON.stringify(value)} is not a ${shape}`];
  if (shape === 'null') return value === null ? [] : [`${path}: ${JSON.stringify(value)} is not null`];
  if ('literal' in shape) return value === shape.literal ? [] : [`${path}: ${JSON.stringify(value)} is not "${shape.literal}"`];
  if ('union' in shape) {
    const tries = shape.union.map((s) => misfits(value, s, path));
    return tries.some((t) => !t.length) ? [] : [`${path}: fits no member of the union (${tries.map((t) => t[0]).join(' | ')})`];
  }
  if ('array' in shape) return Array.isArray(value) ? value.flatMap((v, i) => misfits(v, shape.array, `${path}[${i}]`)) : [`${path}: not an array`];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object`];
  const o = value as Record<string, unknown>;
  if ('record' in shape) return Object.entries(o).flatMap(([k, v]) => misfits(v, shape.record, `${path}.${k}`));
  const out: string[] = [];
  for (const [k, { shape: s, optional }] of Object.entries(shape.object)) {
    if (!(k in o)) {
      if (!optional) out.push(`${path}.${k}: missing`);
      continue;
    }
    out.push(...misfits(o[k], s, `${path}.${k}`));
  }
  for (const k of Object.keys(o)) if (!(k in shape.object)) out.push(`${path}.${k}: not declared`);
  return out;
}

describe('the JSON contract (src/cli/results.ts, docs/json.md)', () => {
  it('declares exactly what the commands return (generated from their result types)', { timeout: 120_000 }, () => {
    const text = resultsModule(extractContract(ROOT), JSON_CONTRACT_VERSION);
    if (process.env.UPDATE_JSON_CONTRACT) fs.writeFileSync(RESULTS, text);
    expect(fs.readFileSync(RESULTS, 'utf8'), 'src/cli/results.ts is not what the commands return: regenerate it (see its header) and review the diff').toBe(text);
    // Every envelope carries the contract's version.
    expect(JSON_VERSION).toBe(JSON_CONTRACT_VERSION);
    expect(Object.keys(RESULT_SHAPES).length).toBeGreaterThan(50);
  });

  it('the validator refuses what does not fit (a missing key, an undeclared key, a wrong type)', () => {
    const s: Shape = { object: { a: { shape: 'string' }, b: { shape: { array: 'number' }, optional: true } } };
    expect(misfits({ a: 'x' }, s)).toEqual([]);
    expect(misfits({ a: 'x', b: [1, 2] }, s)).toEqual([]);
    expect(misfits({}, s)).toEqual(['data.a: missing']);
    expect(misfits({ a: 'x', c: 1 }, s)).toEqual(['data.c: not declared']);
    expect(misfits({ a: 1, b: ['2'] }, s)).toEqual(['data.a: 1 is not a string', 'data.b[0]: "2" is not a number']);
  });

  it("real --json output of several commands fits the declared data of its kind", { timeout: 120_000 }, async () => {
    const { dir, deps, cwd } = await makePki();
    const { ok } = pkiIn(dir, deps);
    const leaf = await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=contract', '--key-out', join(cwd, 'k.pem'), '--out', join(cwd, 'c.pem')]);
    await ok(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial, '--reason', 'superseded']);
    await ok(['crl', 'generate', '--ca', 'issuing-1']);
    await ok(['target', 'add', 'prod', '--region', 'eu-west-1', '--account', '111122223333']);
    const runs: string[][] = [
      ['status'],
      ['ca', 'list'],
      ['list', '--ca', 'issuing-1'],
      ['show', leaf.serial, '--ca', 'issuing-1'],
      ['target', 'list'],
      ['crl', 'list', '--ca', 'issuing-1'],
      ['crl', 'check', '--ca', 'issuing-1'],
      ['audit', 'verify'],
      ['audit', 'head'],
      ['lint', join(cwd, 'c.pem')],
      ['preview', '--cert', join(cwd, 'c.pem')],
      ['inspect', join(cwd, 'c.pem')],
    ];
    const seen = new Set<string>();
    for (const argv of runs) {
      const r = await cli([...argv, '--dir', dir, '--json'], deps);
      expect(r.json.version, argv.join(' ')).toBe(JSON_CONTRACT_VERSION);
      expect(r.json.kind, `${argv.join(' ')}: ${r.stdout}`).not.toBe('pki.error');
      const kind = r.json.kind as ResultKind;
      expect(RESULT_SHAPES[kind], `${kind} is declared`).toBeDefined();
      expect(misfits(r.json.data, RESULT_SHAPES[kind]), `${argv.join(' ')} (${kind})`).toEqual([]);
      seen.add(kind);
    }
    expect(seen.size).toBe(runs.length);
  });
});
