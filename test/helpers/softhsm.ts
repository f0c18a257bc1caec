/**
 * SoftHSM2 for tests: a token directory and configuration in a temporary directory (SOFTHSM2_CONF), tokens made with
 * `softhsm2-util --init-token`. `softHsmMissing()` says why the PKCS#11 tests cannot run (they skip, printing it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

export const SOFTHSM_MODULE = process.env.SOFTHSM2_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
export const USER_PIN = '246810';
export const SO_PIN = '13579111';

/** Why SoftHSM2 tests cannot run here, or undefined when they can. */
export function softHsmMissing(): string | undefined {
  if (!fs.existsSync(SOFTHSM_MODULE)) return `SoftHSM2 is not installed (no ${SOFTHSM_MODULE}; apt-get install softhsm2 opensc)`;
  if (spawnSync('softhsm2-util', ['--version']).status !== 0) return 'softhsm2-util is not on PATH (apt-get install softhsm2)';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    execFileSync(process.execPath, ['-e', "require('pkcs11js')"], { cwd: new URL('../../', import.meta.url).pathname, stdio: 'ignore' });
  } catch {
    return 'the pkcs11js module is not built (npm install)';
  }
  return undefined;
}

/** Prints why the PKCS#11 tests are skipped (once per file) and returns the reason. */
export function skipReason(): string | undefined {
  const why = softHsmMissing();
  if (why) process.stderr.write(`SKIP PKCS#11 tests: ${why}\n`);
  return why;
}

export interface SoftHsm {
  dir: string;
  conf: string;
  module: string;
  /** Makes a token `label` with the user PIN `pin` (SO PIN {@link SO_PIN}). */
  initToken(label: string, pin?: string): void;
  /** A 0600 file holding `pin`, for pin-source=file:... */
  pinFile(pin?: string): string;
  /** `pkcs11-tool ARGS` against this token directory (stdout). */
  tool(args: string[]): string;
  env: Record<string, string>;
}

/** A fresh SoftHSM2 token directory; sets process.env.SOFTHSM2_CONF (the module reads it when initialised). */
export function softHsm(): SoftHsm {
  const dir = tempDir('pki-softhsm-');
  const tokens = join(dir, 'tokens');
  fs.mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const env = { ...process.env, SOFTHSM2_CONF: conf } as Record<string, string>;
  let n = 0;
  return {
    dir,
    conf,
    module: SOFTHSM_MODULE,
    env,
    initToken(label, pin = USER_PIN) {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', SO_PIN], { env, stdio: 'pipe' });
    },
    pinFile(pin = USER_PIN) {
      const f = join(dir, `pin-${n++}`);
      fs.writeFileSync(f, `${pin}\n`, { mode: 0o600 });
      return f;
    },
    tool(args) {
      return execFileSync('pkcs11-tool', ['--module', SOFTHSM_MODULE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    },
  };
}
