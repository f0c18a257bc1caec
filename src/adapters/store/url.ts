/**
 * Store URLs: a SQLite file (a path, or sqlite:PATH), a PostgreSQL database (postgres:// or postgresql://), or an
 * in-memory store of this process (memory:NAME; not durable, for tests and library users).
 */
import { isAbsolute, resolve } from 'node:path';
import { PkiError } from '../../errors.js';

export type StoreKind = 'sqlite' | 'postgres' | 'memory';

export function storeKind(url: string): StoreKind {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  return /^memory:/i.test(url) ? 'memory' : 'sqlite';
}

/** The name of the in-memory database a `memory:NAME` URL names ('' for plain `memory:`). */
export function memoryName(url: string): string {
  return url.replace(/^memory:(\/\/)?/i, '');
}

/** The SQLite file a `sqlite:` URL or plain path names, absolute against `dir`. */
export function sqlitePath(url: string, dir: string): string {
  const path = url.replace(/^sqlite:(\/\/)?/i, '');
  if (!path) throw new PkiError('CONFIG_INVALID', `store URL "${url}" names no file`);
  return isAbsolute(path) ? path : resolve(dir, path);
}

/**
 * The password part of a URL's authority, as the WHATWG URL parser (and so node-postgres) reads it: the authority runs
 * up to the first "/", "?" or "#"; the user information up to its LAST "@" (a raw "@" may be in the password); the
 * password follows the first ":" of the user information. Undefined when the URL names no password.
 */
function passwordSpan(url: string): { start: number; end: number } | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!m) return undefined;
  const from = m[0].length;
  const stop = url.slice(from).search(/[/?#]/);
  const authority = stop < 0 ? url.slice(from) : url.slice(from, from + stop);
  const at = authority.lastIndexOf('@');
  const colon = authority.indexOf(':');
  if (at >= 0 && colon >= 0 && colon < at) return { start: from + colon + 1, end: from + at };
  // No password by those rules, yet USER:...@ further on: a "/", "?" or "#" in the password ended the authority
  // early (the URL then fails to parse, or names another host). What the user meant as the password is hidden too.
  const loose = /^[^:@/?#]*:/.exec(url.slice(from));
  const last = url.lastIndexOf('@');
  if (loose && last > from + loose[0].length) return { start: from + loose[0].length, end: last };
  return undefined;
}

/** The values of password= parameters in the URL's query string (node-postgres takes the password from there too). */
function queryPasswords(url: string): string[] {
  const out: string[] = [];
  const q = url.indexOf('?');
  if (q < 0) return out;
  const query = url.slice(q + 1).split('#')[0]!;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq >= 0 && part.slice(0, eq).toLowerCase() === 'password' && eq + 1 < part.length) out.push(part.slice(eq + 1));
  }
  return out;
}

/** The URL with its password (and any password= parameter) replaced by "***": the only form that is ever printed. */
export function redactUrl(url: string): string {
  const span = passwordSpan(url);
  let out = span ? `${url.slice(0, span.start)}***${url.slice(span.end)}` : url;
  const q = out.indexOf('?');
  if (q >= 0) out = out.slice(0, q) + out.slice(q).replace(/([?&]password=)[^&#]*/gi, '$1***');
  return out;
}

/** Removes every occurrence of the URL's password from a message (driver errors may quote the connection string). */
export function redactIn(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  const span = passwordSpan(url);
  const secrets = [...(span && span.end > span.start ? [url.slice(span.start, span.end)] : []), ...queryPasswords(url)];
  for (const secret of secrets) {
    out = out.split(secret).join('***');
    for (const decode of [decodeURIComponent, (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))]) {
      try {
        const decoded = decode(secret);
        if (decoded) out = out.split(decoded).join('***');
      } catch {
        /* not percent-encoded */
      }
    }
  }
  return out;
}
