/**
 * What a use case is given instead of a path: a document's bytes and the name it is known by in messages (the file
 * name the operator gave, or "stdin"). Reading files — size limits, streaming a large CRL, the errors that name the
 * file and the flag — is the CLI's job (src/cli/documents.ts); a library caller passes bytes it already holds.
 */
import type { DocumentInput } from '../fs/files.js';

/** A small document (certificate, bundle, CSR, list, mapping): its bytes and its name. */
export interface InputDocument {
  readonly name: string;
  readonly data: Buffer;
}

/** A document of unknown kind: small bytes, or a large CRL whose DER was decoded while it was read. */
export interface AnyDocument {
  readonly name: string;
  readonly content: DocumentInput;
}

/** A CRL file: the DER of each CRL it holds (a PEM file may hold several). */
export interface CrlDocument {
  readonly name: string;
  readonly ders: readonly Buffer[];
}

/** A document from bytes held in memory (a library caller's convenience). */
export function documentOf(name: string, data: Buffer | Uint8Array | string): InputDocument {
  return { name, data: typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.isBuffer(data) ? data : Buffer.from(data) };
}
