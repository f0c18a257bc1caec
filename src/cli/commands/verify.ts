import { verifyCertificate } from '../../app/verify.js';
import type { CommandDef } from '../command.js';

export const verifyCommand: CommandDef = {
  command: 'verify',
  describe: 'Validate a certificate path offline as Roles Anywhere does: bundle certificates as trust anchors, signatures, validity, CA rules, CRLs, leaf rules',
  examples: [
    ['pki verify --cert leaf.pem --chain chain.pem --anchor-bundle bundle.pem --crl issuing.crl', 'exit 0 valid, 11 invalid (the failed check and certificate are named)'],
    ['pki verify --cert leaf.pem --anchor-bundle bundle.pem --at 2027-01-01T00:00:00Z', 'would it still be valid then?'],
  ],
  exitCodes: [
    { exit: 0, meaning: 'valid' },
    { exit: 11, meaning: 'invalid: the check that failed and the certificate it failed on are named' },
  ],
  notes:
    'Checks: name chaining and signatures up to any certificate of the bundle; validity at --at; issuers CA:TRUE, keyCertSign\n' +
    'and pathLen (self-issued not counted); unknown critical extensions; the CRLs given for each issuer (signature by a\n' +
    'cRLSign key of that CA, current at --at, serial listed); at most 5 intermediates; no MD5/SHA-1; the leaf rules (v3, not\n' +
    'a CA, digitalSignature, a subject); name constraints (DN, DNS, e-mail, URI); certificate policies (RFC 5280 §6.1);\n' +
    'issuing distribution points, indirect and delta CRLs. --rfc5280 drops the Roles Anywhere-only rules.',
  builder: (y) =>
    y.options({
      cert: { type: 'string', demandOption: true, describe: 'the certificate to verify' },
      chain: { type: 'string', describe: 'intermediates (PEM bundle)' },
      'anchor-bundle': { type: 'string', demandOption: true, describe: 'the trust anchor\'s certificates (every one is a trust anchor)' },
      crl: { type: 'string', array: true, describe: 'CRL file (repeatable)' },
      at: { type: 'string', describe: 'validation time (default: now)' },
      rfc5280: { type: 'boolean', default: false, describe: 'plain RFC 5280: allow SHA-1, longer chains, no leaf rules' },
    }),
  async run(a, { deps }) {
    const r = await verifyCertificate(deps, { cert: a.cert, chain: a.chain, anchorBundle: a.anchorBundle, crls: a.crl, at: a.at, rfc5280: a.rfc5280 });
    const text = r.valid
      ? `VALID at ${r.at}: ${r.path.join(' → ')}\n`
      : `INVALID at ${r.at}: ${r.failure!.check} check failed on ${r.failure!.certificate}: ${r.failure!.message}\n`;
    return { kind: 'pki.verify.result', data: r, text, exitCode: r.exitCode };
  },
};
