/**
 * `pki profile import cfssl config.json`: one pki profile YAML per cfssl signing profile (`signing.profiles.NAME`,
 * and `signing.default` as "default"). Mapped: usages (key usages and extended key usages, by cfssl's names),
 * expiry (validity default and max), backdate, ca_constraint (a CA profile with its pathLen), crl_url. Anything else
 * is named as not mapped: the import is refused, or with `ignoreUnmapped` written without it and listed.
 * Every profile written is first loaded with pki's own profile parser, so what is written is what pki accepts.
 */
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { PkiError, throwIfAny } from '../../errors.js';
import { formatDuration } from '../../domain/duration.js';
import { checkOutput, checkWritableDir, readInput, removeQuietly, writeFileAtomic } from '../../fs/files.js';
import type { Deps } from '../../ports.js';
import { parseProfile } from '../../profile/load.js';

export interface CfsslProfileImportInput {
  config: string;
  outDir?: string;
  force?: boolean;
  ignoreUnmapped?: boolean;
}

/** cfssl's key usage names (config.KeyUsage) → RFC 5280 keyUsage names. */
const KEY_USAGES: Record<string, string> = {
  signing: 'digitalSignature',
  'digital signature': 'digitalSignature',
  'content commitment': 'nonRepudiation',
  'key encipherment': 'keyEncipherment',
  'key agreement': 'keyAgreement',
  'data encipherment': 'dataEncipherment',
  'cert sign': 'keyCertSign',
  'crl sign': 'cRLSign',
  'encipher only': 'encipherOnly',
  'decipher only': 'decipherOnly',
};

/** cfssl's extended key usage names (config.ExtKeyUsage) → pki names or OIDs. */
const EXT_KEY_USAGES: Record<string, string> = {
  'server auth': 'serverAuth',
  'client auth': 'clientAuth',
  'code signing': 'codeSigning',
  'email protection': 'emailProtection',
  's/mime': 'emailProtection',
  timestamping: 'timeStamping',
  'ocsp signing': 'ocspSigning',
  any: '2.5.29.37.0',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
};

/** A Go duration ("8760h", "1h30m", "90m", "1.5h") in whole seconds; undefined when it is not one. */
export function goDurationSeconds(text: string): number | undefined {
  const s = text.trim();
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return Math.round(total);
}

const MAPPED = new Set(['usages', 'expiry', 'backdate', 'ca_constraint', 'crl_url']);

interface Converted {
  name: string;
  file: string;
  yaml: string;
  ignored: string[];
}

function convertProfile(cfsslName: string, p: unknown, source: string, problems: PkiError[]): { name: string; doc: Record<string, unknown>; unmapped: string[] } | undefined {
  const at = `${source}: signing.${cfsslName === 'default' ? 'default' : `profiles.${cfsslName}`}`;
  const bad = (field: string, msg: string) => problems.push(new PkiError('USAGE_BAD_CFSSL_JSON', `${at}.${field}: ${msg}`, { details: { file: source, profile: cfsslName, field } }));
  if (!p || typeof p !== 'object' || Array.isArray(p)) {
    problems.push(new PkiError('USAGE_BAD_CFSSL_JSON', `${at}: expected an object`, { details: { file: source, profile: cfsslName } }));
    return undefined;
  }
  const o = p as Record<string, unknown>;
  const name = cfsslName.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'profile';
  const unmapped = Object.keys(o)
    .filter((k) => !MAPPED.has(k))
    .map((k) => `${at}.${k}`);
  const keyUsage: string[] = [];
  const eku: string[] = [];
  if (!Array.isArray(o.usages) || o.usages.length === 0) bad('usages', 'must be a non-empty list of usages (e.g. "signing", "client auth")');
  else
    o.usages.forEach((u, i) => {
      const key = typeof u === 'string' ? u.trim().toLowerCase() : '';
      const ku = KEY_USAGES[key];
      const x = EXT_KEY_USAGES[key];
      if (ku) {
        if (!keyUsage.includes(ku)) keyUsage.push(ku);
      } else if (x) {
        if (!eku.includes(x)) eku.push(x);
      } else bad(`usages[${i}]`, `"${String(u)}" is not a cfssl usage pki maps (${[...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)].join(', ')})`);
    });
  let validity: number | undefined;
  if (typeof o.expiry !== 'string' || (validity = goDurationSeconds(o.expiry)) === undefined || validity < 1)
    bad('expiry', `${JSON.stringify(o.expiry)} is not a duration such as "8760h" (pki profiles need a validity)`);
  let backdate: number | undefined;
  if (o.backdate !== undefined && (typeof o.backdate !== 'string' || (backdate = goDurationSeconds(o.backdate)) === undefined))
    bad('backdate', `${JSON.stringify(o.backdate)} is not a duration such as "5m"`);
  let kind: 'leaf' | 'intermediate-ca' = 'leaf';
  let pathLen: number | undefined;
  if (o.ca_constraint !== undefined) {
    const c = o.ca_constraint as Record<string, unknown>;
    if (!c || typeof c !== 'object') bad('ca_constraint', 'must be an object {is_ca, max_path_len, max_path_len_zero}');
    else {
      for (const k of Object.keys(c)) if (!['is_ca', 'max_path_len', 'max_path_len_zero'].includes(k)) unmapped.push(`${at}.ca_constraint.${k}`);
      if (c.is_ca === true) {
        kind = 'intermediate-ca';
        // cfssl: max_path_len 0 means "no limit" unless max_path_len_zero says it really is 0.
        if (c.max_path_len_zero === true) pathLen = 0;
        else if (typeof c.max_path_len === 'number' && c.max_path_len > 0) pathLen = c.max_path_len;
        if (typeof c.max_path_len === 'number' && c.max_path_len < 0) bad('ca_constraint.max_path_len', 'must not be negative');
      }
    }
  }
  const crl: string[] = [];
  if (o.crl_url !== undefined) {
    if (typeof o.crl_url !== 'string' || !/^[a-z]+:\/\/\S+$/.test(o.crl_url)) bad('crl_url', `${JSON.stringify(o.crl_url)} is not a URL`);
    else crl.push(o.crl_url);
  }
  const doc: Record<string, unknown> = {
    name,
    description: `imported from cfssl ${source} (signing profile "${cfsslName}")`,
    kind,
    rolesAnywhere: true,
    validity: { default: validity ? formatDuration(validity) : '1s', max: validity ? formatDuration(validity) : '1s' },
    ...(backdate !== undefined ? { backdate: formatDuration(backdate) } : {}),
    ...(pathLen !== undefined ? { pathLen } : {}),
    keyUsage,
    extendedKeyUsage: eku,
    ...(crl.length ? { crlDistributionPoints: crl } : {}),
  };
  return { name, doc, unmapped };
}

export async function importCfsslProfiles(deps: Deps, input: CfsslProfileImportInput) {
  const source = input.config;
  let json: any;
  try {
    json = JSON.parse(readInput(source, 'config.json').toString('utf8'));
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('USAGE_BAD_CFSSL_JSON', `${source} is not JSON: ${(e as Error).message}`, { details: { file: source } });
  }
  const signing = json?.signing;
  if (!signing || typeof signing !== 'object') throw new PkiError('USAGE_BAD_CFSSL_JSON', `${source}: no "signing" object (a cfssl config.json has signing.default and signing.profiles)`, { details: { file: source } });
  const entries: Array<[string, unknown]> = [];
  if (signing.default !== undefined) entries.push(['default', signing.default]);
  for (const [k, v] of Object.entries((signing.profiles ?? {}) as Record<string, unknown>)) entries.push([k, v]);
  if (!entries.length) throw new PkiError('USAGE_BAD_CFSSL_JSON', `${source}: signing has no default and no profiles`, { details: { file: source } });
  const ignoredTop = Object.keys(json).filter((k) => k !== 'signing').map((k) => `${source}: ${k}`);
  for (const k of Object.keys(signing)) if (k !== 'default' && k !== 'profiles') ignoredTop.push(`${source}: signing.${k}`);

  const outDir = resolve(deps.cwd, input.outDir ?? '.');
  // A missing output directory (input.outDir, e.g. <pki dir>/profiles) is created, in an existing directory, once everything checked out.
  const createOutDir = !fs.existsSync(outDir);
  checkWritableDir(createOutDir ? dirname(outDir) : outDir, 'input.outDir');
  const problems: PkiError[] = [];
  const converted: Converted[] = [];
  const names = new Set<string>();
  for (const [cfsslName, p] of entries) {
    // signing.default often only sets expiry for ad-hoc signing: without usages it is no profile on its own.
    if (cfsslName === 'default' && p && typeof p === 'object' && (p as Record<string, unknown>).usages === undefined) {
      ignoredTop.push(`${source}: signing.default (it has no usages, so it is not a profile pki can write)`);
      continue;
    }
    const c = convertProfile(cfsslName, p, source, problems);
    if (!c) continue;
    if (names.has(c.name)) {
      problems.push(new PkiError('USAGE_BAD_CFSSL_JSON', `${source}: two signing profiles become the pki profile name "${c.name}"`, { details: { file: source, profile: cfsslName } }));
      continue;
    }
    names.add(c.name);
    const file = join(outDir, `${c.name}.yaml`);
    const header = `# Imported from cfssl ${source}, signing profile "${cfsslName}".\n${c.unmapped.length ? `# Not mapped (left out): ${c.unmapped.map((u) => u.replace(`${source}: `, '')).join(', ')}\n` : ''}`;
    const yaml = header + stringify(c.doc);
    try {
      parseProfile(yaml, file);
    } catch (e) {
      if (!(e instanceof PkiError)) throw e;
      const inner = (e.details?.problems as Array<{ message: string }> | undefined)?.map((x) => x.message) ?? [e.message];
      for (const m of inner) problems.push(new PkiError('PROFILE_INVALID', `${source}: signing profile "${cfsslName}" would not be a valid pki profile: ${m.replace(`${file}: `, '')}`, { details: { file: source, profile: cfsslName } }));
      continue;
    }
    converted.push({ name: c.name, file, yaml, ignored: c.unmapped });
  }
  const ignored = [...ignoredTop, ...converted.flatMap((c) => c.ignored)];
  if (!input.ignoreUnmapped)
    for (const what of ignored)
      problems.push(new PkiError('USAGE_CFSSL_NOT_MAPPED', `${what}: pki profiles have no equivalent; nothing was written`, { details: { file: source, field: what, input: 'ignoreUnmapped' }, hint: 'remove it, or pass input.ignoreUnmapped to write the profiles without it' }));
  throwIfAny(problems, `${source}: ${problems.length} problem(s); no profile was written`);
  if (!createOutDir) for (const c of converted) checkOutput(c.file, 'input.outDir', input.force ?? false);
  const written: string[] = [];
  if (createOutDir) {
    fs.mkdirSync(outDir);
    written.push(outDir);
  }
  try {
    for (const c of converted) {
      writeFileAtomic(c.file, c.yaml, { force: input.force ?? false, flag: 'input.outDir' });
      written.push(c.file);
    }
  } catch (e) {
    removeQuietly(written);
    throw e;
  }
  for (const what of ignored) deps.stderr.write(`warning: not mapped (left out): ${what}\n`);
  return { profiles: converted.map((c) => ({ name: c.name, file: c.file })), ignored };
}
