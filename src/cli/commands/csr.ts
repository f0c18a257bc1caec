import { makeCsr } from '../../app/csr.js';
import { KEY_TYPES } from '../../crypto/keys.js';
import { forceOption, type CommandDef } from '../command.js';

export const csrCommand: CommandDef = {
  command: 'csr',
  describe: 'Make a key and a CSR on the workload host (the key never leaves it); pki issue --csr signs the CSR',
  examples: [
    ['pki csr --subject "CN=web-01,O=Example" --san dns:web-01.example.com --key-out web-01.key --out web-01.csr', 'RFC 4514 subject, P-256 key'],
    ['pki csr --subject "/C=US/O=Example/CN=web-01" --key-type rsa-2048 --key-out web-01.key --out web-01.csr', 'openssl\'s slash form, as pasted from openssl req -subj'],
    ['pki csr --subject "CN=pq-01" --key-type ml-dsa-65 --key-out pq-01.key --out pq-01.csr', 'an ML-DSA-65 key and its CSR (signed with id-ml-dsa-65)'],
    ['pki csr --from-cfssl csr.json --key-out web-01.key --out web-01.csr', 'a cfssl CSR JSON (CN, names, hosts, key)'],
    [
      "pki csr --subject CN=web-01 --key-store 'pkcs11:token=w;object=web-01?pin-source=file:/etc/app/pin' --pkcs11-lib /usr/lib/softhsm/libsofthsm2.so --out web-01.csr",
      'the key is generated on a PKCS#11 token (never extractable) and the CSR signed there; prints the key\'s pkcs11: URI for credential-process --private-key',
    ],
  ],
  notes:
    'Subject forms and their order:\n' +
    '  "CN=web-01,O=Example"       RFC 4514: most specific first (CN first); encoded in reverse (O, then CN).\n' +
    '  "/C=US/O=Example/CN=web-01"  openssl\'s slash form: encoded in the order written (C, then O, then CN);\n' +
    '                               \\/ is a literal slash, + joins a multi-valued RDN. Both forms above encode the same name.\n' +
    '--from-cfssl maps CN, names[] (C, ST, L, O, OU: encoded C, ST, L, O, OU, CN as cfssl does), hosts (IP, e-mail,\n' +
    'URI, else DNS SANs) and key (ecdsa 256/384/521, rsa 2048/3072/4096); anything else is refused by name, and a\n' +
    'country name gets its code suggested ("C": "India" → did you mean "IN"?). --san replaces the hosts.\n' +
    'The key is PKCS#8 PEM, unencrypted, mode 0600; nothing is written unless every check passes.\n' +
    'A key on a PKCS#11 token instead of --key-out: --key-store pkcs11:token=...;object=LABEL generates it on the token\n' +
    '(sensitive, never extractable, CKA_ID = its key identifier; a LABEL already on the token is refused), --key\n' +
    'pkcs11:...;object=LABEL uses one already there. The module comes from module-path in the URI, --pkcs11-lib or\n' +
    '$PKI_PKCS11_MODULE; the PIN from pin-source (file:PATH or env:NAME), $PKI_PKCS11_PIN or a prompt (pin-value is\n' +
    'refused). The result names the key\'s URI (keyRef) for credential-process --private-key; a generated key is removed\n' +
    'again if the CSR cannot be written. Token keys: P-256, P-384, P-521, RSA 2048-4096.',
  builder: (y) =>
    y.options({
      subject: { type: 'string', describe: 'subject: RFC 4514 ("CN=web-01,O=Example") or openssl\'s "/O=Example/CN=web-01"' },
      san: { type: 'string', array: true, describe: 'subject alternative name, repeatable: dns:NAME, uri:URI, email:ADDR, ip:ADDR' },
      'key-type': { type: 'string', choices: KEY_TYPES, describe: 'key type (default ecdsa-p256, or the cfssl JSON\'s key) (ml-dsa-44/65/87: post-quantum; Roles Anywhere documents ML-DSA workload keys, signed as AWS4-X509-MLDSA)' },
      'from-cfssl': { type: 'string', normalize: true, describe: 'a cfssl CSR JSON instead of --subject/--san' },
      'key-out': { type: 'string', normalize: true, describe: 'where to write the new private key (0600); or --key-store / --key' },
      'key-store': { type: 'string', describe: "generate the key on a PKCS#11 token instead: 'pkcs11:token=TOKEN;object=LABEL' (RFC 7512; module-path / pin-source query attributes allowed, never pin-value)" },
      key: { type: 'string', describe: "sign with a key already on a PKCS#11 token: 'pkcs11:token=TOKEN;object=LABEL' (or id=...)" },
      'pkcs11-lib': { type: 'string', describe: 'PKCS#11 module for --key-store / --key when the URI has no module-path (else $PKI_PKCS11_MODULE)' },
      out: { type: 'string', demandOption: true, normalize: true, describe: 'where to write the CSR (PEM)' },
      ...forceOption,
    }),
  async run(a, { deps }) {
    const r = await makeCsr(deps, { subject: a.subject, san: a.san, keyType: a.keyType, fromCfssl: a.fromCfssl, keyOut: a.keyOut, keyStore: a.keyStore, key: a.key, pkcs11Lib: a.pkcs11Lib, out: a.out, force: a.force });
    return {
      kind: 'pki.csr.result',
      data: r,
      text: `Wrote CSR ${r.out} and ${'keyRef' in r ? `signed it with the token key ${r.keyRef}` : `key ${r.keyOut}`} (${r.keyType})\n  subject   ${r.subject}\n${r.sans.length ? `  SANs      ${r.sans.join(', ')}\n` : ''}`,
    };
  },
};
