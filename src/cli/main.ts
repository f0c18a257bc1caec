#!/usr/bin/env node
/** The only module that touches process state: argv, env, real stdio, the real clock and CSPRNG, the exit code. */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { run } from './run.js';
import { promptSecret } from './prompt.js';

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

run(process.argv.slice(2), {
  now: () => new Date(),
  randomBytes: (n) => randomBytes(n),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  interactive,
  promptSecret,
  actor: actor(),
  waitForShutdown: () =>
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
