import { LINT_CODES, lintFile, type LintAs } from '../../app/lint.js';
import { anyFileDocument, optionalFileDocument } from '../documents.js';
import { PkiError } from '../../errors.js';
import type { CommandDef } from '../command.js';
import { flagsIn } from '../output/flags.js';

export const lintCommand: CommandDef = {
  command: 'lint <files..>',
  describe: 'Check certificates, CA bundles and CRLs (from any tool) against Roles Anywhere\'s rules and the RFC 5280 encodings that matter',
  examples: [
    ['pki lint leaf.pem', 'a workload certificate: v3, CA:FALSE, digitalSignature, SHA-256+, session tags, serial ...'],
    ['pki lint --as ca root.pem issuing.pem', 'CA certificates: CA:TRUE, keyCertSign, SKI ...'],
    ['pki lint bundle.pem --as anchor-bundle', 'at most 2 CA certificates, within 16,000 characters'],
    ['pki lint crl.pem --json', 'a CRL: v2, size against ImportCrl\'s 300,000 bytes, nextUpdate, CRL Number'],
  ],
  exitCodes: [
    { exit: 0, meaning: 'no error (warnings and notices may be listed)' },
    { exit: 4, meaning: 'at least one finding of severity error' },
  ],
  notes: `The type is detected (CRL, several certificates = bundle, CA:TRUE = CA, else leaf) unless --as says.\nCodes: ${LINT_CODES.map((c) => c[0]).join(', ')}.`,
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'PEM or DER files' })
      .options({
        as: { type: 'string', choices: ['leaf', 'ca', 'anchor-bundle', 'crl'], describe: 'what the files are (default: detected)' },
        chain: { type: 'string', describe: 'the intermediates a leaf is sent with (checked: at most 5, CA rules)' },
      }),
  async run(a, { deps }) {
    const chain = optionalFileDocument(deps.cwd, a.chain as string | undefined, 'chain');
    const results = (a.files as string[]).map((f) => flagsIn(lintFile(deps, anyFileDocument(deps.cwd, f, 'FILE'), { ...(a.as ? { as: a.as as LintAs } : {}), ...(chain ? { chain } : {}) }), ['chain']));
    const errors = results.reduce((n, r) => n + r.findings.filter((f) => f.severity === 'error').length, 0);
    const text = results
      .map(
        (r) =>
          `${r.file} (${r.as}${r.subject ? `: ${r.subject}` : ''}): ${r.findings.length ? `${r.findings.length} finding(s)` : 'no findings'}\n` +
          r.findings.map((f) => `  ${f.severity.toUpperCase().padEnd(7)} ${f.code}  ${f.field}: ${f.message}\n          fix: ${f.fix}\n`).join(''),
      )
      .join('');
    if (errors && !a.json) deps.stderr.write(`${errors} error(s)\n`);
    return { kind: 'pki.lint.result', data: { results, errors }, text, exitCode: errors ? new PkiError('POLICY_LINT', '').exitCode : 0 };
  },
};
