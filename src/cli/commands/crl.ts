import { checkCrl, CHECK_EXIT, exportCrl, generateCrl, inspectCrl, listCrls, type CrlHeader } from '../../app/crl/index.js';
import { PkiError } from '../../errors.js';
import type { Deps } from '../../ports.js';
import { reasonName } from '../../domain/serial.js';
import { forceOption, passphraseFileOption, type CommandDef, type CommandGroup } from '../command.js';
import { publish } from './anchor.js';
import { shortTime, table } from '../output/render.js';
import { CRL_DATA_MAX_BYTES, CRL_SIZE_WARNING_FRACTION } from '../../domain/roles-anywhere.js';

/**
 * DER on stdout: refused on a terminal (binary would garble it); in JSON mode the bytes go in the document as base64.
 * Returns true when the bytes were written.
 */
function binaryToStdout(deps: Deps, der: Buffer, json: boolean): boolean {
  if (json) return false;
  if ((deps.stdout as { isTTY?: boolean }).isTTY)
    throw new PkiError('USAGE_BINARY_TO_TERMINAL', '--format der writes binary: refusing to print it on a terminal', {
      hint: 'pass --out FILE, redirect stdout (> crl.der), or use --format pem',
    });
  (deps.stdout as unknown as { write(b: Uint8Array): unknown }).write(der);
  return true;
}

/** A CRL result for --json: DER bytes as base64. */
function jsonSafe<T extends { der?: Buffer }>(r: T): Omit<T, 'der'> & { derBase64?: string } {
  const { der, ...rest } = r;
  return der ? { ...rest, derBase64: der.toString('base64') } : rest;
}

const generate: CommandDef = {
  command: 'generate',
  describe: 'Sign a new CRL for a CA from the store: next CRL Number, AKI, reason codes, safety checks, size budget',
  examples: [
    ['pki crl generate --ca issuing-1 --out crl.pem', 'a CRL valid for 7 days (crl.nextUpdate in pki.yaml)'],
    ['pki crl generate --ca issuing-1 --out /srv/crl/issuing-1.pem --force --renew-before 2d', 'for cron: a no-op while the current CRL has over 2 days left and nothing was revoked since'],
    ['pki crl generate --ca issuing-1 --previous published.pem --out crl.pem', 'also check against the CRL that is published now'],
    ['pki crl generate --ca legacy --previous old-ca-last.crl --out crl.pem', 'the first CRL of a CA made elsewhere: numbered above its old CRL, none of its entries dropped'],
  ],
  notes:
    'The new CRL is refused (nothing signed) when its number would not increase, when the issuer changed, or when a\n' +
    'revoked serial whose certificate has not expired would disappear compared with the previous CRL (the last one in\n' +
    'the store, or --previous). Entries whose certificate expired before thisUpdate are left out and counted\n' +
    `("pruned"); --keep-expired keeps them. The PEM size is checked against crl.maxPemBytes (default ${CRL_DATA_MAX_BYTES}, the\n` +
    `IAM Roles Anywhere crlData limit) before signing: a warning from ${CRL_SIZE_WARNING_FRACTION * 100}%, POLICY_CRL_TOO_LARGE above.\n` +
    '\n' +
    'With --renew-before, a run that makes no new CRL still writes the latest stored CRL to --out when the file\n' +
    'there is missing or is not that CRL. The temporary file is made in --out\'s own directory (any file system), and\n' +
    'that directory is checked before signing. --format der without --out writes DER to stdout (refused on a\n' +
    'terminal; base64 in --json).\n' +
    '\n' +
    'The first CRL of a CA made elsewhere (pki import, pki ca import --key) is numbered above the old CA\'s last CRL\n' +
    '(from the import, --previous OLD.crl or --first-crl-number N); when that number is unknown the CRL is refused\n' +
    '(STATE_CRL_HISTORY_UNKNOWN, exit 6) rather than restarted at #1.',
  builder: (y) =>
    y.options({
      ca: { type: 'string', demandOption: true, describe: 'CA whose revocations the CRL lists (and whose key signs it)' },
      'next-update': { type: 'string', describe: 'validity: nextUpdate = thisUpdate + this (default crl.nextUpdate, 7d)' },
      out: { type: 'string', normalize: true, describe: 'file to write (default: stdout)' },
      format: { type: 'string', choices: ['pem', 'der'], default: 'pem', describe: 'output encoding (Roles Anywhere wants PEM)' },
      'renew-before': { type: 'string', describe: 'do nothing (exit 0) while the current CRL has more than this left and nothing was revoked since' },
      reasons: { type: 'string', choices: ['include', 'omit'], describe: 'reason codes in entries (default crl.reasons: include)' },
      previous: { type: 'string', normalize: true, describe: 'a published CRL (PEM or DER) to check the new one against' },
      'keep-expired': { type: 'boolean', default: false, describe: 'keep entries whose certificate has expired' },
      'first-crl-number': { type: 'number', describe: 'number of the first CRL of a CA made elsewhere: above the old CA\'s last CRL (see pki import)' },
      'max-pem-bytes': { type: 'number', describe: 'size budget in PEM bytes (default crl.maxPemBytes)' },
      ...passphraseFileOption,
      ...forceOption,
    }),
  async run(a, { deps, json }) {
    // Refused before anything is made: a CRL generated and then not shown would still use up its number.
    if (!a.out && a.format === 'der' && !json && (deps.stdout as { isTTY?: boolean }).isTTY)
      throw new PkiError('USAGE_BINARY_TO_TERMINAL', '--format der writes binary: refusing to print it on a terminal', {
        hint: 'pass --out FILE, redirect stdout (> crl.der), or use --format pem',
      });
    const r = await generateCrl(deps, {
      dir: a.dir,
      ca: a.ca,
      nextUpdate: a.nextUpdate,
      out: a.out,
      format: a.format,
      renewBefore: a.renewBefore,
      reasons: a.reasons,
      previous: a.previous,
      keepExpired: a.keepExpired,
      firstCrlNumber: a.firstCrlNumber,
      maxPemBytes: a.maxPemBytes,
      force: a.force,
      passphraseFile: a.passphraseFile,
    });
    const c = r.crl;
    if (!r.generated)
      return {
        kind: 'pki.crl.generate.result',
        data: r,
        text: `No new CRL: ${r.reason}\n${r.rewrote ? `Wrote CRL #${c.crlNumber} to ${r.out}: the file there was ${r.rewrote === 'missing' ? 'missing' : 'not the latest CRL'}\n` : ''}`,
      };
    for (const w of r.warnings) deps.stderr.write(`warning: ${w}\n`);
    const summary =
      `CRL #${c.crlNumber} for ${c.ca}: ${c.entries} entries${c.pruned ? ` (${c.pruned} expired left out)` : ''}, reasons ${c.reasons}\n` +
      `  valid     ${shortTime(c.thisUpdate)} .. ${shortTime(c.nextUpdate)}\n` +
      `  size      ${c.pemBytes} bytes PEM (${c.budgetPercent}% of ${c.budgetBytes})\n` +
      (r.out ? `  file      ${r.out} (${r.format})\n` : '');
    if (!r.out && !json) {
      deps.stderr.write(summary);
      if (r.der && binaryToStdout(deps, r.der, json)) return { kind: 'pki.crl.generate.result', data: jsonSafe(r), text: '', printed: true };
      return { kind: 'pki.crl.generate.result', data: r, text: r.pem ?? '' };
    }
    return { kind: 'pki.crl.generate.result', data: jsonSafe(r), text: summary };
  },
};

const check: CommandDef = {
  command: 'check',
  describe: 'Watchdog for cron and monitoring: is the CRL fresh? (exit 0 fresh, 10 warning, 11 critical)',
  examples: [
    ['pki crl check --ca issuing-1 --warn 48h', 'the latest CRL in the store'],
    ['pki crl check --crl /srv/crl/issuing-1.pem --issuer issuing-1.pem --json', 'a published file, with its signature checked'],
  ],
  exitCodes: [
    { exit: CHECK_EXIT.fresh, meaning: 'fresh: nextUpdate is further away than --warn' },
    { exit: CHECK_EXIT.warning, meaning: 'warning: nextUpdate within --warn, or revocations not yet in a CRL' },
    { exit: CHECK_EXIT.critical, meaning: 'critical: no CRL, CRL expired, or (with --issuer) not signed by that CA' },
  ],
  notes:
    'Checks the store\'s latest CRL (--ca) or a file (--crl, e.g. the one you serve), not what Roles Anywhere holds: a CRL\n' +
    'deleted, disabled or replaced on the service is seen by pki anchor status (exit 11) and pki status --check-service.',
  builder: (y) =>
    y.options({
      ca: { type: 'string', describe: 'check the latest CRL the store holds for this CA' },
      crl: { type: 'string', normalize: true, describe: 'check a CRL file (PEM or DER)' },
      issuer: { type: 'string', normalize: true, describe: 'with --crl: the CA certificate that must have signed it' },
      warn: { type: 'string', default: '48h', describe: 'warn when nextUpdate is this close' },
    }),
  async run(a, { deps }) {
    const r = await checkCrl(deps, { dir: a.dir, ca: a.ca, crl: a.crl, issuer: a.issuer, warn: a.warn });
    const text =
      `${r.status.toUpperCase()}: ${r.source}${r.crlNumber ? ` CRL #${r.crlNumber}` : ''}${r.nextUpdate ? `, nextUpdate ${shortTime(r.nextUpdate)}` : ''}, ${r.entries} entries, ${r.pemBytes} bytes PEM\n` +
      r.problems.map((p) => `  - ${p}\n`).join('');
    return { kind: 'pki.crl.check.result', data: r, text, exitCode: r.exitCode };
  },
};

const inspect: CommandDef = {
  command: 'inspect <file>',
  describe: 'Read any CRL (PEM or DER, any size): header, CRL Number, entry count, reasons, signature',
  examples: [
    ['pki crl inspect crl.pem', 'summary'],
    ['pki crl inspect crl.der --issuer issuing-1.pem', 'and check its signature'],
    ['pki crl inspect crl.pem --entries', 'the header, then every entry (one per line), then the count'],
  ],
  builder: (y) =>
    y.positional('file', { type: 'string', describe: 'CRL file' }).options({
      issuer: { type: 'string', normalize: true, describe: 'CA certificate to verify the signature with' },
      ca: { type: 'string', describe: 'verify with this CA of the PKI directory instead' },
      entries: { type: 'boolean', default: false, describe: 'list every entry' },
    }),
  async run(a, { deps, json }) {
    const streamText = a.entries && !json;
    const headerLines = (h: CrlHeader): string[] => [
      `issuer        ${h.issuer}`,
      `CRL Number    ${h.crlNumber ?? '(none)'}`,
      `this update   ${shortTime(h.thisUpdate)}`,
      `next update   ${shortTime(h.nextUpdate)}`,
      `signature     ${h.signatureAlgorithm}${h.signatureValid === null ? ' (not checked: pass --issuer or --ca)' : h.signatureValid ? ' (valid)' : ' (INVALID)'}`,
      `AKI           ${h.authorityKeyId ?? '(none)'}`,
      `size          ${h.derBytes} bytes DER, ${h.pemBytes} bytes PEM`,
    ];
    const r = await inspectCrl(deps, {
      dir: a.dir,
      file: String(a.file),
      issuer: a.issuer,
      ca: a.ca,
      entries: a.entries,
      ...(streamText
        ? {
            // Header first, then the entries as they are walked, then the count.
            onHeader: (h: CrlHeader) => deps.stdout.write(`${headerLines(h).join('\n')}\n\nSERIAL  REVOKED  REASON\n`),
            onEntry: (e) =>
              deps.stdout.write(`${e.serialHex}  ${shortTime(e.revocationDate.toISOString())}  ${e.reason === undefined ? '-' : reasonName(e.reason)}${e.invalidityDate ? `  invalid since ${shortTime(e.invalidityDate.toISOString())}` : ''}\n`),
          }
        : {}),
    });
    const entriesLine = `entries       ${r.entries}${Object.keys(r.reasons).length ? ` (${Object.entries(r.reasons).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}`;
    const text = streamText ? `\n${entriesLine}\n` : [...headerLines(r), entriesLine, ''].join('\n');
    return { kind: 'pki.crl.inspect.result', data: r, text, exitCode: r.signatureValid === false ? 7 : 0 };
  },
};

const list: CommandDef = {
  command: 'list',
  describe: 'List the CRLs the store holds for a CA',
  examples: [['pki crl list --ca issuing-1', 'numbers, validity, entries, size']],
  builder: (y) => y.options({ ca: { type: 'string', demandOption: true, describe: 'CA' } }),
  async run(a, { deps }) {
    const r = await listCrls(deps, { dir: a.dir, ca: a.ca });
    return {
      kind: 'pki.crl.list.result',
      data: r,
      text:
        table(
          ['NUMBER', 'THIS UPDATE', 'NEXT UPDATE', 'ENTRIES', 'PRUNED', 'PEM BYTES'],
          r.map((c) => [String(c.crlNumber), shortTime(c.thisUpdate), shortTime(c.nextUpdate), String(c.entries), String(c.pruned), String(c.pemBytes)]),
        ) || 'no CRLs yet\n',
    };
  },
};

const exportCmd: CommandDef = {
  command: 'export',
  describe: 'Write a stored CRL (the latest, or --number N) again',
  examples: [
    ['pki crl export --ca issuing-1 --out crl.pem', 'the latest CRL'],
    ['pki crl export --ca issuing-1 --format der > crl.der', 'DER on stdout (refused when stdout is a terminal)'],
  ],
  builder: (y) =>
    y.options({
      ca: { type: 'string', demandOption: true, describe: 'CA' },
      number: { type: 'number', describe: 'CRL Number (default: the latest)' },
      out: { type: 'string', normalize: true, describe: 'file to write (default: stdout)' },
      format: { type: 'string', choices: ['pem', 'der'], default: 'pem', describe: 'encoding' },
      ...forceOption,
    }),
  async run(a, { deps, json }) {
    if (!a.out && a.format === 'der' && !json && (deps.stdout as { isTTY?: boolean }).isTTY)
      throw new PkiError('USAGE_BINARY_TO_TERMINAL', '--format der writes binary: refusing to print it on a terminal', {
        hint: 'pass --out FILE, redirect stdout (> crl.der), or use --format pem',
      });
    const r = await exportCrl(deps, { dir: a.dir, ca: a.ca, number: a.number, out: a.out, format: a.format, force: a.force });
    if (r.der && binaryToStdout(deps, r.der, json)) return { kind: 'pki.crl.export.result', data: jsonSafe(r), text: '', printed: true };
    return { kind: 'pki.crl.export.result', data: jsonSafe(r), text: r.out ? `Wrote CRL #${r.crlNumber} to ${r.out}\n` : (r.pem ?? '') };
  },
};

export const crlGroup: CommandGroup = { command: 'crl', describe: 'CRLs: generate, check, inspect, list, export, publish', subcommands: [generate, check, inspect, list, exportCmd, publish] };
