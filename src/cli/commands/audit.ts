import { AUDIT_EXIT, auditHead, auditLog, verifyAudit } from '../../app/audit.js';
import type { CommandDef, CommandGroup } from '../command.js';
import { shortTime, table } from '../output/render.js';

const verify: CommandDef = {
  command: 'verify',
  describe: 'Recompute the audit log\'s hash chain, cross-check certificate and revocation rows against it, and check a recorded head',
  examples: [
    ['pki audit verify', 'exit 0 when the chain is intact and every certificate and revocation row matches its event'],
    ['pki audit verify --head "$(cat /secure/pki-audit-head)"', 'also exit 11 if the log was truncated below a head recorded earlier with pki audit head'],
  ],
  exitCodes: [
    { exit: AUDIT_EXIT.intact, meaning: 'intact: every row links to the one before and matches its hash; every certificate and revocation row has its event and every event its row; the --head is in the chain' },
    { exit: AUDIT_EXIT.broken, meaning: 'broken: a row was changed or deleted (the first one is named), a certificate or revocation row was added or deleted behind pki\'s back, or the --head is no longer in the log' },
  ],
  notes:
    'A chain cannot reveal rows removed from its end: record the head elsewhere (pki audit head) and pass it back with\n' +
    '--head. The cross-check finds, for example, a revocation row deleted after its append-only trigger was dropped\n' +
    '(the next CRL would otherwise silently leave that certificate out).',
  builder: (y) => y.options({ head: { type: 'string', describe: 'a head recorded earlier (SEQ:HASH from pki audit head, or the hash alone)' } }),
  async run(a, { deps }) {
    const r = await verifyAudit(deps, { dir: a.dir, head: a.head });
    let text = r.intact
      ? `Audit log intact: ${r.rows} row(s)${r.head ? `, head ${r.head.text}` : ''}${r.headCheck ? '; the recorded head is in the chain' : ''}\n`
      : `Audit log BROKEN\n`;
    if (r.firstBroken) text += `  BROKEN at row #${r.firstBroken.seq}: ${r.firstBroken.reason}\n`;
    for (const m of r.mismatches.slice(0, 50)) text += `  MISMATCH ${m}\n`;
    if (r.mismatches.length > 50) text += `  ... and ${r.mismatches.length - 50} more mismatches (--json lists them all)\n`;
    if (r.headCheck?.problem) text += `  HEAD ${r.headCheck.problem}\n`;
    return { kind: 'pki.audit.verify.result', data: r, text, exitCode: r.exitCode };
  },
};

const head: CommandDef = {
  command: 'head',
  describe: 'Print the audit log\'s head (SEQ:HASH) to record somewhere else, for audit verify --head',
  examples: [
    ['pki audit head >> /secure/pki-audit-heads', 'keep a copy outside this machine (ticket, chat, another host)'],
    ['pki audit verify --head "$(tail -1 /secure/pki-audit-heads)"', 'later: exit 11 if the log lost rows from its end'],
  ],
  builder: (y) => y,
  async run(a, { deps }) {
    const r = await auditHead(deps, { dir: a.dir });
    return { kind: 'pki.audit.head.result', data: r, text: r.head ? `${r.head}\n` : 'the audit log is empty\n' };
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

export const auditGroup: CommandGroup = { command: 'audit', describe: 'The tamper-evident audit log: verify, head, log', subcommands: [verify, head, log] };
