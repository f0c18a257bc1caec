/**
 * What a CreateSession with a certificate produces besides credentials (reference §1.6, §1.7, §6): the role session
 * name, the SourceIdentity, and the principal tags from the subject, the issuer and the first DNS/URI/directoryName
 * SANs, after the profile's attribute mappings. Values that do not match STS's session-tag pattern are dropped by the
 * service without any error; this module says which and why. Pure: used by the emulator, `pki preview` and `pki issue`.
 */
import type { Rdns } from './names.js';
import { MAX_SESSION_TAGS, SESSION_TAG_CHARS, SESSION_TAG_KEY_MAX, SESSION_TAG_VALUE_MAX, SOURCE_IDENTITY_MAX, SOURCE_IDENTITY_PREFIXED_CN_MAX } from './roles-anywhere.js';

export type CertificateField = 'x509Subject' | 'x509Issuer' | 'x509SAN';

/** A profile's attribute mappings: for each certificate field, the specifiers that become tags. */
export type AttributeMappings = Record<CertificateField, string[]>;

/** A new profile's mappings (§6.3). */
export const DEFAULT_MAPPINGS: AttributeMappings = { x509Subject: ['*'], x509Issuer: ['*'], x509SAN: ['DNS', 'URI', 'Name/*'] };

/** STS session tags: key 1-128 and value 0-256 characters of letters, spaces, digits and _ . : / = + - @ (§6.2). */
const TAG_VALUE = SESSION_TAG_CHARS;
export { MAX_SESSION_TAGS };

export interface SessionCertificate {
  serialHex: string;
  subject: Rdns;
  issuer: Rdns;
  sans: ReadonlyArray<{ type: string; value: string }>;
  sanDirectoryNames: Rdns[];
}

export interface DroppedAttribute {
  tag: string;
  value: string;
  reason: string;
}

export interface SessionPreview {
  /** The default role session name: the serial in lowercase hex. */
  roleSessionName: string;
  sourceIdentity: string;
  /** Notes about SourceIdentity (a CN over 64 characters is UNCONFIRMED territory). */
  sourceIdentityNote: string | null;
  tags: Record<string, string>;
  dropped: DroppedAttribute[];
}

/** Multi-valued attributes joined with "/" in certificate order: OU=a, OU=b → "a/b" (§6.1). */
function attributes(rdns: Rdns): Map<string, string> {
  const out = new Map<string, string[]>();
  for (const rdn of rdns) for (const a of rdn) out.set(a.type, [...(out.get(a.type) ?? []), a.value]);
  return new Map([...out].map(([k, v]) => [k, v.join('/')]));
}

const firstCn = (rdns: Rdns): string | undefined => {
  for (const rdn of rdns) for (const a of rdn) if (a.type === 'CN') return a.value;
  return undefined;
};

/** §1.7: "CN=" + CN up to 61 characters; the bare CN for 62-64; "ID=" + even-length hex serial without a CN. */
export function sourceIdentity(cert: SessionCertificate): { value: string; note: string | null } {
  const cn = firstCn(cert.subject);
  if (cn === undefined) {
    const hex = cert.serialHex.length % 2 ? `0${cert.serialHex}` : cert.serialHex;
    return { value: `ID=${hex}`, note: null };
  }
  if (cn.length <= SOURCE_IDENTITY_PREFIXED_CN_MAX) return { value: `CN=${cn}`, note: null };
  if (cn.length <= SOURCE_IDENTITY_MAX) return { value: cn, note: `the CN has ${cn.length} characters, so SourceIdentity has no "CN=" prefix` };
  return { value: cn, note: `the CN has ${cn.length} characters (more than ${SOURCE_IDENTITY_MAX}): what the service does is not documented` };
}

function mapped(mappings: AttributeMappings, field: CertificateField, specifier: string): boolean {
  const rules = mappings[field];
  if (field === 'x509SAN') {
    if (specifier.startsWith('Name/')) return rules.some((r) => r === 'Name' || r === 'Name/' || r === 'Name/*' || r === specifier);
    return rules.includes(specifier);
  }
  return rules.includes('*') || rules.includes(specifier);
}

/** Role session name, SourceIdentity and principal tags for `cert` under `mappings`, and what the service drops. */
export function previewSession(cert: SessionCertificate, mappings: AttributeMappings = DEFAULT_MAPPINGS): SessionPreview {
  const candidates: Array<{ field: CertificateField; specifier: string; value: string }> = [];
  for (const [k, v] of attributes(cert.subject)) candidates.push({ field: 'x509Subject', specifier: k, value: v });
  for (const [k, v] of attributes(cert.issuer)) candidates.push({ field: 'x509Issuer', specifier: k, value: v });
  // Only the first value of each SAN type is used (§6.1).
  const dns = cert.sans.find((s) => s.type === 'dns');
  const uri = cert.sans.find((s) => s.type === 'uri');
  if (dns) candidates.push({ field: 'x509SAN', specifier: 'DNS', value: dns.value });
  if (uri) candidates.push({ field: 'x509SAN', specifier: 'URI', value: uri.value });
  if (cert.sanDirectoryNames[0]) for (const [k, v] of attributes(cert.sanDirectoryNames[0])) candidates.push({ field: 'x509SAN', specifier: `Name/${k}`, value: v });
  const tags: Record<string, string> = {};
  const dropped: DroppedAttribute[] = [];
  for (const c of candidates) {
    const tag = `${c.field}/${c.specifier}`;
    if (!mapped(mappings, c.field, c.specifier)) {
      dropped.push({ tag, value: c.value, reason: `not in the profile's ${c.field} attribute mapping` });
      continue;
    }
    if (tag.length > SESSION_TAG_KEY_MAX || !TAG_VALUE.test(tag)) dropped.push({ tag, value: c.value, reason: 'the tag key is not a valid STS session-tag key' });
    else if (c.value.length > SESSION_TAG_VALUE_MAX) dropped.push({ tag, value: c.value, reason: `${c.value.length} characters: STS session-tag values have at most ${SESSION_TAG_VALUE_MAX}` });
    else if (!TAG_VALUE.test(c.value)) {
      const bad = [...new Set([...c.value].filter((ch) => !TAG_VALUE.test(ch)))].map((ch) => (/[\x00-\x1f\x7f]/.test(ch) ? `U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : `"${ch}"`));
      dropped.push({ tag, value: c.value, reason: `contains ${bad.join(' ')}: STS session-tag values allow only letters, digits, spaces and _ . : / = + - @` });
    } else if (Object.keys(tags).length >= MAX_SESSION_TAGS) dropped.push({ tag, value: c.value, reason: `more than ${MAX_SESSION_TAGS} session tags` });
    else tags[tag] = c.value;
  }
  const si = sourceIdentity(cert);
  return { roleSessionName: cert.serialHex.toLowerCase(), sourceIdentity: si.value, sourceIdentityNote: si.note, tags, dropped };
}
