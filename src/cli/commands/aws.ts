import { awsConfig, createProfile, trustPolicy } from '../../app/iam.js';
import { PkiError } from '../../errors.js';
import type { CommandDef, CommandGroup } from '../command.js';
import { optionalFileDocument } from '../documents.js';
import { awsOptions } from './anchor.js';

const TARGET_FLAG = { target: { type: 'string', describe: 'publishing target (pki target add); default: the implicit one (--region / --endpoint)' } } as const;

/** --cn web-01 --ou payments ... → tag conditions. */
const TAG_FLAGS: Array<[string, string, string]> = [
  ['cn', 'x509Subject/CN', 'subject CN'],
  ['ou', 'x509Subject/OU', 'subject OU (several OUs: joined with "/" in certificate order)'],
  ['o', 'x509Subject/O', 'subject O'],
  ['issuer-cn', 'x509Issuer/CN', 'issuer CN'],
  ['san-dns', 'x509SAN/DNS', 'the first DNS SAN'],
  ['san-uri', 'x509SAN/URI', 'the first URI SAN (e.g. spiffe://example.com/web)'],
];

const trust: CommandDef = {
  command: 'trust-policy',
  describe: 'Print the trust policy of an IAM role Roles Anywhere may assume, bound to a trust anchor and certificate attributes',
  examples: [
    ['pki aws trust-policy --anchor prod --target prod-eu --cn web-01', 'only certificates with CN web-01 from anchor prod in prod-eu'],
    ['pki aws trust-policy --anchor prod --target prod-eu --ou payments --san-uri spiffe://example.com/web --cert web.pem', 'and check that web.pem satisfies it'],
    ['pki aws trust-policy --anchor prod --tag x509Subject/L=Berlin > trust.json', 'any tag Roles Anywhere emits'],
  ],
  notes:
    'Principal rolesanywhere.amazonaws.com; actions sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity (without the\n' +
    'last two the service fails with a generic AccessDeniedException); ArnEquals aws:SourceArn = the trust anchor\'s ARN\n' +
    'in that target (as recorded by pki anchor push: a role in another account needs the ARN of the anchor in the\n' +
    'account that authenticates), so no other anchor of the account can be used to assume the role; StringEquals\n' +
    'aws:PrincipalTag/... for each attribute flag. Tag names are those Roles Anywhere emits (x509Subject/RDN,\n' +
    'x509Issuer/RDN, x509SAN/DNS, x509SAN/URI, x509SAN/Name/RDN; the same rules as pki preview); a value the service\n' +
    'would drop (characters outside the STS session-tag set) is refused (POLICY_TAG_VALUE, exit 4), and with --cert the\n' +
    'certificate must produce every tag with that value (POLICY_TRUST_POLICY_MISMATCH, exit 4, names the tag).\n' +
    'A profile whose attribute mapping leaves a tag out makes its condition fail: pass --profile-mapping.',
  builder: (y) =>
    y.options({
      anchor: { type: 'string', demandOption: true, describe: 'trust anchor (as named with pki anchor push)' },
      ...TARGET_FLAG,
      ...Object.fromEntries(TAG_FLAGS.map(([flag, tag, what]) => [flag, { type: 'string', describe: `${what}: aws:PrincipalTag/${tag}` }])),
      tag: { type: 'string', array: true, describe: 'another condition NAME=VALUE (NAME as pki preview prints it, e.g. x509SAN/Name/CN=web)' },
      cert: { type: 'string', normalize: true, describe: 'a certificate the policy must admit (checked as pki preview reads it)' },
      'profile-mapping': { type: 'string', normalize: true, describe: 'with --cert: the profile (aws rolesanywhere get-profile JSON) whose mappings apply' },
    }),
  async run(a, { deps }) {
    const tags: Array<[string, string]> = [];
    for (const [flag, tag] of TAG_FLAGS) if (a[flag] !== undefined) tags.push([tag, String(a[flag])]);
    for (const t of (a.tag as string[] | undefined) ?? []) {
      const i = t.indexOf('=');
      if (i < 1) throw new PkiError('USAGE_BAD_TAG', `--tag "${t}": expected NAME=VALUE (e.g. x509Subject/L=Berlin)`);
      tags.push([t.slice(0, i), t.slice(i + 1)]);
    }
    const r = await trustPolicy(deps, { dir: a.dir, anchor: a.anchor, target: a.target, tags,
      // The mappings matter only to the certificate check: read only with --cert.
      cert: optionalFileDocument(deps.cwd, a.cert, 'cert'),
      profileMapping: a.cert ? optionalFileDocument(deps.cwd, a.profileMapping, 'profileMapping') : undefined,
    });
    return { kind: 'pki.aws.trust-policy.result', data: r, text: `${JSON.stringify(r.policy, null, 2)}\n` };
  },
};

const profile: CommandDef = {
  command: 'profile <action>',
  describe: 'Create a Roles Anywhere profile or bring it up to date: roles, session duration, attribute mappings',
  examples: [
    ['pki aws profile create --name web --role-arn arn:aws:iam::111122223333:role/web --target prod-eu', 'create (or update) profile web in prod-eu'],
    ['pki aws profile create --name web --role-arn arn:aws:iam::111122223333:role/web --duration 1h --map x509Subject/CN --map x509SAN/URI', 'only CN and the URI SAN become session tags'],
  ],
  notes:
    'Safe to repeat: a profile of that name is updated (UpdateProfile: roles, duration; EnableProfile), never created\n' +
    'twice. --map FIELD/SPECIFIER (repeatable) sets the attribute mapping of each FIELD named (PutAttributeMapping):\n' +
    'x509Subject/CN keeps only the subject CN as a tag; fields not named keep the service\'s default (every subject and\n' +
    'issuer RDN, the first DNS and URI SAN, DirName RDNs). A new profile is created enabled (--no-enable: disabled);\n' +
    'the service\'s own default is UNCONFIRMED. Tags a mapping leaves out make trust-policy conditions on them fail.',
  builder: (y) =>
    y.positional('action', { type: 'string', choices: ['create'], describe: 'create (creates or updates)' }).options({
      name: { type: 'string', demandOption: true, describe: 'profile name (letters, digits, space, - _)' },
      'role-arn': { type: 'string', array: true, demandOption: true, describe: 'role the profile may hand out (repeatable)' },
      ...TARGET_FLAG,
      duration: { type: 'string', describe: 'session duration, 15m to 12h (default: the service\'s, 1h)' },
      map: { type: 'string', array: true, default: [], describe: 'attribute mapping FIELD/SPECIFIER (repeatable): x509Subject/CN, x509SAN/URI, ...' },
      enable: { type: 'boolean', default: true, describe: 'enable the profile' },
      ...awsOptions,
    }),
  async run(a, { deps }) {
    const r = await createProfile(deps, { dir: a.dir, name: a.name, roleArns: a.roleArn, target: a.target, duration: a.duration, maps: a.map, enable: a.enable, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate });
    const text =
      `Profile ${r.name} (${r.target}): ${r.calls.length ? r.calls.join(', ') : 'already up to date'}\n  arn       ${r.profileArn}\n  roles     ${r.roleArns.join(', ')}\n  enabled   ${r.enabled}\n` +
      Object.entries(r.attributeMappings).map(([f, s]) => `  mapping   ${f}: ${s.join(', ')}\n`).join('');
    return { kind: 'pki.aws.profile.result', data: r, text };
  },
};

const config: CommandDef = {
  command: 'config',
  describe: 'Print ~/.aws/config blocks whose credential_process obtains Roles Anywhere credentials (and a chained role)',
  examples: [
    ['pki aws config --anchor prod --target prod-eu --profile web --role-arn arn:aws:iam::111122223333:role/web --certificate /etc/pki/web.pem --private-key /etc/pki/web.key >> ~/.aws/config', 'credential_process = pki credential-process ...'],
    ['pki aws config --anchor prod --target prod-eu --profile web --role-arn arn:aws:iam::111122223333:role/web --certificate web.pem --private-key web.key --helper aws', 'with the official aws_signing_helper'],
    ['pki aws config --anchor prod --target hub --profile web --role-arn arn:aws:iam::111122223333:role/hub --certificate web.pem --private-key web.key --chain-role-arn arn:aws:iam::444455556666:role/app', 'also profile web-chained: assumes the role in the workload account'],
  ],
  notes:
    'The trust anchor ARN is the one recorded for --anchor in --target; the profile ARN is --profile-arn, or --profile\n' +
    'looked up by name in the target (ListProfiles). The block names the profile --name (default: --profile) and sets\n' +
    'region; with --endpoint on the target (a VPC endpoint, the emulator) it is passed to the helper. With\n' +
    '--chain-role-arn a second profile NAME-chained has source_profile NAME and role_arn: the SDK and CLI assume that\n' +
    'role (STS AssumeRole) with the Roles Anywhere credentials, the centralized pattern\'s role chaining; the chained\n' +
    'role\'s trust policy must trust the first role. credential_process runs through a shell: paths are quoted.\n' +
    '--pki-command sets how pki is run (default "pki", e.g. "npx pki" or an absolute path).',
  builder: (y) =>
    y.options({
      anchor: { type: 'string', demandOption: true, describe: 'trust anchor (as named with pki anchor push)' },
      ...TARGET_FLAG,
      profile: { type: 'string', describe: 'Roles Anywhere profile name (looked up in the target)' },
      'profile-arn': { type: 'string', describe: 'Roles Anywhere profile ARN (instead of --profile)' },
      'role-arn': { type: 'string', demandOption: true, describe: 'role to obtain credentials for' },
      certificate: { type: 'string', demandOption: true, describe: 'workload certificate path on the machine that uses the config' },
      'private-key': { type: 'string', demandOption: true, describe: 'its private key path' },
      intermediates: { type: 'string', describe: 'PEM bundle of intermediate CA certificates' },
      name: { type: 'string', describe: 'AWS config profile name (default: --profile)' },
      'chain-role-arn': { type: 'string', describe: 'also a profile NAME-chained assuming this role with the Roles Anywhere credentials' },
      helper: { type: 'string', choices: ['pki', 'aws'], default: 'pki', describe: 'pki credential-process, or aws_signing_helper credential-process' },
      'pki-command': { type: 'string', default: 'pki', describe: 'how credential_process runs pki' },
      'session-duration': { type: 'number', describe: 'seconds, 900-43200' },
      ...awsOptions,
    }),
  async run(a, { deps }) {
    const r = await awsConfig(deps, {
      dir: a.dir,
      anchor: a.anchor,
      target: a.target,
      profile: a.profile,
      profileArn: a.profileArn,
      roleArn: a.roleArn,
      certificate: a.certificate,
      privateKey: a.privateKey,
      intermediates: a.intermediates,
      name: a.name,
      chainRoleArn: a.chainRoleArn,
      helper: a.helper,
      pkiCommand: a.pkiCommand,
      sessionDuration: a.sessionDuration,
      region: a.region,
      endpoint: a.endpoint,
      ratePerSecond: a.apiRate,
    });
    return { kind: 'pki.aws.config.result', data: r, text: r.config };
  },
};

export const awsGroup: CommandGroup = { command: 'aws', describe: 'The IAM side: role trust policies, Roles Anywhere profiles, ~/.aws/config blocks', subcommands: [trust, profile, config] };
