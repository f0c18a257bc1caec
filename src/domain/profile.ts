/** Certificate profiles: what a CA may issue, and the policy checks applied to every request. */
import { PkiError } from '../errors.js';
import type { KeyType } from '../crypto/keys.js';
import { ROLES_ANYWHERE_KEY_TYPES } from './roles-anywhere.js';
import type { Rdns, San, SanType } from './names.js';
import type { Duration } from './duration.js';

export type ProfileKind = 'root-ca' | 'intermediate-ca' | 'leaf';

/** A validated, frozen profile. Durations are in seconds. */
export interface Profile {
  name: string;
  /** Where it came from (file path), for messages. */
  source: string;
  description: string;
  kind: ProfileKind;
  /** Enforce IAM Roles Anywhere rules (reference §1). */
  rolesAnywhere: boolean;
  keyTypes: readonly KeyType[];
  /** In seconds (a year = 365 days); `defaultParts`/`maxParts` keep calendar years for computing end dates. */
  validity: { default: number; max: number; defaultParts?: Duration; maxParts?: Duration };
  /** How far notBefore is set in the past to absorb clock skew. */
  backdate: number;
  pathLen?: number;
  keyUsage: readonly string[];
  extendedKeyUsage: readonly string[];
  /**
   * `allow`: the whole RFC 4514 string must fully match one (the original, order-sensitive form). `require`: attribute
   * types that must be present. `match`: per attribute type (CN, O, ... or a dotted OID; `*` for every other type),
   * the pattern each value of that type must fully match; when `match` is given, types it does not name are refused.
   */
  subject: { allow: readonly RegExp[]; require: readonly string[]; match: Readonly<Record<string, RegExp>> };
  san: { allow: Partial<Record<SanType, readonly RegExp[]>>; maxCount: number };
  crlDistributionPoints: readonly string[];
  /** Leaf profiles: what to do when a subject or SAN value would be dropped as a Roles Anywhere session tag. */
  droppedSessionTags: 'warn' | 'refuse' | 'ignore';
}

/** C0 and C1 control characters and DEL: never legitimate in a name, and dangerous when echoed to a terminal. */
const CONTROL = /\p{Cc}/u;

/** Checks a requested subject and SANs against the profile; returns every problem (never throws). */
export function checkNames(profile: Profile, subjectDn: string, sans: readonly San[], subjectEmpty: boolean, subject: Rdns = []): PkiError[] {
  const problems: PkiError[] = [];
  const { require, match } = profile.subject;
  const attributes = subject.flat();
  if (!subjectEmpty) {
    const missing = require.filter((t) => !attributes.some((a) => a.type === t));
    if (missing.length)
      problems.push(
        new PkiError('POLICY_SUBJECT_NOT_ALLOWED', `subject "${subjectDn}" has no ${missing.join(', ')}; profile ${profile.name} requires ${require.join(', ')} (${profile.source})`, {
          details: { subject: subjectDn, missing },
        }),
      );
    if (Object.keys(match).length)
      for (const a of attributes) {
        const re = match[a.type] ?? match['*'];
        if (!re)
          problems.push(
            new PkiError('POLICY_SUBJECT_NOT_ALLOWED', `subject attribute ${a.type} is not allowed by profile ${profile.name} (allowed: ${Object.keys(match).join(', ')}; ${profile.source})`, {
              details: { subject: subjectDn, attribute: a.type },
            }),
          );
        else if (!re.test(a.value))
          problems.push(
            new PkiError(
              'POLICY_SUBJECT_NOT_ALLOWED',
              `subject attribute ${a.type}="${a.value}"${CONTROL.test(a.value) ? ' (it holds control characters)' : ''} does not match ${re.source.slice(4, -2)} in profile ${profile.name} (${profile.source})`,
              { details: { subject: subjectDn, attribute: a.type, value: a.value, match: String(re) } },
            ),
          );
      }
  }
  if (subjectEmpty)
    problems.push(
      new PkiError('POLICY_EMPTY_SUBJECT', 'the subject is empty; Roles Anywhere does not support certificates with empty subjects', {
        hint: 'give a subject with at least CN=...',
      }),
    );
  else if (profile.subject.allow.length && !profile.subject.allow.some((re) => re.test(subjectDn)))
    problems.push(
      new PkiError('POLICY_SUBJECT_NOT_ALLOWED', `subject "${subjectDn}" is not allowed by profile ${profile.name} (${profile.source})`, {
        details: { subject: subjectDn, allow: profile.subject.allow.map(String) },
        hint:
          'subject.allow matches the whole RFC 4514 string, most specific attribute first (openssl -subj "/CN=a/O=b" is O=b,CN=a); ' +
          "to match attributes in any order, use subject.require and subject.match (e.g. require: [CN], match: { CN: 'a', O: 'b' })",
      }),
    );
  if (sans.length > profile.san.maxCount)
    problems.push(new PkiError('POLICY_TOO_MANY_SANS', `${sans.length} SANs requested; profile ${profile.name} allows at most ${profile.san.maxCount}`));
  for (const san of sans) {
    const allow = profile.san.allow[san.type];
    if (!allow)
      problems.push(
        new PkiError('POLICY_SAN_NOT_ALLOWED', `SAN ${san.type}:${san.value}: profile ${profile.name} allows no ${san.type} SANs`, { details: { san: `${san.type}:${san.value}` } }),
      );
    else if (allow.length && !allow.some((re) => re.test(san.value)))
      problems.push(
        new PkiError('POLICY_SAN_NOT_ALLOWED', `SAN ${san.type}:${san.value}${CONTROL.test(san.value) ? ' (it holds control characters)' : ''} is not allowed by profile ${profile.name} (${profile.source})`, {
          details: { san: `${san.type}:${san.value}`, allow: allow.map(String) },
        }),
      );
  }
  return problems;
}

/** Checks a key type against the profile (and Roles Anywhere rules). */
export function checkKey(profile: Profile, keyType: KeyType | undefined, description: string, rsaBits: number | undefined, source: string): PkiError[] {
  if (rsaBits !== undefined && rsaBits < 2048)
    return [new PkiError('POLICY_KEY_TOO_SMALL', `${source}: RSA key of ${rsaBits} bits; at least 2048 bits are required`, { details: { file: source, bits: rsaBits } })];
  if (!keyType || !profile.keyTypes.includes(keyType))
    return [
      new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `${source}: ${description} is not allowed by profile ${profile.name} (allowed: ${profile.keyTypes.join(', ')})`, {
        details: { file: source, key: description, allowed: profile.keyTypes },
      }),
    ];
  return [];
}

/** Profile-level consistency rules, including Roles Anywhere's (reference §1.2, §1.3). Returns messages. */
export function profileRuleProblems(p: Omit<Profile, 'source'>): string[] {
  const out: string[] = [];
  const isCa = p.kind !== 'leaf';
  if (p.validity.default > p.validity.max) out.push('validity.default is longer than validity.max');
  if (isCa) {
    if (!p.keyUsage.includes('keyCertSign')) out.push('a CA profile must have keyCertSign in keyUsage');
  } else if (p.pathLen !== undefined) out.push('pathLen applies to CA profiles only');
  if (p.kind === 'leaf' && (p.keyUsage.includes('keyCertSign') || p.keyUsage.includes('cRLSign'))) out.push('a leaf profile must not have keyCertSign or cRLSign');
  if (p.rolesAnywhere) {
    if (p.kind === 'leaf' && !p.keyUsage.includes('digitalSignature'))
      out.push('rolesAnywhere: a leaf must have digitalSignature in keyUsage (Roles Anywhere rejects it otherwise)');
    const bad = p.keyTypes.filter((k) => !ROLES_ANYWHERE_KEY_TYPES.includes(k));
    if (bad.length) out.push(`rolesAnywhere: key types ${bad.join(', ')} are not documented as accepted by Roles Anywhere (set rolesAnywhere: false to allow them)`);
  }
  return out;
}
