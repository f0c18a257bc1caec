import { revokeBatch, revokeCertificate } from '../../app/revoke.js';
import { INPUT_LIMITS } from '../../fs/files.js';
import { fileDocument, optionalFileDocument } from '../documents.js';
import { PkiError } from '../../errors.js';
import { ACCEPTED_REASONS } from '../../domain/serial.js';
import type { CommandDef } from '../command.js';
import { shortTime } from '../output/render.js';

export const revokeCommand: CommandDef = {
  command: 'revoke',
  describe: 'Revoke a certificate (permanently) so that the next CRL lists it',
  examples: [
    ['pki revoke --ca issuing-1 --serial 4f2a...c1 --reason keyCompromise', 'by serial (hex; colons and 0x are accepted)'],
    ['pki revoke --ca issuing-1 --cert web-01.pem --reason superseded', 'by certificate file'],
    ['pki revoke --ca issuing-1 --serial 4f2a...c1 --reason keyCompromise --invalidity-date 2026-11-20T08:00:00Z', 'with the time the key is believed compromised'],
    ['pki revoke --ca issuing-1 --batch leaked-serials.txt --reason keyCompromise', 'mass revocation: every line valid, or nothing is revoked'],
  ],
  notes:
    'certificateHold and removeFromCRL are not accepted: revocation here cannot be undone.\n' +
    'Run `pki crl generate --ca CA` afterwards (or let the cron job do it) so that the next CRL lists the revocation.',
  builder: (y) =>
    y.options({
      ca: { type: 'string', demandOption: true, describe: 'CA that issued the certificate' },
      serial: { type: 'string', describe: 'serial number (hex)' },
      cert: { type: 'string', normalize: true, describe: 'the certificate file (PEM or DER) instead of --serial' },
      batch: { type: 'string', normalize: true, describe: 'file with one serial per line ("SERIAL [REASON]", # comments): all revoked in one transaction, or none' },
      reason: { type: 'string', default: 'unspecified', describe: `RFC 5280 reason: ${ACCEPTED_REASONS.join(', ')}` },
      'invalidity-date': { type: 'string', describe: 'ISO 8601 time from which the key is known or suspected to be compromised' },
    }),
  async run(a, { deps }) {
    if (a.batch) {
      if (a.serial || a.cert) throw new PkiError('USAGE_CONFLICT', '--batch cannot be combined with --serial or --cert');
      const r = await revokeBatch(deps, { dir: a.dir, ca: a.ca, batch: fileDocument(deps.cwd, a.batch, 'batch', INPUT_LIMITS.list), reason: a.reason, invalidityDate: a.invalidityDate });
      return { kind: 'pki.revoke.batch.result', data: r, text: `Revoked ${r.revoked} certificate(s) issued by ${r.issuer}\n` };
    }
    const r = await revokeCertificate(deps, { dir: a.dir, ca: a.ca, serial: a.serial, cert: optionalFileDocument(deps.cwd, a.cert, 'cert'), reason: a.reason, invalidityDate: a.invalidityDate });
    return {
      kind: 'pki.revoke.result',
      data: r,
      text: `Revoked ${r.serial} (${r.subject}) by ${r.issuer}: ${r.reasonName} at ${shortTime(r.revocation?.revokedAt)}\n`,
    };
  },
};
