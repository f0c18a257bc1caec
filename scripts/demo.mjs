#!/usr/bin/env node
/**
 * `npm run demo`: the whole lifecycle, offline, in a temporary directory, on the embedded SQLite store.
 * Prints every command it runs and what it printed. Exit code 0 when every step did what it should.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const work = fs.mkdtempSync(join(tmpdir(), 'pki-demo-'));
const dir = join(work, 'pki');
const ran = [];
const haveOpenssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;
/** Credentials for the local emulator: any values work; the emulator checks the SigV4 scope, not the secret. */
const awsEnv = { AWS_ACCESS_KEY_ID: 'AKIDDEMO', AWS_SECRET_ACCESS_KEY: 'demo-secret', AWS_REGION: 'us-east-1' };

function show(text) {
  process.stdout.write(text.replace(new RegExp(work.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), '$DEMO'));
}

/** Runs `pki ...` (or another command), prints it and its output, and fails the demo on an unexpected exit code. */
function step(title, cmd, args, { expect = 0, quiet = false } = {}) {
  const shown = `${cmd === process.execPath ? 'pki' : cmd} ${args.map((a) => (/[\s",]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
  const real = cmd === process.execPath ? [CLI, ...args] : args;
  show(`\n## ${title}\n$ ${shown}\n`);
  ran.push(shown);
  const r = spawnSync(cmd, real, { cwd: work, encoding: 'utf8', env: { ...process.env, PKI_DIR: dir, ...awsEnv } });
  if (!quiet) show(`${r.stdout}${r.stdout && !r.stdout.endsWith('\n') ? '\n' : ''}${r.stderr}`);
  if (r.status !== expect) {
    process.stderr.write(`\ndemo step failed (exit ${r.status}, expected ${expect}): ${shown}\n${r.stdout}${r.stderr}\n`);
    process.exit(1);
  }
  return r;
}
const pki = (title, args, opts) => step(title, process.execPath, args, opts);

/** A CSR made with openssl when it is installed, else with Node's crypto through pki's own CSR encoder. */
async function makeCsr(name, cn, san) {
  const key = join(work, `${name}.key`);
  const csr = join(work, `${name}.csr`);
  if (haveOpenssl) {
    step(`workload ${name} makes its key and CSR`, 'openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/O=Example/CN=${cn}`, ...(san ? ['-addext', `subjectAltName=${san}`] : []), '-out', csr], { quiet: true });
  } else {
    const { assembleCsr, buildCsrInfo } = await import(join(ROOT, 'dist/x509/csr.js'));
    // A workload CSR signed with the script's own key (CA keys sign only through the key store).
    const buildCsr = (subjectDer, key, alg, exts) => {
      const info = buildCsrInfo(subjectDer, crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }), exts);
      return assembleCsr(info, alg, crypto.sign(alg.hash, info, key));
    };
    const { signatureAlgorithmFor } = await import(join(ROOT, 'dist/crypto/keys.js'));
    const { encodeName, parseDn } = await import(join(ROOT, 'dist/x509/name.js'));
    const { toPem } = await import(join(ROOT, 'dist/asn1/pem.js'));
    const kp = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    fs.writeFileSync(key, kp.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    fs.writeFileSync(csr, toPem('CERTIFICATE REQUEST', buildCsr(encodeName(parseDn(`CN=${cn},O=Example`)), kp.privateKey, signatureAlgorithmFor('ecdsa-p256'), [])));
    show(`\n## workload ${name} makes its key and CSR (openssl not installed: made with Node's crypto)\n`);
  }
  return csr;
}

process.stdout.write(`pki demo — everything happens in ${work} (shown as $DEMO), offline, with the embedded SQLite store.\n`);
show('Keys are unencrypted here (--no-passphrase) so that the demo runs unattended; real CA keys should not be.\n');

show(`\n$ export PKI_DIR=${dir}     # every pki command below uses this PKI directory (or pass --dir)\n`);
pki('create the PKI and its root CA', ['init', '--dir', dir, '--subject', 'CN=Demo Root CA,O=Example', '--no-passphrase']);
pki('create an issuing CA below the root', ['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Demo Issuing CA 1,O=Example', '--no-passphrase']);
pki('list the CAs', ['ca', 'list']);

const webKey = join(work, 'web-01.key');
const webCsr = await makeCsr('web-01', 'web-01', 'DNS:web-01.example.com,URI:spiffe://example.com/ns/prod/web');
pki('issue a workload certificate from a CSR', ['issue', '--ca', 'issuing-1', '--csr', webCsr, '--out', 'web-01.pem', '--chain-out', 'chain.pem']);
const app = pki('issue a certificate with a key generated here', [
  'issue', '--ca', 'issuing-1', '--subject', 'CN=app-02,O=Example', '--key-out', 'app-02.key', '--out', 'app-02.pem', '--san', 'dns:app-02.example.com', '--validity', '12h', '--json',
], { quiet: true });
const appSerial = JSON.parse(app.stdout).data.serial;
show(`(JSON result) serial ${appSerial}, key in app-02.key (mode ${(fs.statSync(join(work, 'app-02.key')).mode & 0o777).toString(8)})\n`);

fs.mkdirSync(join(work, 'csrs'));
fs.mkdirSync(join(work, 'certs'));
for (const n of ['batch-1', 'batch-2', 'batch-3']) fs.renameSync(await makeCsr(n, n), join(work, 'csrs', `${n}.csr`));
pki('issue a batch: one certificate per CSR in a directory', ['issue', '--ca', 'issuing-1', '--batch', 'csrs', '--out-dir', 'certs']);

pki('revoke the app-02 certificate (its key leaked)', ['revoke', '--ca', 'issuing-1', '--cert', 'app-02.pem', '--reason', 'keyCompromise']);
pki('revoking it again is refused (exit 6)', ['revoke', '--ca', 'issuing-1', '--serial', appSerial], { expect: 6 });
pki('publish the revocation: a CRL (next CRL Number, reason codes, size checked against the Roles Anywhere limit)', ['crl', 'generate', '--ca', 'issuing-1', '--out', 'issuing-1.crl.pem']);
pki('the watchdog a cron job runs (exit 0 fresh, 10 warning, 11 critical)', ['crl', 'check', '--ca', 'issuing-1']);
pki('run again from cron: nothing revoked since, so nothing to do', ['crl', 'generate', '--ca', 'issuing-1', '--out', 'issuing-1.crl.pem', '--force', '--renew-before', '2d']);
pki('everything on record', ['list']);
pki('one certificate in detail', ['show', appSerial]);
pki('export the root for the Roles Anywhere trust anchor', ['ca', 'export', 'root', '--out', 'root.pem']);

if (haveOpenssl) {
  step('an independent check: openssl verifies the chain', 'openssl', ['verify', '-x509_strict', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'web-01.pem', 'certs/batch-1.pem']);
  step('... and, with the CRL, rejects the revoked certificate (exit 2)', 'openssl', ['verify', '-crl_check', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', '-CRLfile', 'issuing-1.crl.pem', 'app-02.pem'], { expect: 2 });
}
pki('pki verify reaches the same verdicts, as Roles Anywhere would check them', ['verify', '--cert', 'web-01.pem', '--chain', 'chain.pem', '--anchor-bundle', 'root.pem', '--crl', 'issuing-1.crl.pem']);
pki('... for the batch certificates too', ['verify', '--cert', 'certs/batch-1.pem', '--chain', 'chain.pem', '--anchor-bundle', 'root.pem', '--crl', 'issuing-1.crl.pem']);
pki('... the revoked certificate (exit 11, naming the check that failed)', ['verify', '--cert', 'app-02.pem', '--chain', 'chain.pem', '--anchor-bundle', 'root.pem', '--crl', 'issuing-1.crl.pem'], { expect: 11 });
pki('lint what a workload sends: no findings', ['lint', 'web-01.pem', '--chain', 'chain.pem']);

// Publish to (an emulated) IAM Roles Anywhere.
show('\n## start an offline Roles Anywhere emulator on 127.0.0.1\n$ pki emulator serve --state ra-state.json &\n');
ran.push('pki emulator serve --state ra-state.json &');
const emulator = spawn(process.execPath, [CLI, 'emulator', 'serve', '--state', join(work, 'ra-state.json')], { stdio: ['ignore', 'pipe', 'ignore'] });
const endpoint = await new Promise((resolve, reject) => {
  let out = '';
  emulator.stdout.on('data', (d) => {
    out += d;
    const m = /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
    if (m) resolve(m[1]);
  });
  emulator.on('exit', (code) => reject(new Error(`the emulator exited (${code})`)));
});
show(`${endpoint}\n(AWS credentials for the emulator: any values; here AWS_ACCESS_KEY_ID=${awsEnv.AWS_ACCESS_KEY_ID}, AWS_REGION=${awsEnv.AWS_REGION})\n`);
try {
  pki('create the trust anchor from the issuing CA (an intermediate can be the trust anchor)', ['anchor', 'push', '--name', 'demo', '--ca', 'issuing-1', '--enable', '--endpoint', endpoint]);
  pki('publish the CRL to it (ImportCrl the first time)', ['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'demo', '--endpoint', endpoint]);
  pki('publish again from cron: nothing changed; one read (ListCrls) checks what the service holds', ['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'demo', '--endpoint', endpoint]);
  pki('what Roles Anywhere holds', ['anchor', 'status', '--name', 'demo', '--endpoint', endpoint]);
  // CA rotation: a trust anchor holds 2 CA certificates, exactly enough for the old and the new CA side by side.
  pki('plan a rotation of the trust anchor to a new issuing CA', ['rotate', 'plan', '--anchor', 'demo', '--new-ca', 'issuing-2', '--subject', 'CN=Demo Issuing CA 2,O=Example']);
  pki('start it: issuing-2 is created and joins the bundle; both CRLs are published', [
    'rotate', 'start', '--anchor', 'demo', '--new-ca', 'issuing-2', '--subject', 'CN=Demo Issuing CA 2,O=Example', '--no-passphrase', '--endpoint', endpoint,
  ]);
  pki('the scheduled check: a step is due (exit 10): switch issuance to issuing-2', ['rotate', 'status', '--anchor', 'demo'], { expect: 10 });

  // The workload side: a profile, then credentials for the certificate.
  const { RolesAnywhereClient, CreateProfileCommand } = await import('@aws-sdk/client-rolesanywhere');
  const sdk = new RolesAnywhereClient({ endpoint, region: awsEnv.AWS_REGION, credentials: { accessKeyId: awsEnv.AWS_ACCESS_KEY_ID, secretAccessKey: awsEnv.AWS_SECRET_ACCESS_KEY } });
  const role = 'arn:aws:iam::123456789012:role/demo-app';
  const profile = (await sdk.send(new CreateProfileCommand({ name: 'demo-app', roleArns: [role], enabled: true }))).profile;
  show(`\n## a Roles Anywhere profile for the role (what \`aws rolesanywhere create-profile --name demo-app --role-arns ${role} --enabled\` makes)\n${profile.profileArn}\n`);
  ran.push('aws rolesanywhere create-profile --name demo-app ... (done here with the AWS SDK)');
  const anchorArn = JSON.parse(pki('(the trust anchor ARN, for the workload\'s configuration)', ['anchor', 'status', '--name', 'demo', '--endpoint', endpoint, '--json'], { quiet: true }).stdout).data.arn;
  pki('what Roles Anywhere will make of web-01\'s certificate: session name, SourceIdentity, principal tags', ['preview', '--cert', 'web-01.pem']);
  const creds = (cert, key) => ['credential-process', '--certificate', cert, '--private-key', key, '--trust-anchor-arn', anchorArn, '--profile-arn', profile.profileArn, '--role-arn', role, '--endpoint', endpoint];
  pki('the workload obtains AWS credentials with its certificate (what credential_process in ~/.aws/config runs)', creds('web-01.pem', webKey));
  pki('the revoked app-02 certificate does not (exit 9)', creds('app-02.pem', 'app-02.key'), { expect: 9 });
} finally {
  emulator.kill('SIGTERM');
}


show(`\nDone. Commands run:\n${ran.map((c) => `  ${c}`).join('\n')}\n`);
process.stdout.write(`Files are in ${work} (remove it with: rm -rf ${work})\n`);
