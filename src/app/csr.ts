/**
 * `pki csr`: the workload side. A key is generated on the workload's host and never leaves it; the CSR goes to the
 * CA (`pki issue --csr`). The subject comes from `--subject` (RFC 4514, or openssl's /C=../CN=.. form) or from a
 * cfssl CSR JSON (`--from-cfssl csr.json`: CN, names[], hosts, key), with every value that cannot be mapped named.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { PkiError, throwIfAny } from '../errors.js';
import { parseKeyType, type KeyType } from '../crypto/keys.js';
import { checkOutput, readInput, removeQuietly, writeFileAtomic, writePrivateKeyFile } from '../fs/files.js';
import type { Deps } from '../ports.js';
import { buildCsr } from '../x509/csr.js';
import { generateWorkloadKey } from '../adapters/keys/file.js';
import { encodeExtension, encodeSans, parseSan, sanProblems, type San } from '../x509/extensions.js';
import { encodeName, formatDn, parseDn } from '../x509/name.js';
import { OID } from '../asn1/oids.js';
import { toPem } from '../asn1/pem.js';

export interface CsrInput {
  subject?: string;
  san?: string[];
  keyType?: string;
  fromCfssl?: string;
  /** Where the new key file goes; or, instead, `keyStore` / `key` for a key on a PKCS#11 token. */
  keyOut?: string;
  /** A pkcs11: URI naming a token and object=LABEL: the key is generated there (never leaves it). */
  keyStore?: string;
  /** A pkcs11: URI naming a key already on a token (object= and/or id=): the CSR is signed with it. */
  key?: string;
  /** The PKCS#11 module when the URI has no module-path (else $PKI_PKCS11_MODULE). */
  pkcs11Lib?: string;
  out: string;
  force?: boolean;
}

/**
 * The signer of a `pki csr` whose key is on a token: a new key generated on the token of `keyStore` (its object=
 * label must be free there) or the existing key `key`. `discard` removes a generated key again.
 */
async function tokenCsrKey(deps: Deps, input: CsrInput, keyType: KeyType) {
  const { Pkcs11KeyStore, parsePkcs11Uri, redactPkcs11Uri } = await import('../adapters/keys/pkcs11.js');
  const store = new Pkcs11KeyStore({ deps, moduleFrom: 'input.pkcs11Lib', ...(input.pkcs11Lib ? { defaults: { module: resolve(deps.cwd, input.pkcs11Lib) } } : {}) });
  if (input.key !== undefined) {
    const key = await store.openKey(input.key, { flag: 'input.key' });
    return { signer: key.signer, ref: key.ref, discard: () => {} };
  }
  const ref = input.keyStore!;
  const uri = parsePkcs11Uri(ref, 'input.keyStore');
  if (uri.object === undefined)
    throw new PkiError('USAGE_BAD_PKCS11_URI', `input.keyStore "${redactPkcs11Uri(ref)}": name the new key with object=LABEL (e.g. pkcs11:token=w;object=web-01)`, { details: { flag: 'input.keyStore', input: 'keyStore' } });
  // A label already used on the token would make the key ambiguous by label: refused.
  const existing = await store.openKey(ref, { flag: 'input.keyStore' }).then(
    () => true,
    (e: unknown) => (e instanceof PkiError && e.code === 'CRYPTO_TOKEN_KEY_NOT_FOUND' ? false : e instanceof PkiError && /^CRYPTO_TOKEN_(PUBLIC_KEY_NOT_FOUND|KEY_AMBIGUOUS)$/.test(e.code) ? true : Promise.reject(e)),
  );
  if (existing)
    throw new PkiError('USAGE_CONFLICT', `input.keyStore "${redactPkcs11Uri(ref)}": the token already has a key labelled "${uri.object}"; use input.key with it, or another object=`, { details: { flag: 'input.keyStore', input: ['keyStore', 'key'], object: uri.object } });
  const gen = await store.generatorFor(ref, 'input.keyStore');
  const key = gen.generate(keyType, uri.object);
  return { signer: key.signer, ref: key.persist(undefined), discard: () => key.discard() };
}

/** RFC 4514 escaping of one attribute value. */
function escapeDnValue(v: string): string {
  return v.replace(/[\\,;+"<>=]/g, (c) => `\\${c}`).replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
}

let countryNames: Map<string, string> | undefined;
/** English region names → ISO 3166 alpha-2 codes (from the runtime's ICU data), lower-cased names. */
function countryByName(): Map<string, string> {
  if (countryNames) return countryNames;
  countryNames = new Map();
  try {
    const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    for (let a = 65; a <= 90; a++)
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        const name = names.of(code);
        if (name && name !== code) countryNames.set(name.toLowerCase(), code);
      }
  } catch {
    // No ICU region names: no suggestion.
  }
  return countryNames;
}

/** The check cfssl users hit first: `"C": "India"` → `did you mean "IN"?`. */
export function checkCountry(value: string, where: string): PkiError | undefined {
  if (/^[A-Z]{2}$/.test(value)) return undefined;
  const upper = value.toUpperCase();
  const guess = /^[A-Z]{2}$/.test(upper) ? upper : countryByName().get(value.trim().toLowerCase());
  return new PkiError('USAGE_BAD_SUBJECT', `${where}: C must be a two-letter ISO 3166 code${guess ? `: did you mean "${guess}"?` : `, got "${value}"`}`, {
    details: { where, value, ...(guess ? { suggestion: guess } : {}) },
    hint: guess ? `write "C": "${guess}"` : 'use the two-letter code, e.g. "US", "GB", "IN"',
  });
}

/** What a cfssl CSR JSON maps to. */
export interface CfsslCsr {
  subject: string;
  sans: San[];
  keyType: KeyType | undefined;
}

const NAME_FIELDS: Array<[string, string]> = [
  ['C', 'C'],
  ['ST', 'ST'],
  ['L', 'L'],
  ['O', 'O'],
  ['OU', 'OU'],
];

/**
 * Maps a cfssl CSR JSON (cfssl genkey/gencert input) to a subject (in the order cfssl/Go writes it: C, ST, L, O,
 * OU, then CN), SANs from `hosts` (IP addresses, e-mail addresses, URIs, else DNS names, as cfssl sorts them) and a
 * key type from `key`. Every key that cannot be mapped is a problem named by its JSON path.
 */
export function parseCfsslCsr(text: string, file: string): CfsslCsr {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PkiError('USAGE_BAD_CFSSL_JSON', `${file} is not JSON: ${(e as Error).message}`, { details: { file } });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new PkiError('USAGE_BAD_CFSSL_JSON', `${file}: expected a JSON object (cfssl CSR)`, { details: { file } });
  const o = json as Record<string, unknown>;
  const problems: PkiError[] = [];
  const bad = (path: string, msg: string) => problems.push(new PkiError('USAGE_BAD_CFSSL_JSON', `${file}: ${path}: ${msg}`, { details: { file, field: path } }));
  const byType = new Map<string, string[]>(NAME_FIELDS.map(([k]) => [k, []]));
  for (const key of Object.keys(o))
    if (!['CN', 'names', 'hosts', 'key'].includes(key))
      bad(key, key === 'ca' ? 'CA settings cannot be mapped: `pki csr` makes workload CSRs (use pki ca csr for a CA)' : 'not a cfssl CSR field pki maps (CN, names, hosts, key)');
  if (o.CN !== undefined && typeof o.CN !== 'string') bad('CN', 'must be a string');
  if (o.names !== undefined) {
    if (!Array.isArray(o.names)) bad('names', 'must be an array of {C, ST, L, O, OU}');
    else
      o.names.forEach((n, i) => {
        if (!n || typeof n !== 'object' || Array.isArray(n)) return bad(`names[${i}]`, 'must be an object {C, ST, L, O, OU}');
        for (const [k, v] of Object.entries(n as Record<string, unknown>)) {
          const path = `names[${i}].${k}`;
          if (!byType.has(k)) {
            bad(path, `"${k}" cannot be mapped (pki maps C, ST, L, O, OU; put extra attributes in --subject)`);
            continue;
          }
          if (typeof v !== 'string') {
            bad(path, 'must be a string');
            continue;
          }
          if (v === '') continue;
          if (k === 'C') {
            const p = checkCountry(v, `${file}: ${path}`);
            if (p) problems.push(p);
          }
          byType.get(k)!.push(v);
        }
      });
  }
  const sans: San[] = [];
  if (o.hosts !== undefined) {
    if (!Array.isArray(o.hosts)) bad('hosts', 'must be an array of names');
    else
      o.hosts.forEach((h, i) => {
        if (typeof h !== 'string' || h === '') return bad(`hosts[${i}]`, 'must be a non-empty string');
        const san: San = isIP(h) ? { type: 'ip', value: h } : h.includes('@') ? { type: 'email', value: h } : /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(h) ? { type: 'uri', value: h } : { type: 'dns', value: h };
        const p = sanProblems(san);
        if (p.length) bad(`hosts[${i}]`, p.join('; '));
        else sans.push(san);
      });
  }
  let keyType: KeyType | undefined;
  if (o.key !== undefined) {
    const k = o.key as Record<string, unknown>;
    if (!k || typeof k !== 'object') bad('key', 'must be {"algo": "ecdsa"|"rsa", "size": N}');
    else {
      for (const extra of Object.keys(k)) if (extra !== 'algo' && extra !== 'size') bad(`key.${extra}`, 'cannot be mapped (pki maps key.algo and key.size)');
      const algo = k.algo ?? 'ecdsa';
      const size = k.size ?? (algo === 'rsa' ? 2048 : 256);
      const map: Record<string, Record<number, KeyType>> = {
        ecdsa: { 256: 'ecdsa-p256', 384: 'ecdsa-p384', 521: 'ecdsa-p521' },
        rsa: { 2048: 'rsa-2048', 3072: 'rsa-3072', 4096: 'rsa-4096' },
      };
      if (typeof algo !== 'string' || !map[algo]) bad('key.algo', `"${String(algo)}" cannot be mapped (ecdsa or rsa; Roles Anywhere does not accept ed25519)`);
      else if (typeof size !== 'number' || !map[algo]![size])
        bad('key.size', `${String(size)} is not a ${algo} size pki makes (${Object.keys(map[algo]!).join(', ')})`);
      else keyType = map[algo]![size];
    }
  }
  const rdns: string[] = [];
  if (typeof o.CN === 'string' && o.CN !== '') rdns.push(`CN=${escapeDnValue(o.CN)}`);
  for (const [k] of [...NAME_FIELDS].reverse()) for (const v of [...byType.get(k)!].reverse()) rdns.push(`${k}=${escapeDnValue(v)}`);
  if (!rdns.length && !problems.length) bad('CN', 'the subject is empty (no CN and no names): Roles Anywhere does not support empty subjects');
  throwIfAny(problems, `${file}: ${problems.length} value(s) cannot be used; nothing was written`);
  return { subject: rdns.join(','), sans, keyType };
}

/** `pki csr`: generates a key (0600) and a CSR for it. Nothing is written unless everything checks out. */
export async function makeCsr(deps: Deps, input: CsrInput) {
  if (!!input.subject === !!input.fromCfssl) throw new PkiError('USAGE_MISSING_INPUT', 'give exactly one of input.subject or input.fromCfssl FILE', { details: { input: ['subject', 'fromCfssl'] } });
  let subjectText: string;
  let sans: San[] = (input.san ?? []).map((s) => parseSan(s));
  let keyType: KeyType;
  if (input.fromCfssl) {
    const cf = parseCfsslCsr(readInput(input.fromCfssl, 'input.fromCfssl').toString('utf8'), input.fromCfssl);
    if (cf.keyType && input.keyType && cf.keyType !== input.keyType)
      throw new PkiError('USAGE_CONFLICT', `input.keyType ${input.keyType} conflicts with ${input.fromCfssl}'s key (${cf.keyType})`, { details: { file: input.fromCfssl, input: ['keyType', 'fromCfssl'] } });
    subjectText = cf.subject;
    if (sans.length === 0) sans = cf.sans;
    keyType = parseKeyType(input.keyType ?? cf.keyType);
  } else {
    subjectText = input.subject!;
    keyType = parseKeyType(input.keyType);
  }
  const rdns = parseDn(subjectText, input.fromCfssl ? `${input.fromCfssl} (subject)` : 'input.subject');
  const keySources = [input.keyOut, input.keyStore, input.key].filter((x) => x !== undefined).length;
  if (keySources !== 1) throw new PkiError('USAGE_MISSING_INPUT', 'give exactly one of input.keyOut FILE, input.keyStore pkcs11:... (a new key on a token) or input.key pkcs11:... (a key already on a token)', { details: { input: ['keyOut', 'keyStore', 'key'] } });
  if (input.keyOut === undefined) {
    const out = resolve(deps.cwd, input.out);
    checkOutput(out, 'input.out', input.force ?? false);
    const exts = sans.length ? [encodeExtension(OID.subjectAltName, false, encodeSans(sans))] : [];
    const key = await tokenCsrKey(deps, input, keyType);
    try {
      const csr = await buildCsr(encodeName(rdns), key.signer, exts);
      writeFileAtomic(out, toPem('CERTIFICATE REQUEST', csr), { force: input.force ?? false, flag: 'input.out' });
    } catch (e) {
      key.discard();
      throw e;
    }
    // keyOut says where the key is (here its pkcs11: URI, as keyRef), so every result carries it.
    return { subject: formatDn(rdns), sans: sans.map((s) => `${s.type}:${s.value}`), keyType: key.signer.keyType, keyOut: key.ref, keyRef: key.ref, out: input.out };
  }
  const keyOut = resolve(deps.cwd, input.keyOut);
  const out = resolve(deps.cwd, input.out);
  if (keyOut === out) throw new PkiError('USAGE_CONFLICT', `input.keyOut and input.out are the same file ${input.out}`, { details: { input: ['keyOut', 'out'] } });
  checkOutput(keyOut, 'input.keyOut', input.force ?? false);
  checkOutput(out, 'input.out', input.force ?? false);
  const key = generateWorkloadKey(keyType, deps.randomBytes);
  const exts = sans.length ? [encodeExtension(OID.subjectAltName, false, encodeSans(sans))] : [];
  const csr = await buildCsr(encodeName(rdns), key.signer, exts);
  writePrivateKeyFile(keyOut, key.privateKeyPem(), 'input.keyOut', input.force ?? false);
  try {
    writeFileAtomic(out, toPem('CERTIFICATE REQUEST', csr), { force: input.force ?? false, flag: 'input.out' });
  } catch (e) {
    removeQuietly([keyOut]);
    throw e;
  }
  return { subject: formatDn(rdns), sans: sans.map((s) => `${s.type}:${s.value}`), keyType, keyOut: input.keyOut, out: input.out };
}
