/**
 * Name constraints (RFC 5280 §4.2.1.10, §6.1.3 b-c): directoryName, dNSName, rfc822Name and URI subtrees.
 * Every CA's constraints apply to every certificate below it; a name of a type a CA restricts must fall inside one of
 * its permitted subtrees of that type and inside none of its excluded ones. IP address constraints are not checked.
 */
import { PkiError } from '../errors.js';
import { children, readSingle, type Tlv } from './der.js';
import { decodeName, type Rdns } from './name.js';
import type { ParsedCertificate } from './certificate.js';

type Kind = 'dn' | 'dns' | 'email' | 'uri';
interface Subtree {
  kind: Kind;
  dn?: Rdns;
  value?: string;
}
export interface Constraints {
  permitted: Subtree[];
  excluded: Subtree[];
}

const NC_OID = '2.5.29.30';
const EMAIL_OID = '1.2.840.113549.1.9.1';

function subtrees(t: Tlv): Subtree[] {
  const out: Subtree[] = [];
  for (const st of children(t)) {
    const base = children(st)[0];
    if (!base) continue;
    if (base.tag === 0xa4) out.push({ kind: 'dn', dn: decodeName(children(base)[0]!) });
    else if (base.tag === 0x82) out.push({ kind: 'dns', value: base.content.toString('latin1').toLowerCase() });
    else if (base.tag === 0x81) out.push({ kind: 'email', value: base.content.toString('latin1').toLowerCase() });
    else if (base.tag === 0x86) out.push({ kind: 'uri', value: base.content.toString('latin1').toLowerCase() });
  }
  return out;
}

/** The certificate's name constraints, if it has the extension. */
export function nameConstraintsOf(c: ParsedCertificate): Constraints | undefined {
  const ext = c.extensions.find((e) => e.oid === NC_OID);
  if (!ext) return undefined;
  const out: Constraints = { permitted: [], excluded: [] };
  try {
    for (const part of children(readSingle(ext.value))) {
      if (part.tag === 0xa0) out.permitted.push(...subtrees(part));
      else if (part.tag === 0xa1) out.excluded.push(...subtrees(part));
    }
  } catch (e) {
    throw new PkiError('CRYPTO_BAD_CERTIFICATE', `${c.subjectDn}: malformed nameConstraints extension (${(e as Error).message})`);
  }
  return out;
}

const norm = (v: string) => v.trim().replace(/\s+/g, ' ').toLowerCase();

function dnWithin(name: Rdns, base: Rdns): boolean {
  if (base.length > name.length) return false;
  return base.every((rdn, i) => rdn.length === name[i]!.length && rdn.every((a, j) => a.oid === name[i]![j]!.oid && norm(a.value) === norm(name[i]![j]!.value)));
}

function within(kind: Kind, name: string | Rdns, t: Subtree): boolean {
  if (kind === 'dn') return dnWithin(name as Rdns, t.dn!);
  const v = (name as string).toLowerCase();
  if (kind === 'dns') return t.value === '' || v === t.value || v.endsWith(`.${t.value!.replace(/^\./, '')}`);
  if (kind === 'email') {
    if (t.value!.includes('@')) return v === t.value;
    const host = v.slice(v.lastIndexOf('@') + 1);
    return t.value!.startsWith('.') ? host.endsWith(t.value!) : host === t.value;
  }
  let host: string;
  try {
    host = new URL(v).hostname;
  } catch {
    return false;
  }
  return t.value!.startsWith('.') ? host.endsWith(t.value!) : host === t.value;
}

/** The names of a certificate that constraints apply to (`withSubject`: false for self-issued intermediates). */
function namesOf(c: ParsedCertificate, withSubject: boolean): Array<[Kind, string | Rdns]> {
  const out: Array<[Kind, string | Rdns]> = [];
  if (withSubject && c.subject.length) out.push(['dn', c.subject]);
  for (const rdn of c.subject) for (const a of rdn) if (a.oid === EMAIL_OID && withSubject) out.push(['email', a.value]);
  for (const s of c.sans) {
    if (s.type === 'dns') out.push(['dns', s.value]);
    else if (s.type === 'email') out.push(['email', s.value]);
    else if (s.type === 'uri') out.push(['uri', s.value]);
  }
  for (const dn of c.sanDirectoryNames) out.push(['dn', dn]);
  return out;
}

/** The first name of `c` that a set of constraints forbids, described; undefined when all are allowed. */
export function violation(c: ParsedCertificate, sets: Constraints[], withSubject: boolean): string | undefined {
  // A malformed e-mail constraint, or a malformed e-mail name under e-mail constraints, cannot be judged: refused.
  const badMailbox = (v: string, base: boolean) => (v.match(/@/g) ?? []).length > 1 || (!base && !/^[^@]+@[^@]+$/.test(v));
  for (const set of sets) for (const t of [...set.permitted, ...set.excluded]) if (t.kind === 'email' && badMailbox(t.value!, true)) return `malformed rfc822Name constraint "${t.value}"`;
  const emailConstrained = sets.some((set) => [...set.permitted, ...set.excluded].some((t) => t.kind === 'email'));
  for (const [kind, name] of namesOf(c, withSubject)) {
    if (kind === 'email' && emailConstrained && badMailbox(name as string, false)) return `malformed e-mail name "${name as string}" under e-mail name constraints`;
    for (const set of sets) {
      const permitted = set.permitted.filter((t) => t.kind === kind);
      const shown = typeof name === 'string' ? name : name.map((r) => r.map((a) => `${a.type}=${a.value}`).join('+')).join(',');
      if (permitted.length && !permitted.some((t) => within(kind, name, t))) return `${kind} name "${shown}" is outside the permitted subtrees`;
      if (set.excluded.some((t) => t.kind === kind && within(kind, name, t))) return `${kind} name "${shown}" is in an excluded subtree`;
    }
  }
  return undefined;
}
