/**
 * use cases name their typed inputs (`input.<field>`, `details.input`), never CLI flags; the CLI shows the flag.
 * The library's own error (called without the CLI) and the CLI's text and JSON output of the same refusal.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { renewCertificate } from '../../src/app/renew.js';
import { addTarget } from '../../src/app/targets.js';
import { makeCsr } from '../../src/app/csr.js';
import { createCa, initPki } from '../../src/app/ca/index.js';
import { importEasyRsa } from '../../src/app/import/easy-rsa.js';
import { credentialProcess } from '../../src/adapters/aws/create-session.js';
import { restorePki } from '../../src/app/backup.js';
import { verifyCertificate } from '../../src/app/verify.js';
import { documentOf } from '../../src/app/documents.js';
import { issueBatch, issueCertificate } from '../../src/app/issue.js';
import { checkCrl, generateCrl } from '../../src/app/crl/index.js';
import { flagOf, withFlags } from '../../src/cli/output/flags.js';
import { cli, fixture, makeDeps, makePki, snapshot, tempDir } from '../helpers.js';

async function thrown(p: Promise<unknown>): Promise<PkiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PkiError) return e;
    throw e;
  }
  throw new Error('expected a PkiError');
}

describe('errors name the input; the CLI names the flag', () => {
  it('the library error names the typed input field, not a flag', async () => {
    const cwd = tempDir('pki-input-');
    const deps = makeDeps(cwd);
    const e = await thrown(addTarget(deps, { dir: join(cwd, 'pki'), name: 'prod', region: 'nowhere' }));
    expect(e.code).toBe('USAGE_BAD_REGION');
    expect(e.message).toBe('input.region "nowhere" is not an AWS region name (e.g. eu-west-1)');
    expect(e.details.input).toBe('region');
    expect(e.message).not.toMatch(/--[a-z]/);
    const v = await thrown(verifyCertificate(deps, { cert: documentOf('leaf.pem', ''), anchorBundle: documentOf('bundle.pem', ''), at: 'yesterday' }));
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
    const lib = await thrown(renewCertificate(deps, { dir, ca: 'issuing-1', cert: documentOf('old.pem', ''), serial: '01', keyOut: join(cwd, 'k'), out: join(cwd, 'c') }));
    expect(lib.message).toBe('give the certificate to renew: input.cert FILE or input.serial HEX (one of them)');
    // The CLI reads a file when the use case first needs it: a file error names the flag, a library caller's bytes
    // never touch the file system.
    const notCert = await thrown(renewCertificate(deps, { dir, ca: 'issuing-1', cert: documentOf('old.pem', 'not a certificate'), keyOut: join(cwd, 'k'), out: join(cwd, 'c') }));
    expect(notCert.message).toContain('old.pem');
    expect(fs.existsSync(join(cwd, 'k'))).toBe(false);
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

  it('pki init, pki ca create: conflicting inputs and the unencrypted-key warning name input fields; the CLI shows the flags on stderr and in JSON', async () => {
    const cwd = tempDir('pki-input-');
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    const both = await thrown(initPki(deps, { dir, subject: 'CN=Root', rootCert: 'r.pem', rootKey: 'r.key', noPassphrase: true }));
    expect(both).toMatchObject({ code: 'USAGE_CONFLICT', message: 'input.subject makes a new root; input.rootCert adopts an existing one: give one of them', details: { input: ['subject', 'rootCert'] } });
    const r = await cli(['init', '--dir', dir, '--subject', 'CN=Root', '--root-cert', 'r.pem', '--root-key', 'r.key', '--no-passphrase', '--json'], deps);
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ code: 'USAGE_CONFLICT', message: '--subject makes a new root; --root-cert adopts an existing one: give one of them', details: { input: ['subject', 'rootCert'] } });
    expect(fs.existsSync(dir)).toBe(false);
    // A new CA key without a passphrase: the library's warning names the input, the CLI's the flag.
    const made = await cli(['init', '--dir', dir, '--subject', 'CN=Root', '--no-passphrase'], deps);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/^warning: --no-passphrase: the root CA key \S+ is stored UNENCRYPTED/m);
    expect(made.stderr).not.toContain('input.');
    const libDeps = makeDeps(cwd, { seed: 'library' });
    await createCa(libDeps, { dir, name: 'issuing-1', parent: 'root', subject: 'CN=Issuing', noPassphrase: true });
    expect(libDeps.err.join('')).toMatch(/^warning: input\.noPassphrase: CA issuing-1's key \S+ is stored UNENCRYPTED/m);
    // Inputs that exclude each other, through the library and the CLI.
    const rootAndParent = await thrown(createCa(deps, { dir, name: 'x', root: true, parent: 'root', subject: 'CN=X', noPassphrase: true }));
    expect(rootAndParent).toMatchObject({ code: 'USAGE_CONFLICT', message: 'input.root makes a self-signed CA: it takes no input.parent', details: { input: ['root', 'parent'] } });
    const before = snapshot(dir);
    const c = await cli(['ca', 'create', 'x', '--dir', dir, '--root', '--parent', 'root', '--subject', 'CN=X', '--no-passphrase'], deps);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('error: --root makes a self-signed CA: it takes no --parent');
    expect(c.stderr).toContain('(USAGE_CONFLICT, exit 2)');
    const p = await cli(['ca', 'create', 'x', '--dir', dir, '--parent', 'nope', '--subject', 'CN=X', '--no-passphrase', '--json'], deps);
    expect(p.code).toBe(5);
    expect(p.json.error).toMatchObject({ code: 'NOT_FOUND_CA', details: { ca: 'nope', input: 'parent' } });
    expect(p.json.error.message).toMatch(/^--parent nope: no such CA/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('pki import easy-rsa --pki-dir and pki crl generate --first-crl-number: the library names input.pkiDir / input.firstCrlNumber, the CLI the flags', async () => {
    const { cwd, dir, deps } = await makePki();
    const absent = join(cwd, 'no-such-pki');
    const lib = await thrown(importEasyRsa(deps, { dir, name: 'old', pkiDir: absent, noPassphrase: true }));
    expect(lib).toMatchObject({ code: 'NOT_FOUND_FILE', message: `input.pkiDir ${absent}: no such directory; nothing was imported`, details: { flag: 'input.pkiDir', input: 'pkiDir' } });
    const before = snapshot(dir);
    const r = await cli(['import', 'easy-rsa', '--name', 'old', '--pki-dir', absent, '--dir', dir, '--no-passphrase', '--json'], deps);
    expect(r.code).toBe(5);
    expect(r.json.error).toMatchObject({ code: 'NOT_FOUND_FILE', message: `--pki-dir ${absent}: no such directory; nothing was imported`, details: { flag: '--pki-dir', input: 'pkiDir' } });
    expect(snapshot(dir)).toEqual(before);
    expect((await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, '1.crl'), '--dir', dir], deps)).code).toBe(0);
    const again = await cli(['crl', 'generate', '--ca', 'issuing-1', '--first-crl-number', '7', '--out', join(cwd, '2.crl'), '--dir', dir, '--json'], deps);
    expect(again.code).toBe(2);
    expect(again.json.error).toMatchObject({ code: 'USAGE_FIRST_CRL_NUMBER', message: "--first-crl-number is only for a CA's first CRL here; CA issuing-1 already has CRL #1", details: { input: 'firstCrlNumber' } });
    expect(fs.existsSync(join(cwd, '2.crl'))).toBe(false);
  });

  it('pki credential-process: the request checks name input.roleArn / input.endpoint / input.timeoutSeconds; the CLI shows --role-arn, --endpoint, --timeout', async () => {
    const cwd = tempDir('pki-input-');
    const deps = makeDeps(cwd);
    const id = '0123456789abcdef0123456789abcdef0123';
    const base = {
      certificate: 'c.pem',
      privateKey: 'k.pem',
      trustAnchorArn: `arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/${id}`,
      profileArn: `arn:aws:rolesanywhere:us-east-1:111122223333:profile/${id}`,
      roleArn: 'arn:aws:iam::111122223333:role/r',
    };
    const role = await thrown(credentialProcess(deps, { ...base, roleArn: 'r' }));
    expect(role).toMatchObject({ code: 'USAGE_BAD_ARN', message: 'input.roleArn "r" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)', details: { flag: 'input.roleArn', input: 'roleArn' } });
    const endpoint = await thrown(credentialProcess(deps, { ...base, endpoint: 'http://example.com' }));
    expect(endpoint).toMatchObject({ code: 'USAGE_INSECURE_ENDPOINT', details: { input: 'endpoint' } });
    expect(endpoint.message).toMatch(/^input\.endpoint "http:\/\/example\.com" is plain HTTP/);
    const timeout = await thrown(credentialProcess(deps, { ...base, timeoutSeconds: 0 }));
    expect(timeout).toMatchObject({ code: 'USAGE_BAD_TIMEOUT', message: 'input.timeoutSeconds 0: give seconds, more than 0 and at most 3600', details: { input: 'timeoutSeconds' } });
    const args = ['credential-process', '--certificate', 'c.pem', '--private-key', 'k.pem', '--trust-anchor-arn', base.trustAnchorArn, '--profile-arn', base.profileArn];
    const r1 = await cli([...args, '--role-arn', 'r', '--json'], deps);
    expect(r1.code).toBe(2);
    expect(r1.json.error).toMatchObject({ code: 'USAGE_BAD_ARN', message: '--role-arn "r" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)', details: { flag: '--role-arn', input: 'roleArn' } });
    const r2 = await cli([...args, '--role-arn', base.roleArn, '--endpoint', 'http://example.com'], deps);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('error: --endpoint "http://example.com" is plain HTTP to a host that is not loopback');
    expect(r2.stderr).not.toContain('input.');
    const r3 = await cli([...args, '--role-arn', base.roleArn, '--timeout', '0', '--json'], deps);
    expect(r3.code).toBe(2);
    expect(r3.json.error).toMatchObject({ code: 'USAGE_BAD_TIMEOUT', message: '--timeout 0: give seconds, more than 0 and at most 3600', details: { flag: '--timeout', input: 'timeoutSeconds' } });
  });

  it('pki credential-process --intermediates with more than Roles Anywhere accepts: refused before signing, naming input.intermediates (the CLI: --intermediates)', async () => {
    const { cwd, dir, deps } = await makePki();
    const ok = async (argv: string[]) => expect((await cli([...argv, '--dir', dir], deps)).code).toBe(0);
    await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=web', '--key-out', join(cwd, 'web.key'), '--out', join(cwd, 'web.pem')]);
    await ok(['ca', 'export', 'issuing-1', '--out', join(cwd, 'issuing.pem')]);
    fs.writeFileSync(join(cwd, 'six.pem'), fs.readFileSync(join(cwd, 'issuing.pem'), 'utf8').repeat(6));
    const id = '0123456789abcdef0123456789abcdef0123';
    const input = {
      certificate: join(cwd, 'web.pem'),
      privateKey: join(cwd, 'web.key'),
      intermediates: join(cwd, 'six.pem'),
      trustAnchorArn: `arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/${id}`,
      profileArn: `arn:aws:rolesanywhere:us-east-1:111122223333:profile/${id}`,
      roleArn: 'arn:aws:iam::111122223333:role/r',
      // Nothing listens here: the refusal comes before any request.
      endpoint: 'http://127.0.0.1:9',
    };
    const lib = await thrown(credentialProcess(deps, input));
    expect(lib).toMatchObject({ code: 'POLICY_CHAIN_TOO_LONG', message: 'input.intermediates holds 6 certificates; Roles Anywhere accepts at most 5 in X-Amz-X509-Chain', details: { count: 6, input: 'intermediates' } });
    const r = await cli(['credential-process', '--certificate', input.certificate, '--private-key', input.privateKey, '--intermediates', input.intermediates, '--trust-anchor-arn', input.trustAnchorArn, '--profile-arn', input.profileArn, '--role-arn', input.roleArn, '--endpoint', input.endpoint, '--json'], deps);
    expect(r.code).toBe(4);
    expect(r.json.error).toMatchObject({ code: 'POLICY_CHAIN_TOO_LONG', message: '--intermediates holds 6 certificates; Roles Anywhere accepts at most 5 in X-Amz-X509-Chain', details: { input: 'intermediates' } });
  });

  it('pki issue: conflicting inputs and a missing --batch directory name input fields in the library; the CLI shows --key-out, --csr, --batch', async () => {
    const { cwd, dir, deps } = await makePki();
    const before = snapshot(cwd);
    const lib = await thrown(issueCertificate(deps, { dir, ca: 'issuing-1', csr: join(cwd, 'x.csr'), keyOut: join(cwd, 'k.pem') }));
    expect(lib).toMatchObject({ code: 'USAGE_CONFLICT', message: 'input.keyOut cannot be used with input.csr (the key stays with whoever made the CSR)', details: { input: ['keyOut', 'csr'] } });
    const text = await cli(['issue', '--ca', 'issuing-1', '--csr', join(cwd, 'x.csr'), '--key-out', join(cwd, 'k.pem'), '--dir', dir], deps);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('error: --key-out cannot be used with --csr (the key stays with whoever made the CSR)');
    expect(text.stderr).toContain('(USAGE_CONFLICT, exit 2)');
    expect(text.stderr).not.toContain('input.');
    const missing = await cli(['issue', '--ca', 'issuing-1', '--dir', dir, '--json'], deps);
    expect(missing.code).toBe(2);
    expect(missing.json.error).toMatchObject({ code: 'USAGE_MISSING_INPUT', message: 'give --csr FILE, or --subject "CN=..." with --key-out FILE, or --batch DIR', details: { input: ['csr', 'subject', 'keyOut', 'batch'] } });
    const absent = join(cwd, 'no-such-dir');
    const libBatch = await thrown(issueBatch(deps, { dir, ca: 'issuing-1', batch: absent, outDir: join(cwd, 'certs') }));
    expect(libBatch).toMatchObject({ code: 'NOT_FOUND_DIRECTORY', message: `input.batch ${absent}: no such directory`, details: { dir: absent, input: 'batch' } });
    const batch = await cli(['issue', '--ca', 'issuing-1', '--batch', absent, '--out-dir', join(cwd, 'certs'), '--dir', dir, '--json'], deps);
    expect(batch.code).toBe(5);
    expect(batch.json.error).toMatchObject({ code: 'NOT_FOUND_DIRECTORY', message: `--batch ${absent}: no such directory`, details: { dir: absent, input: 'batch' } });
    expect(snapshot(cwd)).toEqual(before);
  });

  it('pki issue --batch --resume with nothing to resume: the library names input.resume (message and hint), the CLI --resume', async () => {
    const { cwd, dir, deps } = await makePki();
    const csrDir = join(cwd, 'csrs');
    fs.mkdirSync(csrDir);
    expect((await cli(['csr', '--subject', 'CN=a', '--key-out', join(cwd, 'a.key'), '--out', join(csrDir, 'a.csr')], deps)).code).toBe(0);
    const outDir = join(cwd, 'certs');
    const before = snapshot(cwd);
    const lib = await thrown(issueBatch(deps, { dir, ca: 'issuing-1', batch: csrDir, outDir, resume: true }));
    expect(lib).toMatchObject({ code: 'NOT_FOUND_BATCH', details: { input: 'resume' }, hint: 'run the batch without input.resume' });
    expect(lib.message).toMatch(/^input\.resume: no batch from /);
    const r = await cli(['issue', '--ca', 'issuing-1', '--batch', csrDir, '--out-dir', outDir, '--resume', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(5);
    expect(r.json.error).toMatchObject({ code: 'NOT_FOUND_BATCH', message: `--resume: no batch from ${csrDir} into ${outDir} by CA issuing-1 is on record`, hint: 'run the batch without --resume', details: { input: 'resume' } });
    expect(snapshot(cwd)).toEqual(before);
  });

  it('pki issue --chain-out from a root: the result note names input.chainOut; the CLI shows --chain-out and the flags of the commands that would read the file', async () => {
    const { cwd, dir, deps } = await makePki();
    const chainOut = join(cwd, 'chain.pem');
    const lib = await issueCertificate(deps, { dir, ca: 'root', subject: 'CN=direct', keyOut: join(cwd, 'k1.pem'), out: join(cwd, 'c1.pem'), chainOut });
    expect(lib.chainNote).toBe(`input.chainOut ${chainOut}: not written: CA root is a root, so the certificate needs no intermediates`);
    const r = await cli(['issue', '--ca', 'root', '--subject', 'CN=direct', '--key-out', join(cwd, 'k2.pem'), '--out', join(cwd, 'c2.pem'), '--chain-out', chainOut, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(0);
    const shown = `--chain-out ${chainOut}: not written: CA root is a root, so the certificate needs no intermediates (omit --intermediates / --chain)`;
    expect(r.json.data.chainNote).toBe(shown);
    expect(r.stderr).toContain(`note: ${shown}\n`);
    expect(r.stderr).not.toContain('input.');
    expect(fs.existsSync(chainOut)).toBe(false);
  });

  it('pki crl check / crl generate: the library names input.ca, input.crl, input.issuer, input.nextUpdate; the CLI the flags', async () => {
    const { cwd, dir, deps } = await makePki();
    const lib = await thrown(checkCrl(deps, { dir }));
    expect(lib).toMatchObject({ code: 'USAGE_MISSING_INPUT', message: 'give input.ca NAME (the latest CRL in the store) or input.crl FILE', details: { input: ['ca', 'crl'] } });
    const none = await cli(['crl', 'check', '--dir', dir, '--json'], deps);
    expect(none.code).toBe(2);
    expect(none.json.error).toMatchObject({ code: 'USAGE_MISSING_INPUT', message: 'give --ca NAME (the latest CRL in the store) or --crl FILE', details: { input: ['ca', 'crl'] } });
    const crlFile = join(cwd, 'issuing.crl');
    expect((await cli(['crl', 'generate', '--ca', 'issuing-1', '--out', crlFile, '--dir', dir], deps)).code).toBe(0);
    const absent = join(cwd, 'no-issuer.pem');
    const libIssuer = await thrown(checkCrl(deps, { dir, crl: crlFile, issuer: absent }));
    expect(libIssuer).toMatchObject({ code: 'NOT_FOUND_FILE', message: `input.issuer ${absent}: no such file`, details: { flag: 'input.issuer' } });
    const issuer = await cli(['crl', 'check', '--crl', crlFile, '--issuer', absent, '--dir', dir], deps);
    expect(issuer.code).toBe(5);
    expect(issuer.stderr).toContain(`error: --issuer ${absent}: no such file`);
    expect(issuer.stderr).not.toContain('input.');
    const before = snapshot(cwd);
    const libPast = await thrown(generateCrl(deps, { dir, ca: 'issuing-1', nextUpdate: '900y', out: join(cwd, 'long.crl') }));
    expect(libPast).toMatchObject({ code: 'POLICY_CRL_PAST_CA', hint: 'use a shorter input.nextUpdate, or rotate the CA', details: { input: 'nextUpdate' } });
    const past = await cli(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '900y', '--out', join(cwd, 'long.crl'), '--dir', dir, '--json'], deps);
    expect(past.code).toBe(4);
    expect(past.json.error).toMatchObject({ code: 'POLICY_CRL_PAST_CA', hint: 'use a shorter --next-update, or rotate the CA', details: { input: 'nextUpdate' } });
    const bad = await cli(['crl', 'generate', '--ca', 'issuing-1', '--next-update', 'soon', '--dir', dir], deps);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: --next-update: "soon" is not a duration');
    expect(snapshot(cwd)).toEqual(before);
  });

  it('pki issue --validity past the issuer: the planning hint names input.validity in the library, --validity in the CLI', async () => {
    const cwd = tempDir('pki-input-');
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=Short Root', '--validity', '30d', '--no-passphrase'], deps)).code).toBe(0);
    const before = snapshot(cwd);
    const lib = await thrown(issueCertificate(deps, { dir, ca: 'root', csr: fixture('csr/p256.csr'), validity: '60d', out: join(cwd, 'o.pem') }));
    expect(lib).toMatchObject({ code: 'POLICY_VALIDITY_EXCEEDS_ISSUER', hint: 'ask for a shorter input.validity, or rotate the CA', details: { input: 'validity' } });
    const r = await cli(['issue', '--ca', 'root', '--csr', fixture('csr/p256.csr'), '--validity', '60d', '--out', join(cwd, 'o.pem'), '--dir', dir, '--json'], deps);
    expect(r.code).toBe(4);
    expect(r.json.error).toMatchObject({ code: 'POLICY_VALIDITY_EXCEEDS_ISSUER', hint: 'ask for a shorter --validity, or rotate the CA', details: { input: 'validity' } });
    expect(snapshot(cwd)).toEqual(before);
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
