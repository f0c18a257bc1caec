import { initPki } from '../../app/ca/index.js';
import { stderrWithFlags } from '../output/flags.js';
import { KEY_TYPES } from '../../crypto/keys.js';
import { passphraseFileOption, type CommandDef } from '../command.js';
import { keyStoreOption } from '../key-store-option.js';
import { shortTime } from '../output/render.js';

/** The key flag the suggested `pki ca create` needs: the root's token for a token root, --no-passphrase for a plain key. */
function nextKeyFlag(keyFile: string, encrypted: boolean): string {
  const token = /^pkcs11:(?:[^?]*;)?token=([^;?]*)/i.exec(keyFile)?.[1];
  if (keyFile.startsWith('pkcs11:')) return token ? ` --key-store 'pkcs11:token=${token}'` : '';
  return encrypted ? '' : ' --no-passphrase';
}

export const initCommand: CommandDef = {
  command: 'init',
  describe: 'Create a PKI directory: pki.yaml, the store (SQLite, or a PostgreSQL database with --store) and a self-signed root CA named "root"',
  examples: [
    ['pki init --dir ./pki --subject "CN=Example Root CA,O=Example"', 'new PKI with a P-256 root valid 10 years; prompts for a passphrase'],
    ['PKI_CA_PASSPHRASE=... pki init --dir ./pki --subject "CN=Example Root CA,O=Example" --key-type rsa-3072 --validity 15y', 'RSA root, passphrase from the environment'],
    ['pki init --dir /tmp/demo --subject "CN=Demo Root" --no-passphrase', 'unencrypted root key (demos and tests only)'],
    ['pki init --dir ./pq --subject "CN=PQ Root" --key-type ml-dsa-65', 'post-quantum ML-DSA-65 root (RFC 9881); Roles Anywhere acceptance of ML-DSA CAs is UNCONFIRMED'],
    ['pki init --dir ./node-a --subject "CN=Root" --store postgres://pki@db.example/pki?sslmode=verify-full', 'the store in a PostgreSQL database that more CA nodes share (pki node join); password from PGPASSFILE/PGPASSWORD'],
    ['pki init --dir ./pki --root-cert old/ca.pem --root-key old/ca.key', 'adopt an existing self-signed root (cfssl, openssl, easy-rsa) as "root"; its key is re-encrypted here'],
    [
      "pki init --dir ./pki --subject \"CN=Root\" --key-store 'pkcs11:token=pki-root?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pki/pin'",
      'the root key is generated on a PKCS#11 token (here SoftHSM2) and never leaves it; the store records only the URI',
    ],
  ],
  notes:
    'The root certificate follows IAM Roles Anywhere trust-anchor rules: basicConstraints critical CA:TRUE, keyUsage critical\n' +
    'keyCertSign+cRLSign, SKI and AKI (keyIdentifier), SHA-256+ signature. The key is PKCS#8 encrypted with PBES2\n' +
    '(PBKDF2-HMAC-SHA256, AES-256-CBC), mode 0600; `openssl pkey -in keys/root.key.pem` can read it.\n' +
    '--root-cert/--root-key adopt an existing root instead: it must be self-signed and pass the CA rules, and the key must\n' +
    'match (an encrypted key is unlocked with --root-key-passphrase-file or a prompt). Its certificates and revocations\n' +
    'stay with the old tool (pki import brings them across); its first CRL here needs --first-crl-number or --previous\n' +
    '(STATE_CRL_HISTORY_UNKNOWN otherwise). --subject is RFC 4514, most specific first ("CN=Root,O=Example"), or\n' +
    'openssl\'s slash form in the order written ("/O=Example/CN=Root").\n' +
    '--key-store pkcs11:...: the root key is generated on the token (sensitive, never extractable, label "root", CKA_ID =\n' +
    'its key identifier); no passphrase is asked. The token PIN comes from pin-source in the URI (file:PATH or env:NAME),\n' +
    '$PKI_PKCS11_PIN or a prompt, never from the command line (pin-value is refused). The token is found and logged in\n' +
    'to before anything is created; a failure is CRYPTO_TOKEN_* (exit 7) naming the CKR_ code. The URI\'s module-path and\n' +
    'pin-source (relative paths made absolute against the current directory) become pki.yaml keys.pkcs11, so later URIs\n' +
    'name only the token; the key reference stored names the token and the key, never the module or the PIN source.' +
    '\n' +
    '--store (or $PKI_STORE_URL) puts the store in PostgreSQL: the URL is written to pki.yaml (store.url; the file is\n' +
    'made 0600 if the URL holds a password, which is never printed); the database must be reachable and hold no PKI yet\n' +
    '(STATE_STORE_NOT_EMPTY: add a node with pki node join instead). Unreachable: STORE_UNAVAILABLE (exit 12).',
  builder: (y) =>
    y.options({
      subject: { type: 'string', describe: 'root CA subject: RFC 4514 ("CN=Example Root CA,O=Example") or openssl\'s "/O=Example/CN=Example Root CA"' },
      'root-cert': { type: 'string', describe: 'adopt this existing self-signed root certificate (with --root-key) instead of making one' },
      'root-key': { type: 'string', describe: 'the adopted root\'s private key (PEM; PKCS#8, PKCS#1 or SEC1, encrypted or not)' },
      'root-key-passphrase-file': { type: 'string', describe: 'file with the passphrase of an encrypted --root-key' },
      'key-type': { type: 'string', choices: KEY_TYPES, default: 'ecdsa-p256', describe: 'root CA key type (ml-dsa-44/65/87: post-quantum, RFC 9881; whether Roles Anywhere accepts ML-DSA CA certificates is UNCONFIRMED)' },
      validity: { type: 'string', describe: 'root CA validity (e.g. 10y; default from the root-ca profile)' },
      profile: { type: 'string', describe: 'root CA profile name or .yaml path (default root-ca)' },
      passphrase: { type: 'boolean', default: true, describe: 'encrypt the key; --no-passphrase stores it unencrypted (warned)' },
      ...keyStoreOption,
      store: { type: 'string', describe: 'store URL: postgres://USER@HOST[:PORT]/DB[?sslmode=...] for PostgreSQL (several CA nodes), or sqlite:FILE (default $PKI_STORE_URL, else sqlite:pki.db)' },
      'pbkdf2-iterations': { type: 'number', describe: 'PBKDF2 iterations for CA keys in this PKI (default 600000, minimum 10000)' },
      ...passphraseFileOption,
    }),
  async run(a, { deps }) {
    const r = await initPki(stderrWithFlags(deps, ['noPassphrase']), {
      dir: a.dir,
      subject: a.subject,
      rootCert: a.rootCert,
      rootKey: a.rootKey,
      rootKeyPassphraseFile: a.rootKeyPassphraseFile,
      keyType: a.keyType,
      validity: a.validity,
      profile: a.profile,
      noPassphrase: a.passphrase === false,
      passphraseFile: a.passphraseFile,
      pbkdf2Iterations: a.pbkdf2Iterations,
      keyStore: a.keyStore,
      store: a.store,
    });
    return {
      kind: 'pki.init.result',
      data: r,
      text:
        `Initialised PKI in ${r.dir}\n` +
        `  root CA   ${r.ca.subject} (${r.ca.keyType}), serial ${r.ca.serial}${r.adopted ? ' (adopted)' : ''}\n` +
        `  valid     ${shortTime(r.ca.notBefore)} .. ${shortTime(r.ca.notAfter)}\n` +
        `  key       ${r.ca.keyFile} (${r.ca.keyFile.startsWith('pkcs11:') ? 'on a PKCS#11 token' : r.ca.keyEncrypted ? 'encrypted' : 'NOT encrypted'})\n` +
        `  store     ${r.store}\n` +
        `Next: pki ca create issuing-1 --parent root --subject "CN=Issuing CA 1" --dir ${r.dir}${nextKeyFlag(r.ca.keyFile, r.ca.keyEncrypted)}\n`,
    };
  },
};
