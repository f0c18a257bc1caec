/**
 * The shapes of names the domain rules reason about (subjects and subject alternative names), as plain data. The
 * x509 layer encodes and decodes them (x509/name.ts, x509/extensions.ts re-export these types).
 */

/** One attribute of a relative distinguished name. */
export interface NameAttribute {
  /** Short name (CN, O, ...) or dotted OID when unknown. */
  type: string;
  oid: string;
  value: string;
}

/** A name as RDNs in DER order (least specific first); each RDN is one or more attributes. */
export type Rdns = NameAttribute[][];

export type SanType = 'dns' | 'email' | 'uri' | 'ip';
export interface San {
  type: SanType;
  value: string;
}
