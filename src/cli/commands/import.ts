import { importText } from '../../app/import/common.js';
import { stderrWithFlags } from '../output/flags.js';
import { importCfssl } from '../../app/import/cfssl.js';
import { importEasyRsa } from '../../app/import/easy-rsa.js';
import { importOpensslCa } from '../../app/import/openssl-ca.js';
import { passphraseFileOption, type CommandDef, type CommandGroup } from '../command.js';
import { noPassphrase } from './ca.js';

const common = {
  name: { type: 'string', demandOption: true, describe: 'name of the CA in this PKI (letters, digits, . _ -)' },
  'key-passphrase-file': { type: 'string', normalize: true, describe: 'passphrase of the old CA\'s encrypted key' },
  ...noPassphrase,
  ...passphraseFileOption,
} as const;

const HISTORY_NOTES =
  'Everything is checked first and recorded in ONE transaction (all or nothing): the CA certificate and key (they\n' +
  'must match; the key is re-encrypted into this PKI, --passphrase-file / $PKI_CA_PASSPHRASE / prompt, or\n' +
  '--no-passphrase), every index line (V, R with its date and reason, E), and every certificate file (it must be\n' +
  'issued by this CA and listed in the index). A serial without a certificate file is recorded as a known serial\n' +
  '(subject and expiry from the index; no certificate to show). Imported certificates are seen by revoke, list,\n' +
  'show, status and rotate. A bad index line is named as FILE:LINE (USAGE_BAD_INDEX_LINE, exit 2).\n' +
  'CRL continuity: the first `pki crl generate` for the CA is numbered from the crlnumber file (the number openssl\n' +
  'would give its next CRL) or above the old CRL, and lists every unexpired old revocation; every entry of the old\n' +
  'CRL must be revoked in the index (else STATE_IMPORT_INCONSISTENT). Without either, crl generate refuses\n' +
  '(STATE_CRL_HISTORY_UNKNOWN) until given --first-crl-number N or --previous OLD.crl.\n' +
  'openssl reasons are mapped to RFC 5280 codes; keyTime/CAkeyTime keep their compromise time as the invalidity\n' +
  'date; certificateHold/holdInstruction stay on CRLs as certificateHold (pki cannot release a hold).';

const opensslCa: CommandDef = {
  command: 'openssl-ca',
  describe: 'Import an `openssl ca` CA with its history: index.txt, newcerts/, crlnumber and the last CRL',
  examples: [
    ['pki import openssl-ca --name legacy --cert ca.pem --key private/ca.key --index index.txt --crlnumber crlnumber --certs newcerts/', 'the usual openssl ca layout'],
    ['pki import openssl-ca --name legacy --cert ca.pem --key ca.key --index index.txt --crl crl/last.crl --key-passphrase-file old-pass.txt', 'the next CRL number taken from the last CRL'],
  ],
  notes: HISTORY_NOTES,
  builder: (y) =>
    y.options({
      ...common,
      cert: { type: 'string', demandOption: true, normalize: true, describe: 'the CA certificate (PEM or DER)' },
      key: { type: 'string', demandOption: true, normalize: true, describe: 'the CA private key (PEM: PKCS#8, PKCS#1, SEC1; encrypted or not)' },
      index: { type: 'string', demandOption: true, normalize: true, describe: 'openssl ca\'s database (the "database" of openssl.cnf, usually index.txt)' },
      crlnumber: { type: 'string', normalize: true, describe: 'openssl ca\'s crlnumber file (hex: the number of its next CRL)' },
      certs: { type: 'string', normalize: true, describe: 'the directory of issued certificates (new_certs_dir, usually newcerts/)' },
      crl: { type: 'string', normalize: true, describe: 'the old CA\'s last CRL (PEM or DER): its number is continued, its entries checked' },
    }),
  async run(a, { deps }) {
    const r = await importOpensslCa(stderrWithFlags(deps, ['noPassphrase']), {
      dir: a.dir,
      name: a.name,
      cert: a.cert,
      key: a.key,
      index: a.index,
      crlnumber: a.crlnumber,
      certs: a.certs,
      crl: a.crl,
      keyPassphraseFile: a.keyPassphraseFile,
      noPassphrase: a.passphrase === false,
      passphraseFile: a.passphraseFile,
    });
    return { kind: 'pki.import.openssl-ca.result', data: r, text: importText(r) };
  },
};

const easyRsa: CommandDef = {
  command: 'easy-rsa',
  describe: 'Import an easy-rsa 3 CA with its history from its PKI directory (ca.crt, private/ca.key, index.txt, issued/)',
  examples: [
    ['pki import easy-rsa --name legacy --pki-dir ./easyrsa/pki', 'the directory easy-rsa init-pki made'],
    ['pki import easy-rsa --name vpn-ca --pki-dir /etc/openvpn/easy-rsa/pki --key-passphrase-file ca-pass.txt', 'a CA key built without nopass'],
  ],
  notes:
    'Read from --pki-dir: ca.crt, private/ca.key, index.txt, and when present crlnumber, crl.pem and the certificates\n' +
    'in issued/, certs_by_serial/ and revoked/certs_by_serial/. easy-rsa 3.1 CRLs carry no CRL Number: pki then\n' +
    'numbers from 1 (nothing to compare with) and still keeps every old revocation.\n' + HISTORY_NOTES,
  builder: (y) =>
    y.options({
      ...common,
      'pki-dir': { type: 'string', demandOption: true, normalize: true, describe: 'easy-rsa\'s PKI directory (EASYRSA_PKI)' },
    }),
  async run(a, { deps }) {
    const r = await importEasyRsa(stderrWithFlags(deps, ['noPassphrase']), {
      dir: a.dir,
      name: a.name,
      pkiDir: a.pkiDir,
      keyPassphraseFile: a.keyPassphraseFile,
      noPassphrase: a.passphrase === false,
      passphraseFile: a.passphraseFile,
    });
    return { kind: 'pki.import.easy-rsa.result', data: r, text: importText(r) };
  },
};

const cfssl: CommandDef = {
  command: 'cfssl',
  describe: 'Import a cfssl CA with its history from cfssl\'s SQLite certdb (certificates table: status, reason, PEM)',
  examples: [
    ['pki import cfssl --name legacy --cert ca.pem --key ca-key.pem --certdb certs.db', 'the CA and every certificate cfssl recorded'],
    ['pki import cfssl --name legacy --cert ca.pem --key ca-key.pem --certdb certs.db --crl crl.pem', 'with the last CRL cfssl made: its entries checked'],
  ],
  notes:
    'Every row of the certdb\'s certificates table whose authority_key_identifier is this CA\'s key identifier is\n' +
    'imported with its certificate (the pem column): status good or revoked, revoked_at, reason (RFC 5280 code).\n' +
    'Each certificate must be signed by the CA and match its serial_number (decimal, as cfssl writes it). Rows of\n' +
    'other CAs are left out and counted; a certdb with no row of this CA is refused (CRYPTO_CHAIN_MISMATCH, exit 7).\n' +
    'All rows are checked first, then recorded in ONE transaction (all or nothing); the key is re-encrypted into\n' +
    'this PKI (--passphrase-file / $PKI_CA_PASSPHRASE / prompt, or --no-passphrase).\n' +
    'cfssl\'s CRLs carry no CRL Number: with --crl the first pki CRL starts at 1 (above nothing) and every entry of\n' +
    'the old CRL must be revoked in the certdb; without --crl the old numbering is unknown and `pki crl generate`\n' +
    'refuses (STATE_CRL_HISTORY_UNKNOWN) until given --previous OLD.crl or --first-crl-number N.',
  builder: (y) =>
    y.options({
      ...common,
      cert: { type: 'string', demandOption: true, normalize: true, describe: 'the CA certificate (cfssl\'s ca.pem)' },
      key: { type: 'string', demandOption: true, normalize: true, describe: 'the CA private key (cfssl\'s ca-key.pem)' },
      certdb: { type: 'string', demandOption: true, normalize: true, describe: 'cfssl\'s SQLite certdb (the db_config data source), opened read-only' },
      crl: { type: 'string', normalize: true, describe: 'the last CRL the old CA published (PEM or DER)' },
    }),
  async run(a, { deps }) {
    const r = await importCfssl(stderrWithFlags(deps, ['noPassphrase']), {
      dir: a.dir,
      name: a.name,
      cert: a.cert,
      key: a.key,
      certdb: a.certdb,
      crl: a.crl,
      keyPassphraseFile: a.keyPassphraseFile,
      noPassphrase: a.passphrase === false,
      passphraseFile: a.passphraseFile,
    });
    return { kind: 'pki.import.cfssl.result', data: r, text: importText(r) + (r.otherCas ? `  left out      ${r.otherCas} certificate(s) of other CAs\n` : '') };
  },
};

export const importGroup: CommandGroup = {
  command: 'import',
  describe: 'Bring a CA from another tool across with its history (openssl ca, easy-rsa, cfssl)',
  subcommands: [opensslCa, easyRsa, cfssl],
};
