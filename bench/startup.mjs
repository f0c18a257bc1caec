/**
 * Section "startup": `pki credential-process` obtaining credentials from the emulator on 127.0.0.1 (a process of
 * its own each time, as an AWS SDK runs it) against `node -e 0`, alternating; and, when $AWS_SIGNING_HELPER names
 * the official helper's binary, `aws_signing_helper credential-process` against the same emulator in the same
 * rotation. The emulator answers from this process, so the network part is a loopback round trip.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { CLI, QUICK, ROOT, fmtX, log, median, timedAsync } from './lib.mjs';

export async function run({ work, repeat }) {
  const RUNS = Math.max(repeat, Number(process.env.STARTUP_RUNS ?? (QUICK ? 5 : 30)));
  const helper = process.env.AWS_SIGNING_HELPER;
  if (helper && !fs.existsSync(helper)) throw new Error(`AWS_SIGNING_HELPER=${helper}: no such file`);
  const { startEmulator } = await import(join(ROOT, 'dist/emulator/server.js'));
  const emu = await startEmulator({ ratePerSecond: 0 });
  try {
    const dir = join(work, 'pki-startup');
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };
    const pki = (...args) =>
      new Promise((resolve, reject) => execFile(process.execPath, [CLI, ...args, '--dir', dir], { env, encoding: 'utf8' }, (e, out) => (e ? reject(e) : resolve(out))));
    await pki('init', '--subject', 'CN=Startup Root', '--no-passphrase');
    const anchor = JSON.parse(await pki('anchor', 'push', '--name', 'bench', '--ca', 'root', '--enable', '--endpoint', emu.url, '--api-rate', '0', '--json')).data.arn;
    const cert = join(work, 'startup.pem');
    const key = join(work, 'startup.key');
    await pki('issue', '--ca', 'root', '--subject', 'CN=startup', '--key-out', key, '--out', cert);
    const res = await fetch(`${emu.url}/profiles`, {
      method: 'POST',
      headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host, Signature=00', 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'bench', roleArns: ['arn:aws:iam::123456789012:role/bench'], enabled: true }),
    });
    const profileArn = (await res.json()).profile.profileArn;
    const common = ['--certificate', cert, '--private-key', key, '--trust-anchor-arn', anchor, '--profile-arn', profileArn, '--role-arn', 'arn:aws:iam::123456789012:role/bench', '--endpoint', emu.url];
    const pkiArgs = [CLI, 'credential-process', ...common];
    const check = (out, who) => {
      if (!JSON.parse(out).AccessKeyId) throw new Error(`${who} printed no credentials`);
    };
    check((await timedAsync(process.execPath, pkiArgs)).out, 'pki credential-process');
    if (helper) check((await timedAsync(helper, ['credential-process', ...common])).out, 'aws_signing_helper');
    const t = { node: [], pki: [], go: [], rNode: [], rGo: [] };
    for (let i = 0; i < RUNS; i++) {
      const n = (await timedAsync(process.execPath, ['-e', '0'])).seconds;
      const p = await timedAsync(process.execPath, pkiArgs);
      check(p.out, 'pki credential-process');
      t.node.push(n);
      t.pki.push(p.seconds);
      t.rNode.push(p.seconds / n);
      if (helper) {
        const g = await timedAsync(helper, ['credential-process', ...common]);
        check(g.out, 'aws_signing_helper');
        t.go.push(g.seconds);
        t.rGo.push(p.seconds / g.seconds);
      }
    }
    const ms = (xs) => `${(median(xs) * 1000).toFixed(0)} ms`;
    console.log(`\ncredential-process start-up (${RUNS} alternating rounds, medians; credentials from the emulator on 127.0.0.1)\n`);
    console.log(['what', 'median', 'pki ×'].join(' | '));
    console.log(['node -e 0', ms(t.node), fmtX(median(t.rNode))].join(' | '));
    console.log(['pki credential-process', ms(t.pki), '1'].join(' | '));
    if (helper) console.log(['aws_signing_helper credential-process', ms(t.go), fmtX(median(t.rGo))].join(' | '));
    else log('startup: AWS_SIGNING_HELPER is not set: the aws_signing_helper row is skipped');
    const rn = median(t.rNode);
    const rows = [{ work: 'pki credential-process vs node -e 0', pki: ms(t.pki), ref: `node -e 0 ${ms(t.node)}`, ratio: fmtX(rn), target: '≤ 1.3×', met: rn <= 1.3 }];
    if (helper) rows.push({ work: 'same, beside aws_signing_helper credential-process (same emulator)', pki: ms(t.pki), ref: `aws_signing_helper ${ms(t.go)}`, ratio: fmtX(median(t.rGo)), target: 'reported', met: undefined });
    return rows;
  } finally {
    await emu.close();
  }
}
