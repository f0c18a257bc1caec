import { renewCertificate } from '../../app/renew.js';
import { INPUT_LIMITS } from '../../fs/files.js';
import { optionalFileDocument } from '../documents.js';
import { ACCEPTED_REASONS } from '../../domain/serial.js';
import { forceOption, passphraseFileOption, type CommandDef } from '../command.js';

export const renewCommand: CommandDef = {
  command: 'renew',
  describe: 'Re-issue a workload certificate with the same subject, SANs and profile: new serial, new validity, new key',
  examples: [
    ['pki renew --ca issuing-1 --cert app.pem --csr app-new.csr --out app-new.pem', 'key rotation: the workload made the new key and its CSR'],
    ['pki renew --ca issuing-1 --cert /etc/app/leaf.pem --key-out /etc/app/leaf.key --out /etc/app/leaf.pem --force --revoke-old superseded', 'in place, from cron: a running pki credential serve picks up the new files'],
    ['pki list --expiring-within 7d --json', 'which certificates are due (each has its serial and issuer)'],
    ['pki renew --ca issuing-1 --serial 4f2a...c1 --csr app.csr --out app.pem', 'by serial, as pki list prints it (the old certificate comes from the store)'],
  ],
  notes:
    'The certificate to renew is --cert FILE or --serial HEX (taken from the store). The subject (its exact encoding),\n' +
    'the SANs and the profile are the old certificate\'s (--profile when the recorded one is not found by name); the\n' +
    'serial, the validity (--validity, else the profile\'s default, from now) and the key are new. With --csr only the\n' +
    'CSR\'s key is used (a CSR with the old key is accepted with a warning: the key is not rotated); with --key-out a\n' +
    'key of the old certificate\'s type (or --key-type) is generated and written 0600. Refused: a certificate the CA did\n' +
    'not sign or has no record of (NOT_FOUND_SERIAL, exit 5), a revoked one (STATE_CERTIFICATE_REVOKED, exit 6), a CA\n' +
    'certificate, and everything pki issue refuses (profile rules, validity past the CA, a retired or revoked CA).\n' +
    'Nothing is written before the new certificate is recorded; the key is written first, then the certificate.\n' +
    '--revoke-old REASON (superseded, usually) revokes the old certificate after that; publish the next CRL as usual.\n' +
    'An existing --out or --key-out needs --force (renewal in place).',
  builder: (y) =>
    y.options({
      ca: { type: 'string', demandOption: true, describe: 'CA that issued the certificate (and issues the new one)' },
      cert: { type: 'string', normalize: true, describe: 'the certificate to renew (PEM or DER)' },
      serial: { type: 'string', describe: 'or its serial (hex), as pki list prints it: the certificate is taken from the store' },
      profile: { type: 'string', describe: 'profile, when the one the certificate was issued with is not found by name (a file given to pki issue --profile)' },
      csr: { type: 'string', normalize: true, describe: 'CSR of the new key (its subject and SANs are ignored)' },
      'key-out': { type: 'string', normalize: true, describe: 'generate the new key here and write it to this file (0600)' },
      'key-type': { type: 'string', describe: 'type of a generated key (default: the old certificate\'s; ml-dsa-44/65/87 too)' },
      out: { type: 'string', demandOption: true, normalize: true, describe: 'where to write the new certificate' },
      validity: { type: 'string', describe: 'validity (e.g. 24h, 30d; default: the profile\'s)' },
      'revoke-old': { type: 'string', describe: `revoke the old certificate with this reason afterwards (${ACCEPTED_REASONS.join(', ')}; usually superseded)` },
      ...passphraseFileOption,
      ...forceOption,
    }),
  async run(a, { deps }) {
    const r = await renewCertificate(deps, {
      dir: a.dir,
      ca: a.ca,
      cert: optionalFileDocument(deps.cwd, a.cert, 'cert'),
      serial: a.serial,
      profile: a.profile,
      csr: optionalFileDocument(deps.cwd, a.csr, 'csr', INPUT_LIMITS.csr),
      keyOut: a.keyOut,
      keyType: a.keyType,
      out: a.out,
      validity: a.validity,
      revokeOld: a.revokeOld,
      force: a.force,
      passphraseFile: a.passphraseFile,
    });
    const text =
      `Renewed ${r.oldSerial} as ${r.serial} (${r.subject}), valid until ${r.notAfter}: ${r.out}${r.keyOut ? `, key ${r.keyOut}` : ''}\n` +
      (r.revokedOld ? `Revoked ${r.oldSerial} (${r.revokedOld}); publish the next CRL\n` : '');
    return { kind: 'pki.renew.result', data: r, text };
  },
};
