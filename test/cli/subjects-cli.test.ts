/**
 * Subjects and profiles (attribute matching, control characters refused and escaped) and CLI behaviour a user
 * expects: numeric options checked, no help for "-dash", no passphrase echoed, "did you mean", human-readable and
 * calendar durations, profile paths, `crl export --format der`, `crl inspect --entries` order.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signatureAlgorithmFor } from '../../src/crypto/keys.js';
import { addDuration, parseDurationParts } from '../../src/domain/duration.js';
import { escapeControls } from '../../src/cli/output/render.js';
import { parseProfile } from '../../src/profile/load.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { buildCsrWithKey as buildCsr } from '../helpers.js';
import { encodeExtension, encodeSans } from '../../src/x509/extensions.js';
import { encodeName, parseDn } from '../../src/x509/name.js';
import { toPem } from '../../src/asn1/pem.js';
import { cli, makePki, snapshot } from '../helpers.js';

/** A CSR for `subject` (RFC 4514, most specific first) with optional SANs, written to `path`. */
function csrFile(path: string, subject: string, sans: Array<{ type: 'dns' | 'uri' | 'email' | 'ip'; value: string }> = []): string {
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const extensions = sans.length ? [encodeExtension('2.5.29.17', false, encodeSans(sans))] : [];
  fs.writeFileSync(path, toPem('CERTIFICATE REQUEST', buildCsr(encodeName(parseDn(subject)), key, signatureAlgorithmFor('ecdsa-p256'), extensions)));
  return path;
}

describe('profiles match subject attributes, in any order', () => {
  it('ok/the shipped workload profile accepts openssl -subj "/CN=web-01/O=Example" (O=Example,CN=web-01)', async () => {
    const { cwd, dir, deps } = await makePki();
    const csr = join(cwd, 'web.csr');
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(cwd, 'web.key'), '-subj', '/CN=web-01/O=Example', '-out', csr], {
      stdio: 'ignore',
    });
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', csr, '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data.subject).toBe('O=Example,CN=web-01');
  });

  it('fail/the shipped workload profile refuses a subject without a CN', async () => {
    const { cwd, dir, deps } = await makePki();
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', csrFile(join(cwd, 'o.csr'), 'O=Example,OU=Web'), '--dir', dir, '--json'], deps);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_SUBJECT_NOT_ALLOWED');
    expect(r.json.error.message).toContain('has no CN');
  });

  it('ok/require + match: each attribute against its own pattern, any order; others refused', async () => {
    const { cwd, dir, deps } = await makePki();
    fs.writeFileSync(
      join(cwd, 'web.yaml'),
      "kind: leaf\nvalidity: { default: 1h, max: 12h }\nsubject:\n  require: [CN, O]\n  match:\n    cn: 'web-[0-9]+'\n    organizationName: 'Example'\n",
    );
    const issue = (name: string, subject: string) => cli(['issue', '--ca', 'issuing-1', '--csr', csrFile(join(cwd, name), subject), '--profile', join(cwd, 'web.yaml'), '--dir', dir, '--json'], deps);
    expect((await issue('a.csr', 'CN=web-01,O=Example')).code).toBe(0);
    expect((await issue('b.csr', 'O=Example,CN=web-02')).code).toBe(0);
    const bad = await issue('c.csr', 'CN=db-01,O=Example,OU=Ops');
    expect(bad.code).toBe(4);
    const messages = (bad.json.error.details.problems as Array<{ message: string }>).map((p) => p.message).join('\n');
    expect(messages).toContain('CN="db-01" does not match web-[0-9]+');
    expect(messages).toContain('subject attribute OU is not allowed');
    expect((await issue('d.csr', 'CN=web-03')).json.error.message).toContain('has no O');
  });

  it('fail/an unknown attribute type in subject.match or subject.require is a PROFILE_INVALID with its location', () => {
    const err = (text: string) => {
      try {
        parseProfile(text, 'p.yaml');
      } catch (e) {
        return e as Error & { code: string };
      }
      throw new Error('no error');
    };
    const e1 = err("kind: leaf\nvalidity: { default: 1h, max: 2h }\nsubject:\n  match:\n    Colour: 'red'\n");
    expect(e1.code).toBe('PROFILE_INVALID');
    expect(e1.message).toMatch(/^p\.yaml:5:5: subject\.match\.Colour: "Colour" is not an attribute type/);
    expect(err("kind: leaf\nvalidity: { default: 1h, max: 2h }\nsubject:\n  require: [Colour]\n").code).toBe('PROFILE_INVALID');
    // The old, ordered form keeps working.
    expect(parseProfile("kind: leaf\nvalidity: { default: 1h, max: 2h }\nsubject:\n  allow: ['CN=.+']\n", 'p.yaml').subject.allow).toHaveLength(1);
  });
});

describe('old profile syntax', () => {
  it('fail/subject.allow still matches the ordered string, and its refusal says how to match attributes instead', async () => {
    const { cwd, dir, deps } = await makePki();
    fs.writeFileSync(join(cwd, 'old.yaml'), "kind: leaf\nvalidity: { default: 1h, max: 12h }\nsubject:\n  allow: ['CN=[^,+]+(,.*)?']\n");
    const ok = await cli(['issue', '--ca', 'issuing-1', '--csr', csrFile(join(cwd, 'a.csr'), 'CN=web-01,O=Example'), '--profile', join(cwd, 'old.yaml'), '--dir', dir, '--json'], deps);
    expect(ok.code).toBe(0);
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', csrFile(join(cwd, 'b.csr'), 'O=Example,CN=web-01'), '--profile', join(cwd, 'old.yaml'), '--dir', dir, '--json'], deps);
    expect(r.json.error.code).toBe('POLICY_SUBJECT_NOT_ALLOWED');
    expect(r.json.error.hint).toContain('subject.require and subject.match');
  });
});

describe('control characters', () => {
  it('fail/the shipped CA profiles refuse control characters in a CA subject (pki init, ca create)', async () => {
    const { cwd, dir, deps } = await makePki();
    const before = snapshot(cwd);
    const r = await cli(['ca', 'create', 'bad', '--parent', 'root', '--subject', 'CN=Issuing\x1b[2J', '--no-passphrase', '--dir', dir, '--json'], deps);
    expect(r.json.error.code).toBe('POLICY_SUBJECT_NOT_ALLOWED');
    expect(snapshot(cwd)).toEqual(before);
    const init = await cli(['init', '--dir', join(cwd, 'other'), '--subject', 'CN=Root\rX', '--no-passphrase', '--json'], deps);
    expect(init.json.error.code).toBe('POLICY_SUBJECT_NOT_ALLOWED');
    expect(fs.existsSync(join(cwd, 'other'))).toBe(false);
  });

  it('fail/ESC, CR and NUL in a CSR subject, and CR in a SAN, are refused by the shipped profile', async () => {
    const { cwd, dir, deps } = await makePki();
    for (const [name, subject, sans] of [
      ['esc.csr', 'CN=web\x1b[2J-01', []],
      ['cr.csr', 'CN=web\r-01,O=Example', []],
      ['nul.csr', 'O=Ex\x00ample,CN=web-01', []],
      ['san.csr', 'CN=web-01', [{ type: 'uri' as const, value: 'spiffe://example.com/a\rb' }]],
      ['c1.csr', 'CN=web\u009b31m', []],
    ] as const) {
      const before = snapshot(cwd);
      const r = await cli(['issue', '--ca', 'issuing-1', '--csr', csrFile(join(cwd, name), subject, [...sans]), '--dir', dir], deps);
      expect(r.code, name).toBe(4);
      expect(r.stderr, name).toContain('control characters');
      expect(r.stderr, name).not.toMatch(/[\x00\x1b\r\u009b]/);
      fs.rmSync(join(cwd, name));
      expect(snapshot(cwd)).toEqual(before);
    }
  });

  it('ok/a profile that allows them still never prints them raw: list, show and issue escape them', async () => {
    const { cwd, dir, deps } = await makePki();
    fs.writeFileSync(join(cwd, 'loose.yaml'), 'kind: leaf\nvalidity: { default: 1h, max: 12h }\n');
    const csr = csrFile(join(cwd, 'esc.csr'), 'CN=web\x1b[2J\r-01');
    const issued = await cli(['issue', '--ca', 'issuing-1', '--csr', csr, '--profile', join(cwd, 'loose.yaml'), '--out', join(cwd, 'esc.pem'), '--dir', dir], deps);
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stdout).toContain('CN=web\\x1b[2J\\x0d-01');
    const list = await cli(['list', '--dir', dir], deps);
    expect(list.stdout).toContain('CN=web\\x1b[2J\\x0d-01');
    expect(list.stdout).not.toMatch(/[\x1b\r]/);
    const serial = readCertificate(fs.readFileSync(join(cwd, 'esc.pem')), 'esc.pem').serialHex;
    const show = await cli(['show', serial, '--dir', dir], deps);
    expect(show.stdout).not.toMatch(/[\x1b\r]/);
    // JSON keeps the exact value (JSON escapes it).
    const json = await cli(['show', serial, '--dir', dir, '--json'], deps);
    expect(json.json.data.subject).toBe('CN=web\x1b[2J\r-01');
  });

  it('ok/escapeControls: C0 (not newline or tab), DEL and C1 become \\xHH', () => {
    expect(escapeControls('a\x1b[31mb\r\n\tc\x00\x7f\u0085é')).toBe('a\\x1b[31mb\\x0d\n\tc\\x00\\x7f\\x85é');
  });
});

describe('durations', () => {
  it('ok/10y is ten calendar years; 29 February rolls to 1 March', () => {
    expect(addDuration(new Date('2026-03-01T12:00:00Z'), parseDurationParts('10y', 'x')).toISOString()).toBe('2036-03-01T12:00:00.000Z');
    expect(addDuration(new Date('2028-02-29T00:00:00Z'), parseDurationParts('1y1d', 'x')).toISOString()).toBe('2029-03-02T00:00:00.000Z');
  });

  it('fail/a validity over the maximum is reported as written (91d, 90d), not in seconds', async () => {
    const { cwd, dir, deps } = await makePki();
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', csrFile(join(cwd, 'a.csr'), 'CN=a'), '--validity', '91d', '--dir', dir, '--json'], deps);
    expect(r.json.error.code).toBe('POLICY_VALIDITY_TOO_LONG');
    expect(r.json.error.message).toContain('requested validity 91d exceeds profile roles-anywhere-workload\'s maximum of 90d');
    expect(r.json.error.message).not.toMatch(/\d+s\b/);
  });

  it('ok/ca create --validity 2y ends two calendar years later', async () => {
    const { dir, deps } = await makePki();
    const r = await cli(['ca', 'create', 'i2', '--parent', 'root', '--subject', 'CN=I2', '--validity', '2y', '--no-passphrase', '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    const show = await cli(['ca', 'list', '--dir', dir, '--json'], deps);
    const i2 = show.json.data.find((c: any) => c.name === 'i2');
    expect(new Date(i2.notAfter).toISOString()).toBe('2028-03-01T12:00:00.000Z');
  });
});

describe('CLI arguments', () => {
  it.each([['abc'], ['-5'], ['0'], ['1.5']])('fail/list --limit %s is USAGE_BAD_LIMIT (exit 2)', async (v) => {
    const { dir, deps } = await makePki();
    const r = await cli(['list', '--limit', v, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('USAGE_BAD_LIMIT');
  });

  it('ok/list --limit 1 lists one row', async () => {
    const { cwd, dir, deps } = await makePki();
    for (const n of ['a', 'b']) await cli(['issue', '--ca', 'issuing-1', '--csr', csrFile(join(cwd, `${n}.csr`), `CN=${n}`), '--dir', dir], deps);
    expect((await cli(['list', '--limit', '1', '--dir', dir, '--json'], deps)).json.data).toHaveLength(1);
  });

  it('fail/pki ca create -dash is a usage error, not help with exit 0', async () => {
    const { cwd, dir, deps } = await makePki();
    const before = snapshot(cwd);
    const r = await cli(['ca', 'create', '-dash', '--dir', dir], deps);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('-dash is not an option');
    expect(snapshot(cwd)).toEqual(before);
  });

  it('fail/--passphrase -Secret never prints the characters of the value', async () => {
    const { dir, deps } = await makePki();
    const r = await cli(['ca', 'create', 'x', '--parent', 'root', '--subject', 'CN=X', '--passphrase', '-Secret', '--dir', dir], deps);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE_PASSPHRASE_ARGUMENT');
    expect(r.stderr + r.stdout).not.toMatch(/Secret|S, e, c/);
  });

  it('fail/unknown commands and options get a suggestion', async () => {
    const { dir, deps } = await makePki();
    expect((await cli(['isue', '--dir', dir], deps)).stderr).toContain('did you mean issue?');
    expect((await cli(['issue', '--ca', 'issuing-1', '--csrr', 'x', '--dir', dir], deps)).stderr).toContain('did you mean --csr?');
    expect((await cli(['list', '--limt', '3', '--dir', dir], deps)).stderr).toContain('did you mean --limit?');
  });

  it('ok/--profile config.json and ./x.yaml are files, not names', async () => {
    const { cwd, dir, deps } = await makePki();
    fs.writeFileSync(join(cwd, 'config.json'), JSON.stringify({ kind: 'leaf', validity: { default: '2h', max: '4h' } }));
    fs.writeFileSync(join(cwd, 'x.yaml'), 'kind: leaf\nvalidity: { default: 3h, max: 4h }\n');
    const csr = csrFile(join(cwd, 'a.csr'), 'CN=a');
    const a = await cli(['issue', '--ca', 'issuing-1', '--csr', csr, '--profile', 'config.json', '--dir', dir, '--json'], deps);
    expect(a.code, a.stdout).toBe(0);
    expect(a.json.data.profile).toBe('config');
    const b = await cli(['issue', '--ca', 'issuing-1', '--csr', csr, '--profile', './x.yaml', '--dir', dir, '--json'], deps);
    expect(b.code, b.stdout).toBe(0);
    expect(new Date(b.json.data.notAfter).getTime() - new Date('2026-03-01T12:00:00Z').getTime()).toBe(3 * 3600 * 1000);
  });
});
