/** Profiles from YAML: strict schema, errors with file:line:col, frozen result. */
import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PkiError, throwIfAny } from '../errors.js';
import { readInput } from '../fs/files.js';
import { KEY_TYPES, type KeyType } from '../crypto/keys.js';
import { parseYamlWithSchema, type Spec } from '../config/schema.js';
import type { Duration } from '../domain/duration.js';
import { profileRuleProblems, type Profile, type ProfileKind } from '../domain/profile.js';
import { EKU_OIDS, KEY_USAGE_BITS } from '../asn1/oids.js';
import { parseDn } from '../x509/name.js';
import type { SanType } from '../x509/extensions.js';

/** The profiles shipped with the toolkit (`profiles/` in the package). */
export const SHIPPED_PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));

const regexList = (what: string): Spec => ({ type: 'list', items: { type: 'regex' }, description: what });

/** A subject attribute type as written in a profile (cn, CN, commonName, 2.5.4.3) → the name pki uses (CN). */
function attributeKey(key: string): string {
  if (key === '*') return key;
  try {
    return parseDn(`${key}=x`, 'subject.match')[0]![0]!.type;
  } catch {
    throw new Error(`"${key}" is not an attribute type (use CN, O, OU, C, ST, L, DC, UID, serialNumber, emailAddress, a dotted OID, or * for any other)`);
  }
}

/** The profile schema; also rendered into the README's profile reference. */
export const PROFILE_SCHEMA: Spec = {
  type: 'object',
  fields: {
    name: { type: 'string', pattern: /^[a-z0-9][a-z0-9._-]*$/, patternHelp: 'must be lowercase letters, digits, . _ -', description: 'profile name (defaults to the file name)' },
    description: { type: 'string', description: 'free text shown in listings' },
    kind: { type: 'string', enum: ['root-ca', 'intermediate-ca', 'leaf'], required: true, description: 'what the profile issues' },
    rolesAnywhere: { type: 'boolean', description: 'enforce IAM Roles Anywhere rules (default true)' },
    keyTypes: { type: 'list', items: { type: 'string', enum: KEY_TYPES }, description: 'accepted subject key types' },
    validity: {
      type: 'object',
      required: true,
      description: 'how long certificates are valid; never past the issuing CA',
      fields: {
        default: { type: 'validity', required: true, description: 'validity when --validity is not given (years are calendar years)' },
        max: { type: 'validity', required: true, description: 'longest validity a request may ask for' },
      },
    },
    backdate: { type: 'duration', description: 'notBefore is set this far in the past (clock skew); default 5m' },
    pathLen: { type: 'integer', min: 0, max: 16, description: 'CA profiles: basicConstraints pathLenConstraint' },
    keyUsage: { type: 'list', items: { type: 'string', enum: Object.keys(KEY_USAGE_BITS) }, description: 'keyUsage bits (the extension is always critical)' },
    extendedKeyUsage: {
      type: 'list',
      items: { type: 'string', pattern: new RegExp(`^(${Object.keys(EKU_OIDS).join('|')}|\\d+(\\.\\d+)+)$`), patternHelp: `must be one of ${Object.keys(EKU_OIDS).join(', ')} or a dotted OID` },
      description: 'extendedKeyUsage purposes (names or OIDs)',
    },
    subject: {
      type: 'object',
      description: 'rules for the requested subject (it must never be empty); require and match look at attributes, in any order',
      fields: {
        require: {
          type: 'list',
          items: { type: 'string', pattern: /^[A-Za-z][A-Za-z0-9]*$|^\d+(\.\d+)+$/, patternHelp: 'must be an attribute type such as CN, O, OU or a dotted OID' },
          description: 'attribute types the subject must have (e.g. [CN])',
        },
        match: {
          type: 'map',
          key: attributeKey,
          values: { type: 'regex' },
          description:
            'per attribute type (CN, O, OU, C, ST, L, DC, UID, serialNumber, emailAddress or a dotted OID; * for any other), a regular expression each value must fully match; types not named (and no *) are refused',
        },
        allow: regexList('the whole RFC 4514 subject (e.g. CN=web-01,O=Example, most specific first) must fully match one; order-sensitive: prefer match'),
      },
    },
    san: {
      type: 'object',
      description: 'rules for subject alternative names',
      fields: {
        allow: {
          type: 'object',
          description: 'per SAN type, patterns a value must fully match; types not listed are refused; absent: every type, any value',
          fields: { dns: regexList('DNS names'), uri: regexList('URIs (e.g. spiffe://...)'), email: regexList('e-mail addresses'), ip: regexList('IP addresses (text form)') },
        },
        maxCount: { type: 'integer', min: 0, max: 1000, description: 'most SANs per certificate (default 100)' },
      },
    },
    droppedSessionTags: {
      type: 'string',
      enum: ['warn', 'refuse', 'ignore'],
      description: 'leaf profiles: a subject or SAN value Roles Anywhere would silently drop as a session tag (characters or length STS refuses) is a warning (default), refused, or ignored',
    },
    crlDistributionPoints: { type: 'list', items: { type: 'string', pattern: /^[a-z]+:\/\/\S+$/, patternHelp: 'must be a URL' }, description: 'CRL distribution point URLs' },
  },
};

const DEFAULT_KEY_USAGE: Record<ProfileKind, string[]> = {
  'root-ca': ['keyCertSign', 'cRLSign'],
  'intermediate-ca': ['keyCertSign', 'cRLSign'],
  leaf: ['digitalSignature'],
};

/** Parses profile YAML text; `source` is the file path used in messages. */
export function parseProfile(text: string, source: string): Profile {
  const raw = parseYamlWithSchema(text, source, PROFILE_SCHEMA, 'PROFILE_INVALID') as Record<string, any>;
  const kind = raw.kind as ProfileKind;
  const sanAllowRaw = raw.san?.allow as Partial<Record<SanType, RegExp[]>> | undefined;
  const sanAllow: Partial<Record<SanType, readonly RegExp[]>> = sanAllowRaw ?? { dns: [], uri: [], email: [], ip: [] };
  const profile: Profile = {
    name: raw.name ?? basename(source).replace(/\.(ya?ml|json)$/i, ''),
    source,
    description: raw.description ?? '',
    kind,
    rolesAnywhere: raw.rolesAnywhere ?? true,
    keyTypes: (raw.keyTypes as KeyType[] | undefined) ?? ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'],
    validity: { default: approxSeconds(raw.validity.default), max: approxSeconds(raw.validity.max), defaultParts: raw.validity.default, maxParts: raw.validity.max },
    backdate: raw.backdate ?? 300,
    keyUsage: raw.keyUsage ?? DEFAULT_KEY_USAGE[kind],
    extendedKeyUsage: raw.extendedKeyUsage ?? (kind === 'leaf' ? ['clientAuth'] : []),
    subject: {
      allow: raw.subject?.allow ?? [],
      require: ((raw.subject?.require as string[] | undefined) ?? []).map((t) => {
        try {
          return attributeKey(t);
        } catch (e) {
          throw new PkiError('PROFILE_INVALID', `${source}: subject.require: ${(e as Error).message}`, { details: { file: source } });
        }
      }),
      match: raw.subject?.match ?? {},
    },
    san: { allow: sanAllow, maxCount: raw.san?.maxCount ?? 100 },
    crlDistributionPoints: raw.crlDistributionPoints ?? [],
    droppedSessionTags: raw.droppedSessionTags ?? 'warn',
  };
  if (raw.pathLen !== undefined) profile.pathLen = raw.pathLen;
  throwIfAny(profileRuleProblems(profile).map((m) => new PkiError('PROFILE_INVALID', `${source}: ${m}`, { details: { file: source } })));
  return deepFreeze(profile);
}

/** A duration's length with 365-day years (comparisons, listings); end dates use the calendar parts. */
function approxSeconds(d: Duration): number {
  return d.years * 365 * 86400 + d.seconds;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof RegExp)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds a profile by name or path: a path (contains a slash, ends in .yaml, .yml or .json, or names an existing
 * file), else `<userDir>/<name>.yaml`, else the shipped profile. JSON profiles are read as YAML (JSON is YAML).
 * Throws NOT_FOUND_PROFILE listing where it looked.
 */
export function loadProfile(nameOrPath: string, userDir: string | undefined, cwd: string): Profile {
  const candidates: string[] = [];
  const asPath = isAbsolute(nameOrPath) ? nameOrPath : resolve(cwd, nameOrPath);
  if (/[/\\]/.test(nameOrPath) || /\.(ya?ml|json)$/i.test(nameOrPath) || isFile(asPath)) candidates.push(asPath);
  else {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(nameOrPath))
      throw new PkiError('USAGE_BAD_PROFILE_NAME', `input.profile "${nameOrPath}" is not a profile name or the path of a .yaml/.json file`, { details: { input: 'profile' } });
    if (userDir) candidates.push(join(userDir, `${nameOrPath}.yaml`), join(userDir, `${nameOrPath}.yml`));
    candidates.push(join(SHIPPED_PROFILES_DIR, `${nameOrPath}.yaml`));
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new PkiError('NOT_FOUND_PROFILE', `profile "${nameOrPath}" not found (looked in ${candidates.join(', ')})`, {
      details: { profile: nameOrPath, searched: candidates },
    });
  let text: string;
  try {
    text = readInput(found, 'profile').toString('utf8');
  } catch (e) {
    if (e instanceof PkiError && e.code === 'POLICY_INPUT_TOO_LARGE') throw e;
    throw new PkiError('IO_READ_FAILED', `cannot read profile ${found}: ${(e as Error).message}`, { details: { file: found }, cause: e });
  }
  return parseProfile(text, found);
}
