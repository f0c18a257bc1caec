/**
 * Outputs are files replaced atomically (a new file renamed over the old one). Renaming over a device, FIFO or socket
 * would replace it — run as root with `--out /dev/null --force`, /dev/null itself became a regular file. Such paths
 * are refused, and the clean-up after a failed command never removes them.
 */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeQuietly, writeFileAtomic } from '../../src/fs/files.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

const mkfifo = (path: string): void => {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
};

describe('outputs never replace a device, FIFO or socket', () => {
  it('fail/writeFileAtomic refuses a FIFO and a link to one (IO_NOT_A_FILE), with or without force; the FIFO stays', () => {
    const dir = tempDir('pki-out-');
    const fifo = join(dir, 'pipe');
    mkfifo(fifo);
    const link = join(dir, 'link');
    fs.symlinkSync(fifo, link);
    for (const path of [fifo, link])
      for (const force of [false, true]) expect(() => writeFileAtomic(path, 'x', { force, flag: '--out' })).toThrow(expect.objectContaining({ code: 'IO_NOT_A_FILE', details: expect.objectContaining({ file: path }) }));
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['link', 'pipe']);
  });

  it('ok/a regular file, a link to one, and a new path are still written (force replaces)', () => {
    const dir = tempDir('pki-out-');
    const file = join(dir, 'a.pem');
    writeFileAtomic(file, 'one');
    expect(() => writeFileAtomic(file, 'two')).toThrow(expect.objectContaining({ code: 'STATE_OUTPUT_EXISTS' }));
    writeFileAtomic(file, 'two', { force: true });
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
  });

  it('ok/the clean-up after a failed command removes files and directories, never a FIFO or a link', () => {
    const dir = tempDir('pki-out-');
    const fifo = join(dir, 'pipe');
    mkfifo(fifo);
    const link = join(dir, 'link');
    fs.symlinkSync(join(dir, 'f'), link);
    fs.writeFileSync(join(dir, 'f'), 'x');
    fs.mkdirSync(join(dir, 'd'));
    removeQuietly([fifo, link, join(dir, 'f'), join(dir, 'd')]);
    expect(fs.readdirSync(dir).sort()).toEqual(['link', 'pipe']);
  });

  it('fail/through the CLI: pki crl generate --out FIFO --force is IO_NOT_A_FILE (exit 8) naming the flag', async () => {
    const cwd = tempDir('pki-out-');
    const deps = makeDeps(cwd, { seed: 'output-files' });
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=Out Root', '--no-passphrase'], deps)).code).toBe(0);
    const fifo = join(cwd, 'pipe');
    mkfifo(fifo);
    const r = await cli(['crl', 'generate', '--dir', dir, '--ca', 'root', '--out', fifo, '--force', '--json'], deps);
    expect(r.code).toBe(8);
    const err = JSON.parse(r.stdout).error;
    expect(err.code).toBe('IO_NOT_A_FILE');
    expect(err.message).toContain('--out');
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('fail/an output path ending in a slash (or under a file) is refused before anything is signed or recorded', async () => {
    const cwd = tempDir('pki-out-');
    const deps = makeDeps(cwd, { seed: 'output-slash' });
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=Slash Root', '--no-passphrase'], deps)).code).toBe(0);
    const before = JSON.parse((await cli(['list', '--dir', dir, '--json'], deps)).stdout).data.length;
    const issue = await cli(['issue', '--dir', dir, '--ca', 'root', '--subject', 'CN=s', '--key-out', join(cwd, 's.key'), '--out', join(cwd, 'new.pem') + '/', '--json'], deps);
    expect([issue.code, JSON.parse(issue.stdout).error.code]).toEqual([2, 'USAGE_NOT_A_FILE']);
    fs.writeFileSync(join(cwd, 'plain'), 'x');
    const crl = await cli(['crl', 'generate', '--dir', dir, '--ca', 'root', '--out', join(cwd, 'newcrl') + '/', '--force', '--json'], deps);
    expect([crl.code, JSON.parse(crl.stdout).error.code]).toEqual([2, 'USAGE_NOT_A_FILE']);
    const under = await cli(['crl', 'generate', '--dir', dir, '--ca', 'root', '--out', join(cwd, 'plain', 'crl.pem'), '--force', '--json'], deps);
    expect([under.code, JSON.parse(under.stdout).error.code]).toEqual([8, 'IO_NOT_WRITABLE']);
    const listed = await cli(['list', '--dir', dir, '--json'], deps);
    expect(JSON.parse(listed.stdout).data).toHaveLength(before);
    expect(JSON.parse((await cli(['crl', 'list', '--dir', dir, '--ca', 'root', '--json'], deps)).stdout).data).toEqual([]);
    expect(fs.existsSync(join(cwd, 's.key'))).toBe(false);
  });

  it('fail/pki credential update refuses a credentials file that is a FIFO (or a link to one) before asking for credentials', async () => {
    const cwd = tempDir('pki-out-');
    const fifo = join(cwd, 'creds');
    mkfifo(fifo);
    const link = join(cwd, 'link');
    fs.symlinkSync(fifo, link);
    for (const file of [fifo, link]) {
      const r = await cli(['credential', 'update', '--once', '--credentials-file', file, '--certificate', join(cwd, 'none.pem'), '--private-key', join(cwd, 'none.key'), '--trust-anchor-arn', 'arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x', '--profile-arn', 'arn:aws:rolesanywhere:us-east-1:123456789012:profile/x', '--role-arn', 'arn:aws:iam::123456789012:role/x', '--json'], makeDeps(cwd));
      expect([r.code, JSON.parse(r.stdout).error.code]).toEqual([8, 'IO_NOT_A_FILE']);
      expect(JSON.parse(r.stdout).error.message).toContain('--credentials-file');
    }
    expect(fs.readdirSync(cwd).sort()).toEqual(['creds', 'link']);
  });
});
