import { verifyCertificate } from '../../app/verify.js';
import type { CommandDef } from '../command.js';
import { crlFileDocuments, fileDocument, optionalFileDocument } from '../documents.js';

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
    'cRLSign key of that CA, current at --at, with a CRL Number, serial listed); at most 5 intermediates; no MD5/SHA-1; the\n' +
    'leaf rules (v3, not a CA, digitalSignature, a subject); the structure openssl -x509_strict requires of every\n' +
    'certificate, the trust anchor included (critical basicConstraints and keyUsage on CAs, SKI on CAs, AKI below a\n' +
    'self-signed anchor, non-critical AKI/SKI, no explicit EC curve parameters); name constraints (DN, DNS, e-mail, URI, IP;\n' +
    'other constrained name forms refused); nested extended key usage; certificate policies (RFC 5280 §6.1); issuing\n' +
    'distribution points, indirect and delta CRLs. Paths are built with backtracking over same-named issuers.\n' +
    '--rfc5280 drops the Roles Anywhere-only rules (chain length, leaf rules); --allow-weak-signatures also accepts\n' +
    'SHA-1 and MD5 signatures (legacy test suites such as NIST PKITS).',
  builder: (y) =>
    y.options({
      cert: { type: 'string', demandOption: true, describe: 'the certificate to verify' },
      chain: { type: 'string', describe: 'intermediates (PEM bundle)' },
      'anchor-bundle': { type: 'string', demandOption: true, describe: 'the trust anchor\'s certificates (every one is a trust anchor)' },
      crl: { type: 'string', array: true, describe: 'CRL file (repeatable)' },
      at: { type: 'string', describe: 'validation time (default: now)' },
      rfc5280: { type: 'boolean', default: false, describe: 'plain RFC 5280: longer chains, no Roles Anywhere leaf rules' },
      'allow-weak-signatures': { type: 'boolean', default: false, describe: 'accept SHA-1 and MD5 signatures (legacy; Roles Anywhere refuses them)' },
    }),
  async run(a, { deps }) {
    const r = await verifyCertificate(deps, {
      cert: fileDocument(deps.cwd, a.cert, 'cert'),
      chain: optionalFileDocument(deps.cwd, a.chain, 'chain'),
      anchorBundle: fileDocument(deps.cwd, a.anchorBundle, 'anchorBundle'),
      crls: crlFileDocuments(deps.cwd, a.crl ?? [], 'crls'),
      at: a.at,
      rfc5280: a.rfc5280,
      allowWeakSignatures: a.allowWeakSignatures,
    });
    const text = r.valid
      ? `VALID at ${r.at}: ${r.path.join(' → ')}\n`
      : `INVALID at ${r.at}: ${r.failure!.check} check failed on ${r.failure!.certificate}: ${r.failure!.message}\n`;
    return { kind: 'pki.verify.result', data: r, text, exitCode: r.exitCode };
  },
};
