import { issueBatch, issueCertificate } from '../../app/issue.js';
import { KEY_TYPES } from '../../crypto/keys.js';
import { PkiError } from '../../errors.js';
import { forceOption, passphraseFileOption, type CommandDef } from '../command.js';
import { flagsIn } from '../output/flags.js';
import { shortTime } from '../output/render.js';

export const issueCommand: CommandDef = {
  command: 'issue',
  describe: 'Issue end-entity certificates: from a CSR, from a key generated here, or from a directory of CSRs',
  examples: [
    ['pki issue --ca issuing-1 --csr web-01.csr --out web-01.pem --chain-out chain.pem', 'from a CSR; chain.pem holds the intermediates for --intermediates'],
    ['pki issue --ca issuing-1 --subject "CN=web-01,O=Example" --key-out web-01.key --out web-01.pem --san dns:web-01.example.com', 'generate a P-256 key here (written 0600)'],
    ['pki issue --ca issuing-1 --subject "CN=pq-01" --key-type ml-dsa-65 --key-out pq-01.key --out pq-01.pem', 'an ML-DSA-65 workload key (PKCS#8 seed form); credential-process signs with AWS4-X509-MLDSA'],
    ['pki issue --ca issuing-1 --batch csr-dir/ --out-dir certs/', 'one certificate per CSR file, grouped transactions, progress on stderr (certs/ is created if missing)'],
    ['pki issue --ca issuing-1 --batch csr-dir/ --out-dir certs/ --resume', 'finish a batch that was interrupted (Ctrl-C, SIGTERM, crash, kill): nothing is issued twice'],
    ['pki issue --ca issuing-1 --csr app.csr --validity 24h --profile roles-anywhere-workload --json', 'machine-readable result (includes the PEM)'],
  ],
  notes:
    'Subject and SANs come from the CSR unless --subject / --san override them; the profile decides every extension.\n' +
    'All checks (key type, subject, SANs, validity, issuer expiry) run before anything is signed, and all problems are\n' +
    'reported together. A certificate is recorded in the store before its file is written; every output is checked\n' +
    '(directory writable, no symbolic link, no existing file without --force) before anything is recorded.\n' +
    '\n' +
    'BATCHES\n' +
    '  SIGINT (Ctrl-C) or SIGTERM stops --batch after the group of certificates in progress (recorded and written),\n' +
    '  prints how far it got and exits 130 (SIGINT) or 143 (SIGTERM); a second signal stops at once. --resume\n' +
    '  finishes the latest batch from the same --batch directory into the same --out-dir, also after a crash or kill:\n' +
    '  certificates already recorded get their files written from the store, the other CSRs are issued, stray\n' +
    '  temporary files are removed. The store records which CSR file (name and SHA-256) each certificate was issued\n' +
    '  for; a CSR that changed since is refused. A new batch over an interrupted one is refused (STATE_BATCH_INTERRUPTED)\n' +
    '  unless --force.',
  exitCodes: [
    { exit: 130, meaning: '--batch stopped by SIGINT at a group boundary (finish with --resume)' },
    { exit: 143, meaning: '--batch stopped by SIGTERM at a group boundary (finish with --resume)' },
  ],
  builder: (y) =>
    y.options({
      ca: { type: 'string', demandOption: true, describe: 'issuing CA' },
      csr: { type: 'string', normalize: true, describe: 'PKCS#10 CSR (PEM or DER)' },
      subject: { type: 'string', describe: 'subject: RFC 4514, most specific first ("CN=web-01,O=Example"), or openssl\'s slash form in the order written ("/O=Example/CN=web-01"); with --key-out: generate a key; with --csr: override' },
      san: { type: 'string', array: true, describe: 'subject alternative name, repeatable: dns:NAME, uri:URI, email:ADDR, ip:ADDR (replaces the CSR\'s)' },
      'key-out': { type: 'string', normalize: true, describe: 'generate the key here and write it (PKCS#8 PEM, mode 0600)' },
      'key-type': { type: 'string', choices: KEY_TYPES, describe: 'type of a generated key (default ecdsa-p256) (ml-dsa-44/65/87: post-quantum; Roles Anywhere documents ML-DSA workload keys, signed as AWS4-X509-MLDSA)' },
      batch: { type: 'string', normalize: true, describe: 'directory of CSR files (.csr .req .pem .der) to issue in one run' },
      'out-dir': { type: 'string', normalize: true, describe: 'with --batch: directory for NAME.pem outputs (created if missing)' },
      resume: { type: 'boolean', describe: 'with --batch: finish the interrupted batch from this directory into this --out-dir' },
      out: { type: 'string', normalize: true, describe: 'certificate output file (default: stdout)' },
      'chain-out': { type: 'string', normalize: true, describe: 'write the issuing chain (intermediates, no root) here; nothing is written for a CA that is a root (a note says so)' },
      profile: { type: 'string', describe: 'leaf profile name or .yaml path (default from pki.yaml: roles-anywhere-workload)' },
      validity: { type: 'string', describe: 'validity, e.g. 24h, 7d (default and maximum from the profile)' },
      ...passphraseFileOption,
      ...forceOption,
    }),
  async run(a, { deps, json }) {
    if (a.batch) {
      const conflicting = ['csr', 'subject', 'san', 'keyOut', 'out', 'chainOut', 'keyType'].filter((k) => a[k] !== undefined);
      if (conflicting.length) throw new PkiError('USAGE_CONFLICT', `--batch cannot be combined with ${conflicting.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')}`);
      if (!a.outDir) throw new PkiError('USAGE_MISSING_OUT_DIR', '--batch needs --out-dir DIR');
      const r = await issueBatch(deps, {
        dir: a.dir,
        ca: a.ca,
        profile: a.profile,
        validity: a.validity,
        batch: a.batch,
        outDir: a.outDir,
        force: a.force,
        resume: a.resume,
        passphraseFile: a.passphraseFile,
        onProgress: (done, total) => deps.stderr.write(`issued ${done}/${total}\n`),
      });
      const lines: string[] = [];
      if (r.rewritten || r.alreadyDone || r.removedTemporaries)
        lines.push(`Resumed batch ${r.batch}: ${r.rewritten} file(s) written from the store, ${r.alreadyDone} already in place, ${r.removedTemporaries} stray temporary file(s) removed`);
      const left = r.total - r.alreadyDone - r.rewritten - r.issued;
      if (r.interrupted) {
        lines.push(`Interrupted by ${r.interrupted}: issued ${r.issued} certificate(s) from ${r.issuer} into ${r.outDir} (all recorded and written); ${left} of ${r.total} CSR(s) not issued`);
        if (r.batch !== null) lines.push(`Finish with: pki issue --ca ${r.issuer} --batch ${a.batch} --out-dir ${a.outDir} --resume`);
        else lines.push('Nothing was recorded: run the same command again');
      } else lines.push(`Issued ${r.issued} certificate(s) from ${r.issuer} into ${r.outDir}${r.outDirCreated ? ' (created)' : ''}`);
      const exitCode = r.interrupted === 'SIGINT' ? 130 : r.interrupted === 'SIGTERM' ? 143 : 0;
      return { kind: 'pki.issue.batch.result', data: r, text: lines.join('\n') + '\n', exitCode };
    }
    if (a.outDir) throw new PkiError('USAGE_CONFLICT', '--out-dir goes with --batch; use --out for a single certificate');
    if (a.resume) throw new PkiError('USAGE_CONFLICT', '--resume goes with --batch DIR --out-dir DIR');
    const r = await issueCertificate(deps, {
      dir: a.dir,
      ca: a.ca,
      profile: a.profile,
      validity: a.validity,
      csr: a.csr,
      subject: a.subject,
      san: a.san,
      keyOut: a.keyOut,
      keyType: a.keyType,
      out: a.out,
      chainOut: a.chainOut,
      force: a.force,
      passphraseFile: a.passphraseFile,
    });
    // The use case names its input (input.chainOut); the note shows the flag and the flags of the commands that
    // would have read the file.
    if (r.chainNote) {
      r.chainNote = `${flagsIn(r.chainNote, ['chainOut'])} (omit --intermediates / --chain)`;
      deps.stderr.write(`note: ${r.chainNote}\n`);
    }
    const summary =
      `Issued ${r.serial} by ${r.issuer}\n` +
      `  subject   ${r.subject}\n` +
      (r.sans.length ? `  SANs      ${r.sans.join(', ')}\n` : '') +
      `  valid     ${shortTime(r.notBefore)} .. ${shortTime(r.notAfter)}\n` +
      (r.out ? `  cert      ${r.out}\n` : '') +
      (r.keyOut ? `  key       ${r.keyOut} (0600)\n` : '') +
      (r.chainOut ? `  chain     ${r.chainOut} (${r.chainCertificates} certificate(s))\n` : '');
    if (!r.out && !json) {
      deps.stderr.write(summary);
      return { kind: 'pki.issue.result', data: r, text: r.pem };
    }
    return { kind: 'pki.issue.result', data: r, text: summary };
  },
};
