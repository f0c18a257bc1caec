import { restorePki } from '../../app/backup.js';
import type { CommandDef } from '../command.js';

export const restoreCommand: CommandDef = {
  command: 'restore <file>',
  describe: 'Restore a PKI from a pki backup archive into an empty or new directory, checking it on the way',
  examples: [
    ['pki restore /backup/pki-2026-03-01.tar --dir /srv/pki-restored', 'then: pki status --dir /srv/pki-restored'],
    ['pki restore pki.tar --dir ./pki --json | jq .data.auditHead', 'the audit head the backup was made at'],
  ],
  notes:
    'Refuses a non-empty --dir (STATE_OUTPUT_EXISTS). Before writing, every entry is checked against the archive\'s\n' +
    'manifest (SHA-256, size); after writing, the database\'s integrity, the audit chain and its cross-checks, the audit\n' +
    'head recorded at backup time and every CA\'s key file. On any failure (STATE_BACKUP_INVALID) nothing is left behind.\n' +
    'Key paths are relative to the PKI directory, so the restored PKI uses its own keys.',
  builder: (y) => y.positional('file', { type: 'string', normalize: true, describe: 'the archive written by pki backup' }),
  async run(a, { deps }) {
    const r = await restorePki(deps, { file: a.file, dir: a.dir });
    return {
      kind: 'pki.restore.result',
      data: r,
      text: `Restored ${r.cas.length} CA(s) (${r.cas.join(', ')}) and ${r.files} file(s) into ${r.dir}\n  backup made ${r.createdAt} from ${r.source}; audit log intact, ${r.auditRows} row(s), head ${r.auditHead ?? '(empty)'}\n`,
    };
  },
};
