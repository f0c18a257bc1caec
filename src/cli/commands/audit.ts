import { AUDIT_EXIT, auditLog, verifyAudit } from '../../app/audit.js';
import type { CommandDef, CommandGroup } from '../command.js';
import { shortTime, table } from '../output/render.js';

const verify: CommandDef = {
  command: 'verify',
  describe: 'Recompute the audit log\'s hash chain and report the first row that was changed or deleted',
  examples: [
    ['pki audit verify', 'exit 0 when the chain is intact'],
    ['pki audit verify --json | jq .data.head.hash', 'the head hash: keep it elsewhere (ticket, chat) to detect a truncated log later'],
  ],
  exitCodes: [
    { exit: AUDIT_EXIT.intact, meaning: 'intact: every row links to the one before and matches its hash' },
    { exit: AUDIT_EXIT.broken, meaning: 'broken: a row was changed or deleted (the first one is named)' },
  ],
  notes: 'A chain cannot reveal rows removed from its end: compare the head hash with one you recorded earlier.',
  builder: (y) => y,
  async run(a, { deps }) {
    const r = await verifyAudit(deps, { dir: a.dir });
    const text = r.intact
      ? `Audit log intact: ${r.rows} row(s)${r.head ? `, head #${r.head.seq} ${r.head.hash}` : ''}\n`
      : `Audit log BROKEN at row #${r.firstBroken!.seq}: ${r.firstBroken!.reason}\n`;
    return { kind: 'pki.audit.verify.result', data: r, text, exitCode: r.exitCode };
  },
};

const log: CommandDef = {
  command: 'log',
  describe: 'Show the audit log: who changed what, when',
  examples: [
    ['pki audit log --limit 20', 'the last 20 state changes'],
    ['pki audit log --json | jq \'.data[] | select(.action == "certificate.revoke")\'', 'every revocation'],
  ],
  builder: (y) => y.options({ limit: { type: 'number', describe: 'only the last N rows' } }),
  async run(a, { deps }) {
    const r = await auditLog(deps, { dir: a.dir, limit: a.limit });
    return {
      kind: 'pki.audit.log.result',
      data: r,
      text: table(['SEQ', 'AT', 'ACTOR', 'ACTION', 'TARGET'], r.map((x) => [String(x.seq), shortTime(x.at), x.actor, x.action, x.target])) || 'no rows\n',
    };
  },
};

export const auditGroup: CommandGroup = { command: 'audit', describe: 'The tamper-evident audit log: verify, log', subcommands: [verify, log] };
