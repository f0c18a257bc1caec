/**
 * #17 use cases name their typed inputs (`input.<field>`, `details.input`), never CLI flags; the CLI shows the flag.
 * The library's own error (called without the CLI) and the CLI's text and JSON output of the same refusal.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { renewCertificate } from '../../src/app/renew.js';
import { addTarget } from '../../src/app/targets.js';
import { makeCsr } from '../../src/app/csr.js';
import { restorePki } from '../../src/app/backup.js';
import { verifyCertificate } from '../../src/app/verify.js';
import { flagOf, withFlags } from '../../src/cli/output/flags.js';
import { cli, makeDeps, makePki, snapshot, tempDir } from '../helpers.js';

async function thrown(p: Promise<unknown>): Promise<PkiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PkiError) return e;
    throw e;
  }
  throw new Error('expected a PkiError');
}

describe('#17 errors name the input; the CLI names the flag', () => {
  it('the library error names the typed input field, not a flag', async () => {
    const cwd = tempDir('pki-input-');
    const deps = makeDeps(cwd);
    const e = await thrown(addTarget(deps, { dir: join(cwd, 'pki'), name: 'prod', region: 'nowhere' }));
    expect(e.code).toBe('USAGE_BAD_REGION');
    expect(e.message).toBe('input.region "nowhere" is not an AWS region name (e.g. eu-west-1)');
    expect(e.details.input).toBe('region');
    expect(e.message).not.toMatch(/--[a-z]/);
    const v = await thrown(verifyCertificate(deps, { cert: 'leaf.pem', anchorBundle: 'bundle.pem', at: 'yesterday' }));
    expect(v.code).toBe('USAGE_BAD_TIME');
    expect(v.message).toMatch(/^input\.at "yesterday"/);
  });

  it('pki target add --region: text and JSON name --region, with the same code and exit code', async () => {
    const { dir, deps } = await makePki();
    const before = snapshot(dir);
    const text = await cli(['target', 'add', 'prod', '--region', 'nowhere', '--dir', dir], deps);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('error: --region "nowhere" is not an AWS region name');
    expect(text.stderr).toContain('(USAGE_BAD_REGION, exit 2)');
    expect(text.stderr).not.toContain('input.');
    const json = await cli(['target', 'add', 'prod', '--region', 'nowhere', '--dir', dir, '--json'], deps);
    expect(json.code).toBe(2);
    expect(json.json.error).toMatchObject({ code: 'USAGE_BAD_REGION', message: '--region "nowhere" is not an AWS region name (e.g. eu-west-1)', details: { input: 'region' } });
    expect(snapshot(dir)).toEqual(before);
  });

  it('pki renew: two inputs in one message and a file input from the file helpers (details.flag) become flags', async () => {
    const { dir, deps, cwd } = await makePki();
    const both = await cli(['renew', '--ca', 'issuing-1', '--serial', '01', '--csr', 'x.csr', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c'), '--dir', dir, '--json'], deps);
    expect(both.code).toBe(2);
    expect(both.json.error.code).toBe('USAGE_CONFLICT');
    expect(both.json.error.message).toBe('--csr and --key-out exclude each other: give --csr for a key the workload made, or --key-out to generate one here');
    expect(both.json.error.details.input).toEqual(['csr', 'keyOut']);
    const missing = await cli(['renew', '--ca', 'issuing-1', '--cert', join(cwd, 'absent.pem'), '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c'), '--dir', dir, '--json'], deps);
    expect(missing.code).toBe(5);
    expect(missing.json.error).toMatchObject({ code: 'NOT_FOUND_FILE', message: `--cert ${join(cwd, 'absent.pem')}: no such file`, details: { flag: '--cert', input: 'cert' } });
    // The library, without the CLI, says which input.
    const lib = await thrown(renewCertificate(deps, { dir, ca: 'issuing-1', cert: join(cwd, 'absent.pem'), keyOut: join(cwd, 'k'), out: join(cwd, 'c') }));
    expect(lib.message).toBe(`input.cert ${join(cwd, 'absent.pem')}: no such file`);
  });

  it('pki rotate plan: a missing new CA names --new-ca and, in the hint, --subject', async () => {
    const { dir, deps } = await makePki();
    const r = await cli(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'root-2', '--dir', dir], deps);
    // No anchor "prod" yet: the anchor is looked up first.
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('NOT_FOUND_ANCHOR');
    const s = await cli(['status', '--warn', 'soon', '--dir', dir, '--json'], deps);
    expect(s.code).toBe(2);
    expect(s.json.error.message).toBe('--warn: "soon" is not a duration (use e.g. 90s, 30m, 24h, 7d, 2w, 10y)');
  });

  it('pki credential serve --port: a workload command names its flag too (details.flag from the use case)', async () => {
    const cwd = tempDir('pki-input-');
    // Refused before it would listen: the shutdown signal is never awaited.
    const deps = { ...makeDeps(cwd), waitForShutdown: () => new Promise<void>(() => {}) };
    const arn = 'arn:aws:rolesanywhere:us-east-1:111122223333';
    const args = ['credential', 'serve', '--certificate', 'c.pem', '--private-key', 'k.pem', '--trust-anchor-arn', `${arn}:trust-anchor/a`, '--profile-arn', `${arn}:profile/p`, '--role-arn', 'arn:aws:iam::111122223333:role/r', '--region', 'us-east-1'];
    const r = await cli([...args, '--port', '70000', '--json'], deps);
    expect(r.code, r.stdout).toBe(2);
    expect(r.json.error).toMatchObject({ code: 'USAGE_BAD_PORT', message: '--port 70000: give 0 to 65535', details: { flag: '--port', input: 'port' } });
    const h = await cli([...args, '--host', '0.0.0.0'], deps);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain('error: --host 0.0.0.0 is not a loopback address');
    expect(h.stderr).toContain('hint: keep 127.0.0.1, or pass --allow-non-loopback');
  });

  it('pki csr: the subject parser, the key-type parser and the output checks name input fields; the CLI shows --subject, --san, --out', async () => {
    const cwd = tempDir('pki-input-');
    const deps = makeDeps(cwd);
    const before = snapshot(cwd);
    const none = await thrown(makeCsr(deps, { keyOut: join(cwd, 'k'), out: join(cwd, 'c') }));
    expect(none).toMatchObject({ code: 'USAGE_MISSING_INPUT', message: 'give exactly one of input.subject or input.fromCfssl FILE', details: { input: ['subject', 'fromCfssl'] } });
    const subject = await thrown(makeCsr(deps, { subject: 'C=USA,CN=x', keyOut: join(cwd, 'k'), out: join(cwd, 'c') }));
    expect(subject.code).toBe('USAGE_BAD_SUBJECT');
    expect(subject.message).toMatch(/^invalid input\.subject "C=USA,CN=x"/);
    expect(subject.message).not.toMatch(/--[a-z]/);
    const keyType = await thrown(makeCsr(deps, { subject: 'CN=x', keyType: 'dsa', keyOut: join(cwd, 'k'), out: join(cwd, 'c') }));
    expect(keyType).toMatchObject({ code: 'USAGE_BAD_KEY_TYPE', details: { flag: 'input.keyType', value: 'dsa' } });
    expect(keyType.message).toMatch(/^input\.keyType "dsa" is not one of /);
    const same = await thrown(makeCsr(deps, { subject: 'CN=x', keyOut: join(cwd, 'k'), out: 'k' }));
    expect(same).toMatchObject({ code: 'USAGE_CONFLICT', message: 'input.keyOut and input.out are the same file k', details: { input: ['keyOut', 'out'] } });
    // Through the CLI: the flags, the same codes and exit codes.
    const r1 = await cli(['csr', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c'), '--json'], deps);
    expect(r1.code).toBe(2);
    expect(r1.json.error).toMatchObject({ code: 'USAGE_MISSING_INPUT', message: 'give exactly one of --subject or --from-cfssl FILE', details: { input: ['subject', 'fromCfssl'] } });
    const r2 = await cli(['csr', '--subject', 'C=USA,CN=x', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c')], deps);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('error: invalid --subject "C=USA,CN=x"');
    expect(r2.stderr).not.toContain('input.');
    // (--key-type is checked by the CLI's own choices first; a SAN is checked by the use case.)
    const r3 = await cli(['csr', '--subject', 'CN=x', '--san', 'host.example', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'c'), '--json'], deps);
    expect(r3.code).toBe(2);
    expect(r3.json.error).toMatchObject({ code: 'USAGE_BAD_SAN', message: '--san "host.example": expected TYPE:VALUE with TYPE one of dns, uri, email, ip', details: { flag: '--san', input: 'san' } });
    fs.writeFileSync(join(cwd, 'taken.csr'), 'x');
    const r4 = await cli(['csr', '--subject', 'CN=x', '--key-out', join(cwd, 'k'), '--out', join(cwd, 'taken.csr'), '--json'], deps);
    expect(r4.code).toBe(6);
    expect(r4.json.error).toMatchObject({ code: 'STATE_OUTPUT_EXISTS', message: `--out ${join(cwd, 'taken.csr')} already exists`, hint: 'pass --force to overwrite it' });
    expect(fs.existsSync(join(cwd, 'k'))).toBe(false);
    fs.rmSync(join(cwd, 'taken.csr'));
    expect(snapshot(cwd)).toEqual(before);
  });

  it('pki restore --dir: the library names input.dir, the CLI --dir', async () => {
    const cwd = tempDir('pki-input-');
    const deps = makeDeps(cwd);
    const full = join(cwd, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(join(full, 'x'), 'x');
    const lib = await thrown(restorePki(deps, { file: join(cwd, 'absent.tar'), dir: full }));
    expect(lib).toMatchObject({ code: 'STATE_OUTPUT_EXISTS', message: `input.dir ${full} is not empty: pki restore writes only into an empty or new directory`, details: { input: 'dir' } });
    const r = await cli(['restore', join(cwd, 'absent.tar'), '--dir', full, '--json'], deps);
    expect(r.code).toBe(6);
    expect(r.json.error).toMatchObject({ code: 'STATE_OUTPUT_EXISTS', message: `--dir ${full} is not empty: pki restore writes only into an empty or new directory`, details: { input: 'dir' } });
    expect(fs.readdirSync(full)).toEqual(['x']);
  });

  it('the renderer rewrites declared fields only, so a file called input.pem stays as it is', () => {
    const e = new PkiError('NOT_FOUND_FILE', 'input.cert input.pem: no such file', { details: { file: 'input.pem', flag: 'input.cert' } });
    const shown = withFlags(e);
    expect(shown.message).toBe('--cert input.pem: no such file');
    expect(shown.details).toEqual({ file: 'input.pem', flag: '--cert', input: 'cert' });
    expect(shown.code).toBe('NOT_FOUND_FILE');
    // Nothing declared: unchanged (the same object).
    const plain = new PkiError('NOT_FOUND_CA', 'no CA input.pem');
    expect(withFlags(plain)).toBe(plain);
    expect(flagOf('newCa')).toBe('--new-ca');
    expect(flagOf('cas')).toBe('--ca');
  });
});
