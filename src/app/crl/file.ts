/**
 * The CRL files of `pki crl generate`: reading a file back in pieces, hashing it, completing a CRL whose TBSCertList
 * was written first, and writing the output (DER as is, or PEM streamed).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { TAG } from '../../asn1/der.js';
import { tlvHeader } from '../../x509/crl.js';

/**
 * Completes a CRL file whose TBSCertList was written at offset `reserved` (room kept for the largest outer header):
 * appends `tail` (algorithm + signature) and writes the real outer header. When the real header is shorter than the
 * room kept (a short ECDSA signature that crosses a length boundary), the body is moved down once.
 */
export function finishCrlFile(fd: number, reserved: number, tbsLength: number, tail: Buffer): void {
  fs.writeSync(fd, tail, 0, tail.length, reserved + tbsLength);
  const total = tbsLength + tail.length;
  const header = tlvHeader(TAG.SEQUENCE, total);
  if (header.length === reserved) {
    fs.writeSync(fd, header, 0, header.length, 0);
    return;
  }
  const body = Buffer.alloc(total);
  fs.readSync(fd, body, 0, total, reserved);
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, Buffer.concat([header, body]), 0, header.length + total, 0);
}

/**
 * The file's bytes, `size` at a time, in one reused buffer: each piece is valid until the next one is read, so
 * consumers must use it at once (hash it, write it, bind it to a statement, which copies).
 */
export function* fileChunks(path: string, size: number): Generator<Buffer> {
  const fd = fs.openSync(path, 'r');
  const buf = Buffer.allocUnsafe(size);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, size, null);
      if (n === 0) return;
      yield n === size ? buf : buf.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function fileSha256(path: string): string {
  const h = crypto.createHash('sha256');
  for (const chunk of fileChunks(path, 1024 * 1024)) h.update(chunk);
  return h.digest('hex');
}

/** Writes the output file from the temporary DER: as is, or as PEM streamed 48 KiB (= 64 KiB of base64) at a time. */
export function writeOutputFile(derPath: string, outPath: string, format: 'pem' | 'der'): void {
  if (format === 'der') {
    fs.copyFileSync(derPath, outPath);
    return;
  }
  const rfd = fs.openSync(derPath, 'r');
  const wfd = fs.openSync(outPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
  try {
    fs.writeSync(wfd, '-----BEGIN X509 CRL-----\n');
    const buf = Buffer.alloc(48 * 1024);
    for (;;) {
      const n = fs.readSync(rfd, buf, 0, buf.length, null);
      if (n === 0) break;
      const b64 = buf.subarray(0, n).toString('base64');
      let text = '';
      for (let i = 0; i < b64.length; i += 64) text += `${b64.slice(i, i + 64)}\n`;
      fs.writeSync(wfd, text);
    }
    fs.writeSync(wfd, '-----END X509 CRL-----\n');
    fs.fsyncSync(wfd);
  } finally {
    fs.closeSync(rfd);
    fs.closeSync(wfd);
  }
}
