import { abortRotation, finishRotation, planRotation, rotationStatus, startRotation, switchRotation } from '../../app/rotation/index.js';
import { flagsIn, stderrWithFlags } from '../output/flags.js';
import { KEY_TYPES } from '../../crypto/keys.js';
import { passphraseFileOption, type CommandDef, type CommandGroup } from '../command.js';
import { awsOptions, leaseOptions } from './anchor.js';
import { noPassphrase } from './ca.js';

const anchorOption = { anchor: { type: 'string', demandOption: true, describe: 'trust anchor (as named with pki anchor push)' } } as const;
const dryRun = { 'dry-run': { type: 'boolean', default: false, describe: 'only show the API calls the step would make; change nothing' } } as const;
const forceCount = {
  force: { type: 'number', describe: 'break this many live certificates deliberately: must equal the count the refusal names' },
} as const;

const NOTE =
  'A trust anchor holds at most 2 CA certificates and 2 CRLs. A rotation puts the new CA beside the old one (start),\n' +
  'moves issuance to it (switch), and takes the old one out once no live certificate depends on it (finish). Each\n' +
  'step is recorded in the store; a step that failed half-way (crash, AWS error) is completed by running it again,\n' +
  'which checks what the service holds (GetTrustAnchor, ListCrls) before changing anything.';

function calls(list: string[]): string {
  return list.length ? list.map((c) => `  ${c}\n`).join('') : '  nothing to change\n';
}

const plan: CommandDef = {
  command: 'plan',
  describe: 'Show what a rotation of a trust anchor will do, step by step, with dates, and run start\'s preflight (changes nothing)',
  examples: [
    ['pki rotate plan --anchor prod --new-ca root-2 --subject "CN=Example Root CA 2,O=Example"', 'root rotation; start would create root-2'],
    ['pki rotate plan --anchor prod --new-ca issuing-2 --old-ca issuing-1', 'an intermediate under an unchanged root anchor: no anchor change'],
  ],
  notes:
    `${NOTE}\nPreflight (the checks start makes before its first write): the keys of the CAs whose CRLs the rotation\n` +
    'publishes open with the passphrase and match their certificates (an encrypted key is checked only when a passphrase\n' +
    'is given), and with --check-service the trust anchor has a free CRL slot for each CA that needs one (ListCrls).\n' +
    'Other trust anchors that trust the old CA are listed; a new CA that a rotation closed for issuance is refused.',
  exitCodes: [{ exit: 0, meaning: 'the rotation can start (refusals exit as start would: 4 policy, 6 state, 7 key, 8 key file, 9 CRL slots)' }],
  builder: (y) =>
    y.options({
      ...anchorOption,
      'new-ca': { type: 'string', demandOption: true, describe: 'the CA that takes over' },
      'old-ca': { type: 'string', describe: 'the CA it replaces (default: the trust anchor\'s only CA)' },
      subject: { type: 'string', describe: 'subject of the new CA, when start is to create it' },
      parent: { type: 'string', describe: 'with --subject: the new CA\'s parent (default: the old CA\'s parent; none makes a root)' },
      'check-service': { type: 'boolean', default: false, describe: 'also check the trust anchor\'s CRL slots on the service (ListCrls)' },
      ...awsOptions,
      ...passphraseFileOption,
    }),
  async run(a, { deps }) {
    const r = flagsIn(await planRotation(deps, {
      dir: a.dir,
      anchor: a.anchor,
      newCa: a.newCa,
      oldCa: a.oldCa,
      subject: a.subject,
      parent: a.parent,
      checkService: a.checkService,
      passphraseFile: a.passphraseFile,
      region: a.region,
      endpoint: a.endpoint,
      ratePerSecond: a.apiRate,
    }), ['checkService']);
    const text =
      `Rotation of trust anchor ${r.anchor}: ${r.old} → ${r.new}${r.anchorChange ? '' : ' (no trust-anchor change)'}\n` +
      `  bundle     [${r.bundle.before.join(', ')}] → [${r.bundle.during.join(', ')}] → [${r.bundle.after.join(', ')}]\n` +
      `  CRLs       ${r.crlCas.length ? r.crlCas.join(', ') : 'none'}\n` +
      `  live under ${r.old}: ${r.oldLeaves.count} certificate(s)${r.oldLeaves.latestNotAfter ? `, the last until ${r.oldLeaves.latestNotAfter}` : ''}\n\n` +
      r.steps.map((s, i) => `${i + 1}. ${s.step}: ${s.command}\n   when: ${s.when}\n${s.actions.map((x) => `   - ${x}\n`).join('')}`).join('') +
      `\nRoll back: ${r.rollback}\n` +
      `Preflight:\n${r.preflight.map((c) => `  ${c.ok ? 'ok' : 'FAILED'}  ${c.message}\n`).join('')}` +
      r.otherAnchors.filter((x) => x.trustsNew).map((x) => `note: ${x.message}\n`).join('') +
      r.warnings.map((w) => `warning: ${w}\n`).join('');
    return { kind: 'pki.rotate.plan.result', data: r, text };
  },
};

const start: CommandDef = {
  command: 'start',
  describe: 'Begin a rotation: the new CA (created if --subject is given) joins the trust anchor; both CRLs are published',
  examples: [
    ['pki rotate start --anchor prod --new-ca root-2 --subject "CN=Example Root CA 2,O=Example"', 'create root-2, bundle = [root, root-2]'],
    ['pki rotate start --anchor prod --new-ca issuing-2 --old-ca issuing-1 --dry-run', 'the calls it would make'],
  ],
  notes:
    `${NOTE}\nRefused: a second rotation on the same anchor, a bundle of three, a third CRL on the anchor, a new CA that Roles\n` +
    'Anywhere would reject (no CA:TRUE or keyCertSign, SHA-1, expired), a new CA signed by the old one, a new CA that a\n' +
    'rotation closed for issuance (STATE_CA_RETIRED). Before its first write (and with --dry-run) start runs the preflight\n' +
    'plan shows: each CA whose CRL it publishes must open with the passphrase and match its certificate, and the trust\n' +
    'anchor must have a free CRL slot on the service for each CA that has none there (AWS_CRL_QUOTA); a failure changes\n' +
    'nothing. Other trust anchors that trust the old CA are listed. The step holds the anchor\'s lease (STATE_ANCHOR_BUSY).',
  builder: (y) =>
    y.options({
      ...anchorOption,
      'new-ca': { type: 'string', demandOption: true, describe: 'the CA that takes over (created when --subject is given and it does not exist)' },
      'old-ca': { type: 'string', describe: 'the CA it replaces (default: the trust anchor\'s only CA)' },
      subject: { type: 'string', describe: 'subject of the new CA (creates it): RFC 4514 ("CN=Issuing CA 2,O=Example") or openssl\'s "/O=Example/CN=Issuing CA 2"' },
      parent: { type: 'string', describe: 'with --subject: the new CA\'s parent (default: the old CA\'s parent; a new root when the old CA is a root)' },
      'key-type': { type: 'string', choices: KEY_TYPES, describe: 'with --subject: key type of the new CA (default ecdsa-p256) (ml-dsa-44/65/87: post-quantum, RFC 9881; whether Roles Anywhere accepts ML-DSA CA certificates is UNCONFIRMED)' },
      validity: { type: 'string', describe: 'with --subject: validity of the new CA (default from its profile)' },
      'new-passphrase-file': { type: 'string', normalize: true, describe: 'with --subject: a different passphrase for the new key' },
      'key-store': { type: 'string', describe: "with --subject: generate the new CA's key on a PKCS#11 token (a pkcs11: URI, as for pki ca create --key-store)" },
      ...noPassphrase,
      ...dryRun,
      ...awsOptions,
      ...leaseOptions,
      ...passphraseFileOption,
    }),
  async run(a, { deps }) {
    const r = await startRotation(stderrWithFlags(deps, ['noPassphrase']), {
      dir: a.dir,
      anchor: a.anchor,
      newCa: a.newCa,
      oldCa: a.oldCa,
      subject: a.subject,
      parent: a.parent,
      keyType: a.keyType,
      validity: a.validity,
      newPassphraseFile: a.newPassphraseFile,
      keyStore: a.keyStore,
      noPassphrase: a.passphrase === false,
      passphraseFile: a.passphraseFile,
      dryRun: a.dryRun,
      region: a.region,
      endpoint: a.endpoint,
      ratePerSecond: a.apiRate,
      leaseWait: a.leaseWait,
    });
    const others = (r.otherAnchors ?? []).map((m: string) => `note: ${m}\n`).join('');
    const text = r.dryRun
      ? `Dry run: rotate ${r.anchor}${r.created ? `: would create CA ${r.created.ca} (${r.created.root ? 'a self-signed root' : `signed by ${r.created.parent}`}), then call` : ': would call'}\n${calls(r.calls)}${others}`
      : `Rotation of ${r.anchor} started: ${r.old} → ${r.new} (phase ${r.phase})\n${r.created ? `  created CA ${r.created.ca}\n` : ''}${calls(r.calls)}${others}Next: issue from ${r.new} once it verifies, then pki rotate switch --anchor ${r.anchor}\n`;
    return { kind: 'pki.rotate.start.result', data: r, text };
  },
};

const switchCmd: CommandDef = {
  command: 'switch',
  describe: 'Move issuance to the new CA: from now on pki issue refuses the old CA (and CAs below it)',
  examples: [['pki rotate switch --anchor prod', 'after start; checks the trust anchor holds the new CA first']],
  notes: `${NOTE}\nThe old CA keeps publishing CRLs (pki crl publish) until finish.`,
  builder: (y) => y.options({ ...anchorOption, ...dryRun, ...awsOptions }),
  async run(a, { deps }) {
    const r = await switchRotation(deps, { dir: a.dir, anchor: a.anchor, dryRun: a.dryRun, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate });
    const text = `${r.dryRun ? 'Dry run: would switch' : 'Switched'} ${r.anchor}: issue from ${r.new}; closed for issuance: ${r.closed.join(', ')}\n`;
    return { kind: 'pki.rotate.switch.result', data: r, text };
  },
};

const status: CommandDef = {
  command: 'status',
  describe: 'Phase of a trust anchor\'s rotation, live certificates of the old CA, when finish is safe, the next step',
  examples: [
    ['pki rotate status --anchor prod', 'human summary'],
    ['pki rotate status --anchor prod --json', 'for a scheduled check: exit 10 when a step is due'],
  ],
  exitCodes: [
    { exit: 0, meaning: 'nothing to do now (no rotation, or waiting for the old CA\'s certificates to expire)' },
    { exit: 10, meaning: 'a step is due: switch, finish, or a step that was interrupted and must be run again' },
  ],
  notes: 'Reads the store only (no AWS call); pki anchor status compares the trust anchor with the service.',
  builder: (y) => y.options({ ...anchorOption }),
  async run(a, { deps }) {
    const r = await rotationStatus(deps, { dir: a.dir, anchor: a.anchor });
    const rot = r.rotation;
    const text = rot
      ? `Rotation of ${r.anchor}: ${rot.old} → ${rot.new}, phase ${rot.phase}\n` +
        `  live under ${rot.old}: ${r.oldLeaves!.count}${r.eta ? ` (the last until ${r.eta})` : ''}\n` +
        `  ${r.message}\n` +
        (r.next ? `  next: ${r.next}${r.due ? ' (due now)' : ''}\n` : '')
      : `${r.message}\n`;
    return { kind: 'pki.rotate.status.result', data: r, text, exitCode: r.exitCode };
  },
};

const finish: CommandDef = {
  command: 'finish',
  describe: 'End a rotation: the old CA leaves the trust anchor, its CRL is deleted, it no longer issues',
  examples: [
    ['pki rotate finish --anchor prod', 'refused while live certificates of the old CA exist (they are listed)'],
    ['pki rotate finish --anchor prod --force 3', 'break exactly those 3 certificates deliberately'],
  ],
  notes: `${NOTE}\nThe bundle changes before the CRL is deleted, so a revoked certificate never works again in between.`,
  builder: (y) => y.options({ ...anchorOption, ...forceCount, ...dryRun, ...awsOptions, ...leaseOptions }),
  async run(a, { deps }) {
    const r = await finishRotation(deps, { dir: a.dir, anchor: a.anchor, force: a.force, dryRun: a.dryRun, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate, leaseWait: a.leaseWait });
    const text = `${r.dryRun ? 'Dry run: finish' : 'Finished'} rotation of ${r.anchor}: ${r.old} → ${r.new}\n${calls(r.calls)}`;
    return { kind: 'pki.rotate.finish.result', data: r, text };
  },
};

const abort: CommandDef = {
  command: 'abort',
  describe: 'Roll a rotation back: the trust anchor returns to its bundle before start, the new CA\'s CRL is deleted',
  examples: [
    ['pki rotate abort --anchor prod', 'refused while live certificates of the new CA exist'],
    ['pki rotate abort --anchor prod --dry-run', 'the calls it would make'],
  ],
  notes: `${NOTE}\nAllowed before finish has begun. The new CA stays in the store; issuance from the old CA reopens.`,
  builder: (y) => y.options({ ...anchorOption, ...forceCount, ...dryRun, ...awsOptions, ...leaseOptions }),
  async run(a, { deps }) {
    const r = await abortRotation(deps, { dir: a.dir, anchor: a.anchor, force: a.force, dryRun: a.dryRun, region: a.region, endpoint: a.endpoint, ratePerSecond: a.apiRate, leaseWait: a.leaseWait });
    const text = `${r.dryRun ? 'Dry run: abort' : 'Aborted'} rotation of ${r.anchor} (${r.old} → ${r.new})\n${calls(r.calls)}`;
    return { kind: 'pki.rotate.abort.result', data: r, text };
  },
};

export const rotateGroup: CommandGroup = {
  command: 'rotate',
  describe: 'Two-certificate CA rotation of a Roles Anywhere trust anchor: plan, start, switch, status, finish, abort',
  subcommands: [plan, start, switchCmd, status, finish, abort],
};
