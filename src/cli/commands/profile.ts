import { importCfsslProfiles } from '../../app/import/cfssl-profile.js';
import { PkiError } from '../../errors.js';
import { forceOption, type CommandDef, type CommandGroup } from '../command.js';

const importCmd: CommandDef = {
  command: 'import <format> <file>',
  describe: 'Convert another tool\'s signing profiles to pki profile YAML (cfssl config.json: one file per profile)',
  examples: [
    ['pki profile import cfssl config.json --out-dir ./pki/profiles', 'one NAME.yaml per cfssl signing profile, into the PKI\'s profile directory'],
    ['pki profile import cfssl config.json --out-dir profiles/ --ignore-unmapped', 'write them even though some cfssl settings have no pki equivalent (listed)'],
  ],
  notes:
    'Mapped from each signing profile (signing.profiles.NAME, and signing.default as "default"): usages ("signing" and\n' +
    '"digital signature" → digitalSignature, "key encipherment", "cert sign", "crl sign", ...; "client auth" →\n' +
    'clientAuth, "server auth", ...), expiry (Go duration such as "8760h" → validity default and max), backdate,\n' +
    'ca_constraint (is_ca → an intermediate-ca profile; max_path_len / max_path_len_zero → pathLen), crl_url.\n' +
    'Anything else (auth_key, name_whitelist, policies, ocsp_url, ...) is named and nothing is written\n' +
    '(USAGE_CFSSL_NOT_MAPPED), unless --ignore-unmapped. Every profile is checked with pki\'s own rules before any file\n' +
    'is written (a Roles Anywhere leaf needs digitalSignature: PROFILE_INVALID, exit 3). Files are not overwritten\n' +
    'without --force.',
  builder: (y) =>
    y
      .positional('format', { type: 'string', describe: 'the tool the profiles come from (cfssl)' })
      .positional('file', { type: 'string', describe: 'the configuration file (cfssl: config.json)' })
      .options({
        'out-dir': { type: 'string', normalize: true, describe: 'directory to write NAME.yaml into (default: the current directory)' },
        'ignore-unmapped': { type: 'boolean', default: false, describe: 'write the profiles without the settings pki cannot map (each listed on stderr)' },
        ...forceOption,
      }),
  async run(a, { deps }) {
    if (a.format !== 'cfssl') throw new PkiError('USAGE_BAD_FORMAT', `profile import: format "${a.format}" is not supported (cfssl)`, { details: { format: a.format } });
    const r = await importCfsslProfiles(deps, { config: String(a.file), outDir: a.outDir, force: a.force, ignoreUnmapped: a.ignoreUnmapped });
    return { kind: 'pki.profile.import.result', data: r, text: r.profiles.map((p) => `Wrote profile ${p.name}: ${p.file}\n`).join('') };
  },
};

export const profileGroup: CommandGroup = { command: 'profile', describe: 'Certificate profiles: import another tool\'s signing profiles as pki profile YAML', subcommands: [importCmd] };
