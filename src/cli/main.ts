#!/usr/bin/env node
/** The only module that touches process state: argv, env, real stdio, the real clock and CSPRNG, the exit code. */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Deps } from '../ports.js';

function actor(): string {
  let user = process.env.USER ?? '';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry: keep $USER */
  }
  return `${user || 'unknown'}@${hostname()}`;
}

const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !process.argv.includes('--json');

const argv = process.argv.slice(2);
const deps: Deps = {
  now: () => new Date(),
  randomBytes: (n) => randomBytes(n),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  interactive,
  promptSecret: async (prompt) => (await import('./prompt.js')).promptSecret(prompt),
  actor: actor(),
  waitForShutdown: () =>
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
  onSignal: (handler) => {
    // The first SIGINT/SIGTERM asks the command to stop at a safe point; a second one stops the process at once.
    let asked = false;
    const on = (signal: 'SIGINT' | 'SIGTERM') => () => {
      if (asked) {
        off();
        process.kill(process.pid, signal);
        return;
      }
      asked = true;
      handler(signal);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    const off = () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    return off;
  },
};

// credential-process runs for every AWS credential refresh: it skips loading yargs and the other commands.
const fastPath = argv[0] === 'credential-process' && !argv.some((a) => ['--help', '-h', '--json', '--version'].includes(a));
(fastPath ? import('./fast.js').then((m) => m.runCredentialProcess(argv.slice(1), deps)) : import('./run.js').then((m) => m.run(argv, deps))).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
