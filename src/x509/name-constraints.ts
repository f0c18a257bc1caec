/**
 * Name constraints (RFC 5280 §4.2.1.10, §6.1.3 b-c): directoryName, dNSName, rfc822Name, URI and iPAddress subtrees.
 * Every CA's constraints apply to every certificate below it; a name of a type a CA restricts must fall inside one of
 * its permitted subtrees of that type and inside none of its excluded ones. Constraints on the name forms this
 * validator does not interpret (otherName, x400Address, ediPartyName, registeredID) cannot be checked: a certificate
 * below them that carries a name of that form is refused, as §4.2.1.10 requires ("process the constraint or reject
 * the certificate"). Malformed subtrees (a bad iPAddress length or mask, minimum/maximum present) are refused.
 */
import { PkiError } from '../errors.js';
import { DerReader, TAG, children, type Tlv } from '../asn1/der.js';
import { decodeGeneralName } from './extensions.js';
import { normaliseValue, type Rdns } from './name.js';
import type { ParsedCertificate } from './certificate.js';

type Kind = 'dn' | 'dns' | 'email' | 'uri' | 'ip' | 'other';
interface Subtree {
  kind: Kind;
  dn?: Rdns;
  value?: string;
  /** iPAddress: address and mask octets (4+4 or 16+16). */
  ip?: { address: Buffer; mask: Buffer };
  /** The uninterpreted GeneralName form ('otherName', ...). */
  form?: string;
}
export interface Constraints {
  permitted: Subtree[];
  excluded: Subtree[];
}

const NC_OID = '2.5.29.30';
const EMAIL_OID = '1.2.840.113549.1.9.1';

/** A contiguous prefix mask: ones, then zeros. */
function contiguous(mask: Buffer): boolean {
  let zero = false;
  for (const b of mask)
    for (let bit = 7; bit >= 0; bit--) {
      const on = (b >> bit) & 1;
      if (on && zero) return false;
      if (!on) zero = true;
    }
  return true;
}

function subtrees(t: Tlv): Subtree[] {
  const out: Subtree[] = [];
  const list = children(t);
  if (list.length === 0) throw new Error('empty GeneralSubtrees (SIZE 1..MAX)');
  for (const st of list) {
    // GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }; RFC 5280: minimum
    // MUST be zero (so, in DER, absent) and maximum MUST be absent.
    const r = new DerReader(st, 'GeneralSubtree');
    const base = r.any('base');
    r.end();
    if (base.tag === 0x87) {
      if (base.content.length !== 8 && base.content.length !== 32) throw new Error(`iPAddress constraint of ${base.content.length} octets (8 or 32 expected)`);
      const half = base.content.length / 2;
      const ip = { address: base.content.subarray(0, half), mask: base.content.subarray(half) };
      if (!contiguous(ip.mask)) throw new Error(`iPAddress constraint with a non-contiguous mask`);
      out.push({ kind: 'ip', ip });
      continue;
    }
    const n = decodeGeneralName(base);
    if (n.form === 'directoryName') out.push({ kind: 'dn', dn: n.dn! });
    else if (n.san?.type === 'dns') out.push({ kind: 'dns', value: n.san.value.toLowerCase() });
    else if (n.san?.type === 'email') out.push({ kind: 'email', value: n.san.value });
    else if (n.san?.type === 'uri') out.push({ kind: 'uri', value: n.san.value.toLowerCase() });
    else out.push({ kind: 'other', form: n.form });
  }
  return out;
}

/** The certificate's name constraints, if it has the extension. */
export function nameConstraintsOf(c: ParsedCertificate): Constraints | undefined {
  const ext = c.extensions.find((e) => e.oid === NC_OID);
  if (!ext) return undefined;
  const out: Constraints = { permitted: [], excluded: [] };
  try {
    // NameConstraints ::= SEQUENCE { permittedSubtrees [0] OPTIONAL, excludedSubtrees [1] OPTIONAL }, not both absent.
    const r = DerReader.of(ext.value, TAG.SEQUENCE, 'nameConstraints');
    const p = r.optional(0xa0);
    const x = r.optional(0xa1);
    r.end();
    if (!p && !x) throw new Error('neither permittedSubtrees nor excludedSubtrees');
    if (p) out.permitted.push(...subtrees(p));
    if (x) out.excluded.push(...subtrees(x));
  } catch (e) {
    throw new PkiError('CRYPTO_BAD_CERTIFICATE', `${c.subjectDn}: malformed nameConstraints extension (${(e as Error).message})`);
  }
  return out;
}

const rdnKey = (rdn: Rdns[number]) => rdn.map((a) => `${a.oid}=${normaliseValue(a.value)}`).sort().join('+');

/** `name` lies within `base`: `base`'s RDNs are its first RDNs (each RDN compared as a set of attributes). */
function dnWithin(name: Rdns, base: Rdns): boolean {
  if (base.length > name.length) return false;
  return base.every((rdn, i) => rdn.length === name[i]!.length && rdnKey(rdn) === rdnKey(name[i]!));
}

/**
 * The host of a URI for URI name constraints (RFC 5280 §4.2.1.10: the host part of the authority), or undefined when
 * it cannot be read unambiguously: no authority (`urn:`), userinfo (`http://a.com:1@b.com/` — readers disagree on
 * which host that names), percent-encoded or backslash characters in the host. Such a URI under URI constraints is
 * refused rather than guessed at.
 */
function uriHost(uri: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?(?:[/?#]|$)/.exec(uri);
  return m ? m[1]!.toLowerCase() : undefined;
}

function ipOctets(text: string): Buffer | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) return Buffer.from(text.split('.').map(Number));
  if (!text.includes(':')) return undefined;
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return out;
}

function within(kind: Kind, name: string | Rdns | Buffer, t: Subtree): boolean {
  if (kind === 'dn') return dnWithin(name as Rdns, t.dn!);
  if (kind === 'ip') {
    const ip = name as Buffer;
    const { address, mask } = t.ip!;
    return ip.length === address.length && ip.every((b, i) => (b & mask[i]!) === (address[i]! & mask[i]!));
  }
  const v = name as string;
  if (kind === 'dns') {
    const d = v.toLowerCase();
    return t.value === '' || d === t.value || d.endsWith(`.${t.value!.replace(/^\./, '')}`);
  }
  if (kind === 'email') {
    // RFC 5280 §4.2.1.10: a mailbox constraint matches the whole address, the local part case-sensitively; a host or
    // domain constraint matches the part after the last "@", case-insensitively.
    const at = v.lastIndexOf('@');
    const host = v.slice(at + 1).toLowerCase();
    const c = t.value!;
    if (c.includes('@')) {
      const cat = c.lastIndexOf('@');
      return v.slice(0, at) === c.slice(0, cat) && host === c.slice(cat + 1).toLowerCase();
    }
    return c.startsWith('.') ? host.endsWith(c.toLowerCase()) : host === c.toLowerCase();
  }
  const host = uriHost(v);
  if (host === undefined) return false;
  const c = t.value!.toLowerCase();
  return c.startsWith('.') ? host.endsWith(c) : host === c;
}

type Name = [Kind, string | Rdns | Buffer, string];

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)+\.?$/;

/** The names of a certificate that constraints apply to (`withSubject`: false for self-issued intermediates). */
function namesOf(c: ParsedCertificate, withSubject: boolean): Name[] {
  const out: Name[] = [];
  // A certificate without dNSName SANs whose CN looks like a host name is checked as that DNS name too (as openssl
  // does: clients that still match host names against the CN would otherwise escape DNS constraints).
  if (withSubject && !c.sans.some((s) => s.type === 'dns'))
    for (const rdn of c.subject) for (const a of rdn) if (a.oid === '2.5.4.3' && HOSTNAME.test(a.value)) out.push(['dns', a.value, a.value]);
  const dnText = (dn: Rdns) => dn.map((r) => r.map((a) => `${a.type}=${a.value}`).join('+')).join(',');
  if (withSubject && c.subject.length) out.push(['dn', c.subject, dnText(c.subject)]);
  for (const rdn of c.subject) for (const a of rdn) if (a.oid === EMAIL_OID && withSubject) out.push(['email', a.value, a.value]);
  for (const s of c.sans) {
    if (s.type === 'ip') {
      const b = ipOctets(s.value);
      out.push(['ip', b ?? Buffer.alloc(0), s.value]);
    } else out.push([s.type, s.value, s.value]);
  }
  for (const dn of c.sanDirectoryNames) out.push(['dn', dn, dnText(dn)]);
  for (const form of c.sanOthers) out.push(['other', form, form]);
  return out;
}

/** The first name of `c` that a set of constraints forbids, described; undefined when all are allowed. */
export function violation(c: ParsedCertificate, sets: Constraints[], withSubject: boolean): string | undefined {
  // A malformed e-mail constraint, or a malformed e-mail name under e-mail constraints, cannot be judged: refused.
  const badMailbox = (v: string, base: boolean) => (v.match(/@/g) ?? []).length > 1 || (!base && !/^[^@]+@[^@]+$/.test(v));
  for (const set of sets) for (const t of [...set.permitted, ...set.excluded]) if (t.kind === 'email' && badMailbox(t.value!, true)) return `malformed rfc822Name constraint "${t.value}"`;
  const emailConstrained = sets.some((set) => [...set.permitted, ...set.excluded].some((t) => t.kind === 'email'));
  const uriConstrained = sets.some((set) => [...set.permitted, ...set.excluded].some((t) => t.kind === 'uri'));
  const names = namesOf(c, withSubject);
  // Bounded work (as openssl bounds it): names × subtrees beyond 2^20 comparisons are refused, not ground through.
  const subtreeCount = sets.reduce((n, set) => n + set.permitted.length + set.excluded.length, 0);
  if (names.length * subtreeCount > 1 << 20) return `${names.length} names against ${subtreeCount} name-constraint subtrees: too many to check (refused)`;
  for (const [kind, name, shown] of names) {
    if (kind === 'uri' && uriConstrained && uriHost(name as string) === undefined) return `URI "${shown}" has no host that URI name constraints can be checked against unambiguously (refused)`;
    if (kind === 'email' && emailConstrained && badMailbox(name as string, false)) return `malformed e-mail name "${shown}" under e-mail name constraints`;
    for (const set of sets) {
      if (kind === 'other') {
        if ([...set.permitted, ...set.excluded].some((t) => t.kind === 'other' && t.form === name))
          return `${shown} name under ${shown} name constraints, which this validator cannot check (RFC 5280 §4.2.1.10: refused)`;
        continue;
      }
      const permitted = set.permitted.filter((t) => t.kind === kind);
      if (permitted.length && !permitted.some((t) => within(kind, name, t))) return `${kind} name "${shown}" is outside the permitted subtrees`;
      if (set.excluded.some((t) => t.kind === kind && within(kind, name, t))) return `${kind} name "${shown}" is in an excluded subtree`;
    }
  }
  return undefined;
}

