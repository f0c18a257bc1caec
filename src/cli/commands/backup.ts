import { backupPki } from '../../app/backup.js';
import { forceOption, type CommandDef } from '../command.js';

export const backupCommand: CommandDef = {
  command: 'backup',
  describe: 'Write the whole PKI (database snapshot, CA keys, pki.yaml, profiles) to one archive file, while other commands keep running',
  examples: [
    ['pki backup --out /backup/pki-$(date +%F).tar', 'a consistent copy of the PKI directory, mode 0600'],
    ['pki restore /backup/pki-2026-03-01.tar --dir /srv/pki-restored', 'bring it back in an empty directory'],
  ],
  notes:
    'The archive is a POSIX tar (list it with tar -tvf): pki-backup.json first (format, version, the audit head at the\n' +
    'time of the backup, and the size, mode and SHA-256 of every entry), then pki.yaml, the database (a snapshot through\n' +
    'SQLite\'s online backup API: one committed state, whatever other pki processes do meanwhile), the key file of every\n' +
    'CA in that snapshot, and the profiles directory. It is written 0600: it holds the CA keys (encrypted at rest unless\n' +
    'they were made with --no-passphrase). The store, keys and profiles must live inside the PKI directory.',
  builder: (y) =>
    y.options({
      out: { type: 'string', demandOption: true, normalize: true, describe: 'the archive file to write (mode 0600)' },
      ...forceOption,
    }),
  async run(a, { deps }) {
    const r = await backupPki(deps, { dir: a.dir, out: a.out, force: a.force });
    return {
      kind: 'pki.backup.result',
      data: r,
      text: `Backed up ${r.cas} CA(s) and ${r.files} file(s) to ${r.out} (${r.bytes} bytes, sha256 ${r.sha256})\n  audit head ${r.auditHead ?? '(empty log)'}\n`,
    };
  },
};
