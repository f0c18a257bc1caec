import { PkiError } from '../../errors.js';
import { listCertificates, showCertificate } from '../../app/query.js';
import { dirname } from 'node:path';
import { checkOutput, probeWritableDir, writeFileAtomic } from '../../fs/files.js';
import { forceOption, type CommandDef } from '../command.js';
import { shortTime, table } from '../output/render.js';

export const listCommand: CommandDef = {
  command: 'list',
  describe: 'List issued certificates, soonest to expire first',
  examples: [
    ['pki list --ca issuing-1', 'everything issuing-1 issued'],
    ['pki list --status revoked', 'revoked certificates of all CAs'],
    ['pki list --expiring-within 7d --json', 'unrevoked certificates expiring in the next 7 days, for a renewal job'],
  ],
  builder: (y) =>
    y.options({
      ca: { type: 'string', describe: 'only certificates issued by this CA' },
      status: { type: 'string', choices: ['valid', 'revoked', 'expired'], describe: 'only certificates in this state' },
      'expiring-within': { type: 'string', describe: 'only unrevoked certificates expiring within this duration (e.g. 7d)' },
      limit: { type: 'string', describe: 'at most this many rows (a whole number, 1 or more)' },
    }),
  async run(a, { deps }) {
    if (a.limit !== undefined && !/^[1-9]\d{0,8}$/.test(String(a.limit)))
      throw new PkiError('USAGE_BAD_LIMIT', `--limit "${a.limit}" is not a whole number of rows (1 or more)`, { details: { flag: '--limit', value: String(a.limit) } });
    const limit = a.limit === undefined ? undefined : Number(a.limit);
    const r = await listCertificates(deps, { dir: a.dir, ca: a.ca, status: a.status, expiringWithin: a.expiringWithin, limit });
    return {
      kind: 'pki.list.result',
      data: r,
      text:
        table(
          ['SERIAL', 'ISSUER', 'STATUS', 'NOT AFTER', 'SUBJECT'],
          r.map((c) => [c.serial, c.issuer, c.status, shortTime(c.notAfter), c.subject]),
        ) || 'no certificates match\n',
    };
  },
};

export const showCommand: CommandDef = {
  command: 'show <serial>',
  describe: 'Show one certificate on record: subject, SANs, validity, status, revocation, fingerprint',
  examples: [
    ['pki show 4f2a...c1', 'details'],
    ['pki show 4f2a...c1 --ca issuing-1 --pem > cert.pem', 'the certificate itself'],
    ['pki show 4f2a...c1 --ca issuing-1 --pem --out cert.pem', 'write it to a file again (e.g. after a write that failed once it was recorded)'],
  ],
  builder: (y) =>
    y.positional('serial', { type: 'string', describe: 'serial number (hex)' }).options({
      ca: { type: 'string', describe: 'issuing CA (needed when two CAs issued the same serial)' },
      pem: { type: 'boolean', default: false, describe: 'print only the PEM certificate' },
      out: { type: 'string', normalize: true, describe: 'with --pem: write the PEM certificate to this file instead of stdout' },
      ...forceOption,
    }),
  async run(a, { deps }) {
    if (a.out !== undefined && !a.pem) throw new PkiError('USAGE_CONFLICT', '--out writes the certificate: use it with --pem');
    if (a.out !== undefined) {
      checkOutput(a.out, '--out', a.force);
      probeWritableDir(dirname(a.out), '--out');
    }
    const r = await showCertificate(deps, { dir: a.dir, serial: String(a.serial), ca: a.ca });
    if (a.pem && r.pem === null)
      throw new PkiError('NOT_FOUND_CERTIFICATE', `serial ${r.serial} is known from an imported CA's records only: there is no certificate to print`, { details: { serial: r.serial } });
    if (a.out !== undefined) {
      writeFileAtomic(a.out, r.pem!, { force: a.force, flag: '--out' });
      return { kind: 'pki.show.result', data: { ...r, out: a.out }, text: `Wrote certificate ${r.serial} (${r.issuer}) to ${a.out}\n` };
    }
    const text = a.pem
      ? r.pem!
      : [
          `serial       ${r.serial}`,
          `issuer       ${r.issuer}`,
          `subject      ${r.subject}`,
          `SANs         ${r.sans.join(', ') || '-'}`,
          `not before   ${shortTime(r.notBefore)}`,
          `not after    ${shortTime(r.notAfter)}`,
          `status       ${r.status}${r.revocation ? ` (${r.revocation.reason}, ${shortTime(r.revocation.revokedAt)})` : ''}`,
          `profile      ${r.profile}`,
          `issued       ${shortTime(r.issuedAt)} by ${r.requestedBy} from ${r.source}`,
          `sha256       ${r.sha256 ?? '- (known serial: no certificate file was imported)'}`,
          '',
        ].join('\n');
    return { kind: 'pki.show.result', data: r, text };
  },
};
