import { previewCertificate } from '../../app/preview.js';
import { flagsIn } from '../output/flags.js';
import type { CommandDef } from '../command.js';
import { fileDocument, optionalFileDocument } from '../documents.js';
import { table } from '../output/render.js';

export const previewCommand: CommandDef = {
  command: 'preview',
  describe: 'Show, offline, what Roles Anywhere makes of a certificate: role session name, SourceIdentity, session tags, and what it drops',
  examples: [
    ['pki preview --cert app.pem', 'with the default attribute mappings'],
    ['aws rolesanywhere get-profile --profile-id ID > profile.json && pki preview --cert app.pem --profile-mapping profile.json', 'with a profile\'s mappings'],
    ['pki preview --cert app.pem --json | jq .data.tags', 'the principal tags a trust policy can test (aws:PrincipalTag/x509Subject/CN, ...)'],
  ],
  exitCodes: [
    { exit: 0, meaning: 'every subject, issuer and SAN value becomes a session tag (or is left out only by the mapping)' },
    { exit: 10, meaning: 'a value would be silently dropped: characters or length that STS session tags do not allow' },
  ],
  notes:
    'Tags: x509Subject/<RDN> and x509Issuer/<RDN> (several values joined with "/"), x509SAN/DNS and x509SAN/URI (first\n' +
    'of each), x509SAN/Name/<RDN> (first directoryName). STS drops a value that is longer than 256 characters or holds\n' +
    'anything but letters, digits, spaces and _ . : / = + - @ — without an error, so a trust-policy condition on it\n' +
    'silently fails. --profile-mapping takes the get-profile answer, its attributeMappings list, or\n' +
    '{x509Subject: [CN], x509SAN: [DNS]} (fields not listed keep their defaults).',
  builder: (y) =>
    y.options({
      cert: { type: 'string', demandOption: true, describe: 'the workload certificate (PEM or DER)' },
      chain: { type: 'string', describe: 'the intermediates it will send (checked: at most 5, issuer first)' },
      'profile-mapping': { type: 'string', describe: 'the profile\'s attribute mappings (JSON or YAML)' },
    }),
  async run(a, { deps }) {
    const r = flagsIn(await previewCertificate(deps, { cert: fileDocument(deps.cwd, a.cert, 'cert'), chain: optionalFileDocument(deps.cwd, a.chain, 'chain'), profileMapping: optionalFileDocument(deps.cwd, a.profileMapping, 'profileMapping') }), ['cert', 'chain']);
    const text =
      `Certificate ${r.serial}  ${r.subject}\n` +
      `  role session name  ${r.roleSessionName}\n` +
      `  SourceIdentity     ${r.sourceIdentity}${r.sourceIdentityNote ? `  (${r.sourceIdentityNote})` : ''}\n\n` +
      (table(['PRINCIPAL TAG', 'VALUE'], Object.entries(r.tags).map(([k, v]) => [`aws:PrincipalTag/${k}`, v])) || 'no session tags\n') +
      (r.dropped.length ? `\nDropped:\n${r.dropped.map((d) => `  ${d.tag}="${d.value}": ${d.reason}\n`).join('')}` : '') +
      r.warnings.map((w) => `warning: ${w}\n`).join('');
    return { kind: 'pki.preview.result', data: r, text, exitCode: r.exitCode };
  },
};
