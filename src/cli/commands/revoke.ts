import { revokeCertificate } from '../../app/revoke.js';
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
  ],
  notes: 'certificateHold and removeFromCRL are not accepted: revocation here cannot be undone.',
  builder: (y) =>
    y.options({
      ca: { type: 'string', demandOption: true, describe: 'CA that issued the certificate' },
      serial: { type: 'string', describe: 'serial number (hex)' },
      cert: { type: 'string', normalize: true, describe: 'the certificate file (PEM or DER) instead of --serial' },
      reason: { type: 'string', default: 'unspecified', describe: `RFC 5280 reason: ${ACCEPTED_REASONS.join(', ')}` },
      'invalidity-date': { type: 'string', describe: 'ISO 8601 time from which the key is known or suspected to be compromised' },
    }),
  async run(a, { deps }) {
    const r = await revokeCertificate(deps, { dir: a.dir, ca: a.ca, serial: a.serial, cert: a.cert, reason: a.reason, invalidityDate: a.invalidityDate });
    return {
      kind: 'pki.revoke.result',
      data: r,
      text: `Revoked ${r.serial} (${r.subject}) by ${r.issuer}: ${r.reasonName} at ${shortTime(r.revocation?.revokedAt)}\n`,
    };
  },
};
