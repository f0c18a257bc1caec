/**
 * The CLI reads the files a command names and hands them to the use case as documents (src/app/documents.ts). A
 * document is read when the use case first asks for its bytes, so the use case's own checks of its inputs (a missing
 * or conflicting option) come first, as they would with any other caller. Every read is bounded
 * (src/fs/files.ts INPUT_LIMITS); its errors name the input field, which the renderer shows as the flag, and the file.
 */
import { resolve } from 'node:path';
import type { AnyDocument, CrlDocument, InputDocument } from '../app/documents.js';
import { FIELD } from './output/flags.js';
import { INPUT_LIMITS, readCrlFileAll, readDocumentFile, readInput, type DocumentInput } from '../fs/files.js';

/** An object whose property `key` is computed by `read` on first access, then kept. */
function lazy<K extends string, V>(name: string, key: K, read: () => V): { readonly name: string } & { readonly [k in K]: V } {
  let value: V | undefined;
  let done = false;
  return Object.defineProperty({ name }, key, {
    enumerable: true,
    get() {
      if (!done) {
        value = read();
        done = true;
      }
      return value;
    },
  }) as { readonly name: string } & { readonly [k in K]: V };
}

/** The label file errors carry: the typed input field (shown as its flag), or a positional's name as it is. */
const label = (field: string): string => (FIELD.test(field) ? `input.${field}` : field);

/** `path` (relative to `cwd`), at most `maxBytes`, for input field `field`. */
export function fileDocument(cwd: string, path: string, field: string, maxBytes: number = INPUT_LIMITS.default): InputDocument {
  return lazy(path, 'data', () => readInput(resolve(cwd, path), label(field), maxBytes));
}

/** `path` when given, else undefined. */
export function optionalFileDocument(cwd: string, path: string | undefined, field: string, maxBytes?: number): InputDocument | undefined {
  return path === undefined ? undefined : fileDocument(cwd, path, field, maxBytes);
}

/** A certificate, bundle, CSR (≤ 1 MiB) or a CRL (≤ 1 GiB, PEM decoded while it is read). */
export function anyFileDocument(cwd: string, path: string, field: string): AnyDocument {
  return lazy<'content', DocumentInput>(path, 'content', () => readDocumentFile(resolve(cwd, path), label(field), path));
}

/** CRL files (DER, or PEM with one or more "X509 CRL" blocks). */
export function crlFileDocuments(cwd: string, paths: readonly string[], field: string): CrlDocument[] {
  return paths.map((p) => lazy<'ders', Buffer[]>(p, 'ders', () => readCrlFileAll(resolve(cwd, p), label(field), p)));
}
