import { addTarget, listTargets, removeTarget } from '../../app/targets.js';
import type { CommandDef, CommandGroup } from '../command.js';
import { table } from '../output/render.js';

const TARGET_NOTE =
  'A target is an account/region pair trust anchors and CRLs are published to, and how to reach it: an AWS\n' +
  'shared-config profile (--aws-profile), a role to assume with STS AssumeRole (--role-arn; the source credentials come\n' +
  'from the SDK\'s standard chain, PKI_STS_ENDPOINT overrides the STS endpoint), or neither (the standard chain);\n' +
  '--endpoint points at another Roles Anywhere endpoint (a VPC endpoint, the emulator): https://, or plain http:// only\n' +
  'to 127.0.0.1, localhost or [::1] (any other is USAGE_INSECURE_ENDPOINT, exit 2, and nothing is recorded; the same\n' +
  'holds for PKI_STS_ENDPOINT when a target assumes a role). With --account, every ARN the\n' +
  'service returns must be in that account (AWS_WRONG_ACCOUNT, exit 9, otherwise).\n' +
  'Without --target, pki anchor push / crl publish / anchor status keep using --region and --endpoint (the implicit\n' +
  'target, shown as "(default)").';

const add: CommandDef = {
  command: 'add <name>',
  describe: 'Add a publishing target: an AWS account/region pair and how to reach it (profile, role or endpoint)',
  examples: [
    ['pki target add prod-eu --region eu-west-1 --account 111122223333 --aws-profile prod-eu', 'credentials from ~/.aws/config profile prod-eu'],
    ['pki target add prod-us --region us-east-1 --role-arn arn:aws:iam::444455556666:role/pki-publisher', 'assume a role in the workload account'],
    ['pki target add lab --region us-east-1 --endpoint http://127.0.0.1:8443', 'the emulator'],
  ],
  notes: TARGET_NOTE,
  builder: (y) =>
    y.positional('name', { type: 'string', describe: 'target name (letters, digits, - _; "all" is reserved)' }).options({
      region: { type: 'string', demandOption: true, describe: 'AWS region (e.g. eu-west-1)' },
      account: { type: 'string', describe: '12-digit account id the target is in (checked against every ARN)' },
      'aws-profile': { type: 'string', describe: 'AWS shared-config profile whose credentials reach the target' },
      'role-arn': { type: 'string', describe: 'IAM role to assume (STS AssumeRole) to reach the target' },
      endpoint: { type: 'string', describe: 'Roles Anywhere endpoint URL (default: the region\'s): https://; plain http:// only to 127.0.0.1, localhost or [::1]' },
    }),
  async run(a, { deps }) {
    const t = await addTarget(deps, { dir: a.dir, name: String(a.name), region: a.region, account: a.account, awsProfile: a.awsProfile, roleArn: a.roleArn, endpoint: a.endpoint });
    return { kind: 'pki.target.add.result', data: t, text: `Target ${t.name}: ${t.region}${t.account ? ` account ${t.account}` : ''}${t.awsProfile ? ` profile ${t.awsProfile}` : ''}${t.roleArn ? ` role ${t.roleArn}` : ''}${t.endpoint ? ` endpoint ${t.endpoint}` : ''}\n` };
  },
};

const list: CommandDef = {
  command: 'list',
  describe: 'List the publishing targets and the trust anchors this PKI recorded on each',
  examples: [['pki target list', 'name, region, account, how it is reached, anchors']],
  notes: TARGET_NOTE,
  builder: (y) => y,
  async run(a, { deps }) {
    const r = await listTargets(deps, { dir: a.dir });
    const how = (t: (typeof r)[number]) => (t.awsProfile ? `profile ${t.awsProfile}` : t.roleArn ? `role ${t.roleArn}` : 'default credentials') + (t.endpoint ? ` @ ${t.endpoint}` : '');
    return {
      kind: 'pki.target.list.result',
      data: r,
      text: table(['NAME', 'REGION', 'ACCOUNT', 'REACHED WITH', 'ANCHORS'], r.map((t) => [t.name, t.region, t.account ?? '-', how(t), t.anchors.join(', ') || '-'])) || 'no targets (pki target add NAME --region REGION)\n',
    };
  },
};

const remove: CommandDef = {
  command: 'remove <name>',
  describe: 'Remove a publishing target that holds no trust anchor recorded by this PKI',
  examples: [['pki target remove lab', 'refused (exit 6) while the target holds a recorded trust anchor']],
  builder: (y) => y.positional('name', { type: 'string', describe: 'target name' }),
  async run(a, { deps }) {
    const r = await removeTarget(deps, { dir: a.dir, name: String(a.name) });
    return { kind: 'pki.target.remove.result', data: r, text: `Removed target ${r.name}\n` };
  },
};

export const targetGroup: CommandGroup = { command: 'target', describe: 'Publishing targets (AWS account/region pairs): add, list, remove', subcommands: [add, list, remove] };
