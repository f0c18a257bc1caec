/** PEM (RFC 7468) encoding and decoding. */
import { PkiError } from '../errors.js';

export interface PemBlock {
  label: string;
  der: Buffer;
}

/** PEM text for one DER object, 64-character lines, trailing newline. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Every PEM block in `text` (text between blocks is ignored, as RFC 7468 allows). */
export function decodePemBlocks(text: string, source: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m as unknown as [string, string, string, string];
    if (begin !== end) throw new PkiError('CRYPTO_BAD_PEM', `${source}: PEM block BEGIN ${begin} ends with END ${end}`, { details: { file: source } });
    const lines = body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    if (lines.some((l) => l.includes(':'))) {
      // RFC 1421 headers (e.g. legacy encrypted keys): keep only base64 after the blank line.
      throw new PkiError('CRYPTO_BAD_PEM', `${source}: PEM block ${begin} has RFC 1421 headers (legacy encryption), which are not supported`, {
        details: { file: source },
        hint: 'convert the key to PKCS#8: openssl pkcs8 -topk8 -in OLD -out NEW',
      });
    }
    const b64 = lines.join('');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0)
      throw new PkiError('CRYPTO_BAD_PEM', `${source}: PEM block ${begin} is not valid base64`, { details: { file: source } });
    out.push({ label: begin, der: Buffer.from(b64, 'base64') });
  }
  return out;
}

/**
 * Reads a single object of one of the `labels` from PEM text or raw DER bytes.
 * Throws CRYPTO_BAD_PEM naming `source` when nothing usable is found.
 */
export function readPemOrDer(data: Buffer, labels: readonly string[], source: string): Buffer {
  if (data.length > 0 && data[0] === 0x30) return data;
  const text = data.toString('latin1');
  if (!text.includes('-----BEGIN ')) {
    throw new PkiError('CRYPTO_BAD_PEM', `${source}: neither PEM nor DER (expected ${labels.join(' or ')})`, { details: { file: source } });
  }
  const blocks = decodePemBlocks(text, source).filter((b) => labels.includes(b.label));
  if (blocks.length === 0)
    throw new PkiError('CRYPTO_BAD_PEM', `${source}: no ${labels.join(' or ')} PEM block found`, { details: { file: source } });
  return blocks[0]!.der;
}
