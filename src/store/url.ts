/**
 * Store URLs: a SQLite file (a path, or sqlite:PATH), a PostgreSQL database (postgres:// or postgresql://), or an
 * in-memory store of this process (memory:NAME; not durable, for tests and library users).
 */
import { isAbsolute, resolve } from 'node:path';
import { PkiError } from '../errors.js';

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

/** The URL with its password (and any password= parameter) replaced by "***": the only form that is ever printed. */
export function redactUrl(url: string): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@');
  out = out.replace(/([?&]password=)[^&#]*/gi, '$1***');
  return out;
}

/** Removes every occurrence of the URL's password from a message (driver errors may quote the connection string). */
export function redactIn(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:([^@/?#]+)@/i.exec(url);
  if (m?.[1]) {
    out = out.split(m[1]).join('***');
    try {
      const decoded = decodeURIComponent(m[1]);
      if (decoded) out = out.split(decoded).join('***');
    } catch {
      /* not percent-encoded */
    }
  }
  return out;
}
