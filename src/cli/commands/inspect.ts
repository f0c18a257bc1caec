import { inspectFile, type describeCertificate } from '../../app/inspect.js';
import { anyFileDocument } from '../documents.js';
import type { CommandDef } from '../command.js';
import { shortTime } from '../output/render.js';

function certText(c: ReturnType<typeof describeCertificate>): string {
  const rows: Array<[string, string]> = [
    ['subject', c.subject],
    ['issuer', `${c.issuer}${c.selfSigned ? ' (self-signed)' : ''}`],
    ['serial', `${c.serialHex} (decimal ${c.serialDecimal})`],
    ['valid', `${shortTime(c.notBefore)} .. ${shortTime(c.notAfter)} (${c.validity})`],
    ['key', c.key],
    ['signature', c.signatureAlgorithm],
    ['CA', c.basicConstraints ? `${c.basicConstraints.ca ? 'yes' : 'no'}${c.basicConstraints.pathLen !== undefined ? `, pathLen ${c.basicConstraints.pathLen}` : ''}` : '(no basicConstraints)'],
    ['key usage', c.keyUsage?.join(', ') ?? '(none)'],
    ['ext key usage', c.extendedKeyUsage?.join(', ') ?? '(none)'],
    ['SANs', c.sans.join(', ') || '(none)'],
    ['SKI / AKI', `${c.subjectKeyId ?? '-'} / ${c.authorityKeyId ?? '-'}`],
    ['SHA-256', c.sha256],
    ['X.509', `v${c.version}`],
  ];
  if (!c.basicConstraints?.ca)
    rows.push(['session name', c.rolesAnywhere.roleSessionName], ['SourceIdentity', c.rolesAnywhere.sourceIdentity], ['dropped tags', c.rolesAnywhere.dropped.map((d) => d.tag).join(', ') || '(none)']);
  return rows.map(([k, v]) => `${k.padEnd(15)}${v}\n`).join('');
}

export const inspectCommand: CommandDef = {
  command: 'inspect <file>',
  describe: 'Show a certificate, CSR, CRL or bundle (PEM or DER, detected) in readable form: names, SANs, usages, validity left, fingerprints',
  examples: [
    ['pki inspect leaf.pem', 'names, SANs, usages, validity left, serial in hex and decimal, fingerprints, session name'],
    ['pki inspect bundle.pem --json', 'every certificate of a bundle, as JSON'],
    ['pki inspect crl.der', 'a CRL of any size (streamed), as pki crl inspect'],
  ],
  builder: (y) => y.positional('file', { type: 'string', describe: 'the file to show' }),
  async run(a, { deps }) {
    const r = await inspectFile(deps, { file: anyFileDocument(deps.cwd, String(a.file), 'FILE') });
    let text: string;
    if (r.type === 'certificate') text = certText(r.certificate);
    else if (r.type === 'bundle') text = r.certificates.map((c, i) => `# certificate ${i + 1} of ${r.certificates.length}\n${certText(c)}`).join('\n');
    else if (r.type === 'csr') text = `CSR\nsubject        ${r.csr.subject}\nkey            ${r.csr.key}\nSANs           ${r.csr.sans.join(', ') || '(none)'}\nsignature      ${r.csr.signature}\n`;
    else text = `CRL\nissuer         ${r.crl.issuer}\nCRL Number     ${r.crl.crlNumber ?? '(none)'}\nthis update    ${shortTime(r.crl.thisUpdate)}\nnext update    ${shortTime(r.crl.nextUpdate)}\nentries        ${r.crl.entries}\nsize           ${r.crl.derBytes} bytes DER, ${r.crl.pemBytes} bytes PEM\n`;
    return { kind: 'pki.inspect.result', data: r, text };
  },
};
