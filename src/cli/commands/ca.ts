import { createCa, createCaCsr, exportCa, importCa, listCas, retireCa, signCaCsr } from '../../app/ca/index.js';
import { stderrWithFlags } from '../output/flags.js';
import { KEY_TYPES } from '../../crypto/keys.js';
import { forceOption, passphraseFileOption, type CommandDef, type CommandGroup } from '../command.js';
import { shortTime, table } from '../output/render.js';
import { keyStoreOption } from '../key-store-option.js';

type CaSummary = Awaited<ReturnType<typeof createCa>>;

function caText(verb: string, c: CaSummary): string {
  return (
    `${verb} CA ${c.name}${c.parent ? ` (signed by ${c.parent})` : ''}\n` +
    `  subject   ${c.subject} (${c.keyType})\n` +
    (c.serial ? `  serial    ${c.serial}\n  valid     ${shortTime(c.notBefore)} .. ${shortTime(c.notAfter)}\n` : '') +
    `  key       ${c.keyFile} (${c.keyFile.startsWith('pkcs11:') ? 'on a PKCS#11 token' : c.keyEncrypted ? 'encrypted' : 'NOT encrypted'})\n`
  );
}

const TOKEN_NOTES =
  '--key-store pkcs11:...: the key is generated on the token (CKA_TOKEN, CKA_SENSITIVE, CKA_PRIVATE true; CKA_EXTRACTABLE\n' +
  'false; label = the CA name, CKA_ID = its key identifier) and the store records only the URI; no passphrase is asked.\n' +
  'Token errors are CRYPTO_TOKEN_* (exit 7) naming the CKR_ code; a failed creation removes the key from the token.\n' +
  'A private key with the same label on the token that no CA of this PKI references (e.g. left by a killed creation)\n' +
  'is refused: CRYPTO_TOKEN_ORPHAN_KEY names its label and id and the pkcs11-tool commands that remove it.';

export const noPassphrase = { passphrase: { type: 'boolean', default: true, describe: 'encrypt the new key; --no-passphrase stores it unencrypted (warned)' } } as const;

const create: CommandDef = {
  command: 'create <name>',
  describe: 'Create an intermediate (issuing) CA signed by another CA in this PKI, or a second self-signed root',
  examples: [
    ['pki ca create issuing-1 --parent root --subject "CN=Example Issuing CA 1,O=Example"', 'P-256 issuing CA, pathLen 0, valid 5 years'],
    ['pki ca create issuing-2 --parent root --subject "CN=Issuing CA 2" --key-type rsa-2048 --validity 3y --path-len 0', 'RSA issuing CA for 3 years'],
    ['pki ca create root-2 --root --subject "CN=Example Root CA 2,O=Example" --validity 10y', 'a new self-signed root, e.g. to rotate the trust anchor (pki rotate)'],
    ["pki ca create issuing-1 --parent root --subject \"CN=Issuing 1\" --key-store 'pkcs11:token=pki-issuing'", 'the new key is generated on a PKCS#11 token and never leaves it; the module and PIN source come from pki.yaml keys.pkcs11'],
  ],
  notes:
    'The new key is encrypted with the parent\'s passphrase unless --new-passphrase-file names another one.\n' +
    'With --root the key\'s passphrase comes from --new-passphrase-file, --passphrase-file, $PKI_CA_PASSPHRASE or a prompt.\n' +
    TOKEN_NOTES,
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'name of the new CA (letters, digits, . _ -)' })
      .options({
        parent: { type: 'string', describe: 'CA that signs the new CA (required unless --root)' },
        root: { type: 'boolean', describe: 'make a self-signed root instead (profile root-ca)' },
        subject: { type: 'string', demandOption: true, describe: 'subject: RFC 4514, most specific first ("CN=Issuing CA 1,O=Example"), or openssl\'s slash form in the order written ("/O=Example/CN=Issuing CA 1")' },
        'key-type': { type: 'string', choices: KEY_TYPES, default: 'ecdsa-p256', describe: 'key type of the new CA (ml-dsa-44/65/87: post-quantum, RFC 9881; whether Roles Anywhere accepts ML-DSA CA certificates is UNCONFIRMED)' },
        validity: { type: 'string', describe: 'validity, e.g. 5y (default from the profile; never past the parent)' },
        'path-len': { type: 'number', describe: 'basicConstraints pathLenConstraint (default from the profile: 0)' },
        profile: { type: 'string', describe: 'CA profile name or .yaml path (default intermediate-ca)' },
        'new-passphrase-file': { type: 'string', normalize: true, describe: 'file with a different passphrase for the new key' },
        ...keyStoreOption,
        ...noPassphrase,
        ...passphraseFileOption,
      }),
  async run(a, { deps }) {
    const r = await createCa(stderrWithFlags(deps, ['noPassphrase']), {
      keyStore: a.keyStore,
      dir: a.dir,
      name: a.name,
      parent: a.parent,
      root: a.root,
      subject: a.subject,
      keyType: a.keyType,
      validity: a.validity,
      pathLen: a.pathLen,
      profile: a.profile,
      noPassphrase: a.passphrase === false,
      passphraseFile: a.passphraseFile,
      newPassphraseFile: a.newPassphraseFile,
    });
    return { kind: 'pki.ca.create.result', data: r, text: caText('Created', r) };
  },
};

const csr: CommandDef = {
  command: 'csr <name>',
  describe: 'Offline-root workflow: create a CA key here and write a CSR for the parent to sign',
  examples: [
    ['pki ca csr issuing-2 --subject "CN=Example Issuing CA 2,O=Example" --out issuing-2.csr', 'key stays here; send issuing-2.csr to the offline root'],
    ['pki ca import issuing-2 --cert issuing-2.pem --chain root.pem', '... then import what comes back'],
    ["pki ca csr issuing-3 --subject \"CN=Issuing CA 3\" --out issuing-3.csr --key-store 'pkcs11:token=pki-issuing'", 'the key is generated on a token (module and PIN source from pki.yaml keys.pkcs11)'],
  ],
  notes: TOKEN_NOTES,
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'name of the new CA' })
      .options({
        subject: { type: 'string', demandOption: true, describe: 'subject: RFC 4514, most specific first ("CN=Issuing CA 1,O=Example"), or openssl\'s slash form in the order written ("/O=Example/CN=Issuing CA 1")' },
        out: { type: 'string', demandOption: true, normalize: true, describe: 'where to write the CSR (PEM)' },
        'key-type': { type: 'string', choices: KEY_TYPES, default: 'ecdsa-p256', describe: 'key type (ml-dsa-44/65/87: post-quantum, RFC 9881; whether Roles Anywhere accepts ML-DSA CA certificates is UNCONFIRMED)' },
        'path-len': { type: 'number', describe: 'pathLenConstraint to request' },
        ...keyStoreOption,
        ...noPassphrase,
        ...passphraseFileOption,
        ...forceOption,
      }),
  async run(a, { deps }) {
    const r = await createCaCsr(stderrWithFlags(deps, ['noPassphrase']), {
      keyStore: a.keyStore,
      dir: a.dir,
      name: a.name,
      subject: a.subject,
      keyType: a.keyType,
      pathLen: a.pathLen,
      out: a.out,
      force: a.force,
      noPassphrase: a.passphrase === false,
      passphraseFile: a.passphraseFile,
    });
    return {
      kind: 'pki.ca.csr.result',
      data: r,
      text: caText('Pending', r) + `  CSR       ${r.csr}\nNext: have it signed, then: pki ca import ${r.name} --cert SIGNED.pem\n`,
    };
  },
};

const sign: CommandDef = {
  command: 'sign',
  describe: 'Sign a subordinate CA\'s CSR (the offline root\'s half of `pki ca csr` / `pki ca import`)',
  examples: [
    ['pki ca sign --ca root --csr issuing-2.csr --out issuing-2.pem --validity 5y', 'on the offline root machine'],
    ['pki ca sign --ca root --csr region-ca.csr --out region-ca.pem --path-len 1 --profile ./profiles/region-ca.yaml', 'a CA that may itself create issuing CAs'],
  ],
  notes: 'Only the subject and public key are taken from the CSR; basicConstraints, keyUsage and validity come from the profile.',
  builder: (y) =>
    y.options({
      ca: { type: 'string', demandOption: true, describe: 'signing CA' },
      csr: { type: 'string', demandOption: true, normalize: true, describe: 'the subordinate CA\'s CSR' },
      out: { type: 'string', demandOption: true, normalize: true, describe: 'where to write the signed CA certificate' },
      validity: { type: 'string', describe: 'validity, e.g. 5y (default from the profile; never past the signing CA)' },
      'path-len': { type: 'number', describe: 'pathLenConstraint (default from the profile: 0)' },
      profile: { type: 'string', describe: 'CA profile name or .yaml path (default intermediate-ca)' },
      ...passphraseFileOption,
      ...forceOption,
    }),
  async run(a, { deps }) {
    const r = await signCaCsr(deps, { dir: a.dir, ca: a.ca, csr: a.csr, out: a.out, validity: a.validity, pathLen: a.pathLen, profile: a.profile, force: a.force, passphraseFile: a.passphraseFile });
    return {
      kind: 'pki.ca.sign.result',
      data: r,
      text: `Signed CA certificate ${r.serial} for ${r.subject} by ${r.issuer}\n  valid     ${shortTime(r.notBefore)} .. ${shortTime(r.notAfter)}\n  cert      ${r.out}\n`,
    };
  },
};

const importCmd: CommandDef = {
  command: 'import <name>',
  describe: 'Import a CA certificate: complete a pending CA (after `pki ca csr`), or bring in a CA made elsewhere with --key',
  examples: [
    ['pki ca import issuing-2 --cert issuing-2.pem --chain offline-root.pem', 'complete the pending CA issuing-2; keep the root for `ca export --chain`'],
    ['pki ca import legacy --cert ca.pem --key ca-key.pem', 'migrate a CA from cfssl/openssl; the key is re-encrypted into this PKI'],
    ["pki ca import legacy --cert ca.pem --key 'pkcs11:token=old;object=ca-key'", 'adopt a CA whose key is already on a PKCS#11 token (it stays there; module and PIN source from pki.yaml keys.pkcs11)'],
  ],
  notes:
    'The certificate must match the CA key and satisfy Roles Anywhere CA rules (CA:TRUE, keyCertSign, SHA-256+).\n' +
    '--key pkcs11:... adopts a key on a token in place: its public key must be the certificate\'s and a challenge it signs\n' +
    'must verify with the certificate (CRYPTO_KEY_MISMATCH, exit 7, nothing recorded otherwise); the store records the URI.',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'CA name' })
      .options({
        cert: { type: 'string', demandOption: true, normalize: true, describe: 'the CA certificate (PEM or DER)' },
        chain: { type: 'string', normalize: true, describe: 'PEM with the issuer chain (issuer first) when the issuer is not in this PKI' },
        key: { type: 'string', describe: 'the CA private key, for a CA not created here: a PEM file, or a pkcs11: URI of a key on a token' },
        'key-passphrase-file': { type: 'string', normalize: true, describe: 'passphrase of an encrypted --key' },
        ...noPassphrase,
        ...passphraseFileOption,
      }),
  async run(a, { deps }) {
    const r = await importCa(stderrWithFlags(deps, ['noPassphrase']), {
      dir: a.dir,
      name: a.name,
      cert: a.cert,
      chain: a.chain,
      key: a.key,
      keyPassphraseFile: a.keyPassphraseFile,
      noPassphrase: a.passphrase === false,
      passphraseFile: a.passphraseFile,
    });
    return { kind: 'pki.ca.import.result', data: r, text: caText('Imported', r) };
  },
};

const list: CommandDef = {
  command: 'list',
  describe: 'List the CAs in this PKI',
  examples: [
    ['pki ca list', 'table of CAs'],
    ['pki ca list --json | jq -r ".data[].name"', 'CA names for scripts'],
  ],
  builder: (y) => y,
  async run(a, { deps }) {
    const r = await listCas(deps, { dir: a.dir });
    return {
      kind: 'pki.ca.list.result',
      data: r,
      text: table(
        ['NAME', 'STATUS', 'PARENT', 'KEY', 'NOT AFTER', 'SUBJECT'],
        r.map((c) => [c.name, c.expired && c.status === 'active' ? 'expired' : c.status, c.parent ?? '-', c.keyType, shortTime(c.notAfter), c.subject]),
      ),
    };
  },
};

const exportCmd: CommandDef = {
  command: 'export <name>',
  describe: 'Write a CA certificate (optionally with its issuers up to the root) as PEM',
  examples: [
    ['pki ca export issuing-1 --out issuing-1.pem', 'the CA certificate'],
    ['pki ca export issuing-1 --chain --out chain.pem', 'issuing-1, then its parents up to the root'],
  ],
  builder: (y) =>
    y.positional('name', { type: 'string', describe: 'CA name' }).options({
      chain: { type: 'boolean', default: false, describe: 'append the issuers up to the root' },
      out: { type: 'string', normalize: true, describe: 'file to write (default: stdout)' },
      ...forceOption,
    }),
  async run(a, { deps }) {
    const r = await exportCa(deps, { dir: a.dir, name: a.name, chain: a.chain, out: a.out, force: a.force });
    return { kind: 'pki.ca.export.result', data: r, text: r.out ? `Wrote ${r.certificates} certificate(s) to ${r.out}\n` : r.pem };
  },
};

const retire: CommandDef = {
  command: 'retire <name>',
  describe: 'Take a CA (and every CA below it) out of service: no more issuance, no CRL or expiry alarms; records kept',
  examples: [
    ['pki ca retire issuing-1', 'issuing-1 stops issuing (STATE_CA_RETIRED) and pki status stops watching its CRL'],
    ['pki ca retire issuing-1 --json | jq -r ".data.retired[]"', 'the CAs this retired'],
  ],
  notes:
    'pki rotate finish retires the rotated-out CA the same way. Its certificates, revocations and CRLs stay on record\n' +
    '(pki list, pki show, pki crl export). A revoked CA keeps the status "revoked"; retiring it acknowledges the incident,\n' +
    'so pki status stops reporting it as critical. Retiring cannot be undone. Run it once the CA is out of every trust\n' +
    'anchor: a warning names the anchors that still hold it.',
  builder: (y) => y.positional('name', { type: 'string', describe: 'CA name' }),
  async run(a, { deps }) {
    const r = await retireCa(deps, { dir: a.dir, name: a.name });
    const text =
      (r.retired.length ? `Retired ${r.retired.join(', ')}\n` : `Nothing to do: ${r.unchanged.join(', ')} already retired\n`) +
      r.cas.map((c) => `  ${c.name.padEnd(20)} ${c.status}\n`).join('');
    for (const w of r.warnings) deps.stderr.write(`warning: ${w}\n`);
    return { kind: 'pki.ca.retire.result', data: r, text };
  },
};

export const caGroup: CommandGroup = {
  command: 'ca',
  describe: 'Manage CAs: create, csr, sign, import, list, export, retire',
  subcommands: [create, csr, sign, importCmd, list, exportCmd, retire],
};
