/**
 * PEM (RFC 7468) encoding and decoding.
 *
 * The decoder is one pass over the bytes (a state machine, no regular expression and no backtracking), so its cost
 * is linear in the input whatever the input holds, and it can be fed a file chunk by chunk (`PemDecoder`) with
 * memory bounded by the decoded blocks it keeps. It is strict where RFC 7468 §2-§3 asks parsers to be:
 * - encapsulation boundaries start a line: `-----BEGIN LABEL-----` ... `-----END LABEL-----`, same LABEL, the
 *   label made of the characters §3 allows; a BEGIN inside a block, an END outside one, or a block without its END
 *   is an error;
 * - between the boundaries only the base64 alphabet, `=` padding at the very end, and whitespace (ignored, as the
 *   lax parsing of §2 allows); RFC 1421 headers (legacy encrypted keys) are refused with a hint;
 * - explanatory text outside the blocks is allowed and ignored (§5.2), but a line there that starts with
 *   `-----BEGIN ` must be a valid boundary.
 */
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

/** Longest boundary line read (RFC 7468 labels are short: "ENCRYPTED PRIVATE KEY" is the longest in use). */
const MAX_BOUNDARY = 256;

/** base64 value of each byte; -1 not in the alphabet, -2 whitespace (ignored), -3 '=', -4 newline, -5 ':'. */
const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
B64[0x20] = B64[0x09] = B64[0x0d] = B64[0x0b] = B64[0x0c] = -2;
B64[0x3d] = -3;
B64[0x0a] = -4;
B64[0x3a] = -5;

/** RFC 7468 §3: label = [ labelchar *( ["-" / SP] labelchar ) ], labelchar = %x21-2C / %x2E-7E. */
function validLabel(label: string): boolean {
  if (label === '') return true;
  const isChar = (c: number) => (c >= 0x21 && c <= 0x2c) || (c >= 0x2e && c <= 0x7e);
  if (!isChar(label.charCodeAt(0)) || !isChar(label.charCodeAt(label.length - 1))) return false;
  for (let i = 1; i < label.length - 1; i++) {
    const c = label.charCodeAt(i);
    if (!isChar(c) && !((c === 0x2d || c === 0x20) && isChar(label.charCodeAt(i + 1)))) return false;
  }
  return true;
}

export interface PemDecoderOptions {
  /** Which blocks to decode and return (default all); the others are checked but their bytes are not kept. */
  keep?: (label: string, index: number) => boolean;
  /** Called at each BEGIN boundary, before its content is read (may throw to stop reading). */
  onBegin?: (label: string, index: number) => void;
  /** Upper bound on a kept block's decoded size, if known (e.g. 3/4 of the file size): avoids regrowing. */
  capacityHint?: number;
}

const enum State {
  /** Start of a line outside a block. */
  TextLineStart,
  /** A line outside a block that may be a boundary (starts with '-'): collecting it. */
  TextBoundary,
  /** The rest of an explanatory text line: skipped. */
  TextSkip,
  /** Start of a line inside a block. */
  BodyLineStart,
  /** Base64 content inside a block. */
  Body,
  /** A line inside a block starting with '-': the END boundary, collecting it. */
  BodyBoundary,
  /** A line inside a block with a byte outside base64: read to its end to name the problem. */
  BodyBadLine,
}

/**
 * Streaming PEM decoder: `push()` chunks of the file as they are read, then `end()` returns the kept blocks.
 * Throws CRYPTO_BAD_PEM naming `source` (and the line) on the first violation.
 */
export class PemDecoder {
  private state = State.TextLineStart;
  private line = 1;
  private boundary: number[] = [];
  private label = '';
  private blocks: PemBlock[] = [];
  private index = 0;
  private keeping = false;
  private out: Buffer = Buffer.alloc(0);
  private outLen = 0;
  private quantum = 0;
  private quantumLen = 0;
  private pad = 0;
  /** Set when a base64 quantum has been closed by padding: only whitespace may follow. */
  private padded = false;
  private sawBlock = false;
  private badByte = 0;
  private badLineLeft = 0;

  constructor(
    private readonly source: string,
    private readonly opts: PemDecoderOptions = {},
  ) {}

  /** True once any BEGIN boundary has been seen. */
  get foundBlock(): boolean {
    return this.sawBlock;
  }

  private fail(message: string, hint?: string): never {
    throw new PkiError('CRYPTO_BAD_PEM', `${this.source}: ${message} (line ${this.line})`, { details: { file: this.source, line: this.line }, ...(hint ? { hint } : {}) });
  }

  private boundaryText(): string {
    let s = '';
    for (const c of this.boundary) s += String.fromCharCode(c);
    return s.replace(/[ \t\r\v\f]+$/, '');
  }

  /** The label of a `-----KIND LABEL-----` line, or undefined when the line is not one. */
  private parseBoundary(kind: 'BEGIN' | 'END', text: string): string | undefined {
    const head = `-----${kind} `;
    if (!text.startsWith(head) || !text.endsWith('-----') || text.length < head.length + 5) {
      if (text === `-----${kind}-----`) return '';
      return undefined;
    }
    const label = text.slice(head.length, text.length - 5);
    return validLabel(label) ? label : undefined;
  }

  private beginBlock(label: string): void {
    const index = this.index++;
    this.sawBlock = true;
    this.opts.onBegin?.(label, index);
    this.label = label;
    this.keeping = this.opts.keep ? this.opts.keep(label, index) : true;
    this.outLen = 0;
    this.quantum = 0;
    this.quantumLen = 0;
    this.pad = 0;
    this.padded = false;
    if (this.keeping) this.out = Buffer.allocUnsafe(Math.max(64, Math.min(this.opts.capacityHint ?? 4096, 1 << 30)));
  }

  private endBlock(): void {
    if (this.quantumLen !== 0) this.fail(`PEM block ${this.label} is not valid base64 (its length is not a multiple of 4)`);
    if (this.keeping) {
      // A large spare capacity is given back by copying; a tight one is kept as a view.
      const der = this.out.length > 2 * this.outLen + 4096 ? Buffer.from(this.out.subarray(0, this.outLen)) : this.out.subarray(0, this.outLen);
      this.blocks.push({ label: this.label, der });
    }
    this.out = Buffer.alloc(0);
  }

  private emit(bytes: number): void {
    if (!this.keeping) return;
    if (this.outLen + 3 > this.out.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, 64));
      this.out.copy(grown, 0, 0, this.outLen);
      this.out = grown;
    }
    const q = this.quantum;
    this.out[this.outLen] = (q >>> 16) & 0xff;
    if (bytes > 1) this.out[this.outLen + 1] = (q >>> 8) & 0xff;
    if (bytes > 2) this.out[this.outLen + 2] = q & 0xff;
    this.outLen += bytes;
  }

  /** Ends a boundary line (at a newline or the end of input). */
  private closeBoundary(inBlock: boolean): void {
    const text = this.boundaryText();
    this.boundary = [];
    if (!inBlock) {
      if (text.startsWith('-----BEGIN ') || text === '-----BEGIN-----') {
        const label = this.parseBoundary('BEGIN', text);
        if (label === undefined) this.fail(`malformed PEM BEGIN line "${text.slice(0, 80)}"`);
        this.beginBlock(label);
        this.state = State.BodyLineStart;
        return;
      }
      if (text.startsWith('-----END ') || text === '-----END-----') this.fail(`"${text.slice(0, 80)}" without a BEGIN line before it`);
      this.state = State.TextLineStart;
      return;
    }
    if (text.startsWith('-----BEGIN ')) this.fail(`a BEGIN line inside the PEM block ${this.label} (its END line is missing)`);
    const label = this.parseBoundary('END', text);
    if (label === undefined) this.fail(`PEM block ${this.label} is not valid base64 (unexpected line "${text.slice(0, 80)}")`);
    if (label !== this.label) this.fail(`PEM block BEGIN ${this.label} ends with END ${label}`);
    this.endBlock();
    this.state = State.TextLineStart;
  }

  /** One byte between the boundaries: base64, padding, whitespace or a newline. */
  private bodyByte(c: number): void {
    const v = B64[c]!;
    if (v >= 0) {
      if (this.pad > 0) this.fail(`PEM block ${this.label} is not valid base64 (data after "=" padding)`);
      this.quantum = (this.quantum << 6) | v;
      if (++this.quantumLen === 4) {
        this.emit(3);
        this.quantum = 0;
        this.quantumLen = 0;
      }
    } else if (v === -4) {
      this.line++;
      this.state = State.BodyLineStart;
    } else if (v === -2) {
      /* whitespace */
    } else if (v === -3) {
      // '=' pads the last quantum: "xx==" or "xxx=".
      if (this.padded || this.quantumLen < 2) this.fail(`PEM block ${this.label} is not valid base64 (misplaced "=")`);
      this.pad++;
      this.quantum <<= 6;
      if (++this.quantumLen === 4) {
        this.emit(3 - this.pad);
        this.quantum = 0;
        this.quantumLen = 0;
        this.padded = true;
      }
    } else if (v === -5) this.failHeaders();
    else if (c < 0x20 || c > 0x7e) this.fail(`PEM block ${this.label} is not valid base64 (byte 0x${c.toString(16).padStart(2, '0')})`);
    else {
      // Printable but not base64: the next bytes of the line decide the message (an RFC 1421 header such as
      // "Proc-Type: 4,ENCRYPTED" has a ':' early in the line), the same in any chunking.
      this.badByte = c;
      this.badLineLeft = 64;
      this.state = State.BodyBadLine;
    }
  }

  private failHeaders(): never {
    this.fail(`PEM block ${this.label} has RFC 1421 headers (legacy encryption), which are not supported`, 'convert the key to PKCS#8: openssl pkcs8 -topk8 -in OLD -out NEW');
  }

  private failBadByte(): never {
    this.fail(`PEM block ${this.label} is not valid base64 (byte 0x${this.badByte.toString(16).padStart(2, '0')})`);
  }

  /**
   * The fast path for large blocks (a 1M-entry CRL is 47 MB of PEM): the whole lines of `chunk` from `i` (at the
   * start of a line, no quantum pending) up to the next '-' are decoded natively, and accepted only when every
   * byte but the newlines was a base64 digit (Node's decoder skips other bytes, so the decoded length tells; '_' and
   * '-', which it reads as base64url, are excluded first). Returns the offset after the decoded lines, or `i` when
   * the slow path must decide (padding, other whitespace, bad bytes: the same results and messages).
   */
  private wholeLines(chunk: Uint8Array, i: number): number {
    // At most 64 KiB at a time: the text stays a small (young) string, which costs less than a large one.
    const view = chunk.subarray(i, Math.min(chunk.length, i + 65536));
    let limit = view.indexOf(0x2d);
    if (limit < 0) limit = view.length;
    if (limit === 0) return i;
    const last = view.lastIndexOf(0x0a, limit - 1);
    if (last < 0) return i;
    const end = i + last + 1;
    const underscore = view.indexOf(0x5f);
    if (underscore >= 0 && underscore <= last) return i;
    // Lines of one width (as PEM writers make them) are counted by checking every (width+1)th byte; any other
    // newline in between is skipped by the decoder and so caught by the length check below.
    const width = chunk.indexOf(0x0a, i) - i;
    let lines = 0;
    if (width > 0 && (end - i) % (width + 1) === 0) {
      for (let p = i + width; p < end; p += width + 1) {
        if (chunk[p] !== 0x0a) return i;
        lines++;
      }
    } else for (let p = chunk.indexOf(0x0a, i); p >= 0 && p < end; p = chunk.indexOf(0x0a, p + 1)) lines++;
    const digits = end - i - lines;
    if (digits % 4 !== 0) return i;
    const want = (digits / 4) * 3;
    if (this.outLen + want > this.out.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLen + want));
      this.out.copy(grown, 0, 0, this.outLen);
      this.out = grown;
    }
    const text = Buffer.from(chunk.buffer, chunk.byteOffset + i, end - i).toString('latin1');
    if (this.out.write(text, this.outLen, want, 'base64') !== want) return i;
    this.outLen += want;
    this.line += lines;
    return end;
  }

  /** Feeds the next bytes of the input. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i]!;
      switch (this.state) {
        case State.TextLineStart:
          if (c === 0x0a) this.line++;
          else if (c === 0x2d) {
            this.boundary.push(c);
            this.state = State.TextBoundary;
          } else this.state = State.TextSkip;
          break;
        case State.TextSkip: {
          // Explanatory text: jump to the end of the line.
          const nl = chunk.indexOf(0x0a, i);
          if (nl < 0) i = n;
          else {
            i = nl;
            this.line++;
            this.state = State.TextLineStart;
          }
          break;
        }
        case State.TextBoundary:
        case State.BodyBoundary:
          if (c === 0x0a) {
            this.closeBoundary(this.state === State.BodyBoundary);
            this.line++;
          } else if (this.boundary.length >= MAX_BOUNDARY) {
            if (this.state === State.BodyBoundary) this.fail(`PEM block ${this.label} has an overlong line starting with "-"`);
            // Outside a block a long line of dashes is only text, unless it claims to be a boundary.
            if (this.boundaryText().startsWith('-----BEGIN ') || this.boundaryText().startsWith('-----END ')) this.fail('overlong PEM boundary line');
            this.boundary = [];
            this.state = State.TextSkip;
            i--;
          } else this.boundary.push(c);
          break;
        case State.BodyLineStart:
          if (c !== 0x2d && this.quantumLen === 0 && !this.padded && this.keeping) {
            const j = this.wholeLines(chunk, i);
            if (j > i) {
              i = j - 1;
              break;
            }
          }
          if (c === 0x2d) {
            this.boundary.push(c);
            this.state = State.BodyBoundary;
          } else {
            this.state = State.Body;
            this.bodyByte(c);
          }
          break;
        case State.Body:
          this.bodyByte(c);
          break;
        case State.BodyBadLine:
          if (c === 0x3a) this.failHeaders();
          if (c === 0x0a || c < 0x20 || c > 0x7e || --this.badLineLeft === 0) this.failBadByte();
          break;
      }
    }
  }

  /** Ends the input: returns the kept blocks. */
  end(): PemBlock[] {
    if (this.state === State.TextBoundary) this.closeBoundary(false);
    else if (this.state === State.BodyBoundary) this.closeBoundary(true);
    else if (this.state === State.BodyBadLine) this.failBadByte();
    if (this.state === State.Body || this.state === State.BodyLineStart) this.fail(`PEM block ${this.label} has no END line`);
    return this.blocks;
  }
}

/** Every PEM block in `text` (explanatory text between blocks is ignored, as RFC 7468 allows). Linear time. */
export function decodePemBlocks(text: string | Uint8Array, source: string): PemBlock[] {
  const d = new PemDecoder(source);
  d.push(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  return d.end();
}

/** True when `data` looks like PEM (holds a line starting with "-----BEGIN"), rather than DER. */
export function looksLikePem(data: Uint8Array): boolean {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return b.indexOf('-----BEGIN') >= 0;
}

/**
 * Reads a single object of one of the `labels` from PEM text or raw DER bytes.
 * Throws CRYPTO_BAD_PEM naming `source` when nothing usable is found.
 */
export function readPemOrDer(data: Buffer, labels: readonly string[], source: string): Buffer {
  if (data.length > 0 && data[0] === 0x30) return data;
  if (!looksLikePem(data)) {
    throw new PkiError('CRYPTO_BAD_PEM', `${source}: neither PEM nor DER (expected ${labels.join(' or ')})`, { details: { file: source } });
  }
  const blocks = decodePemBlocks(data, source).filter((b) => labels.includes(b.label));
  if (blocks.length === 0)
    throw new PkiError('CRYPTO_BAD_PEM', `${source}: no ${labels.join(' or ')} PEM block found`, { details: { file: source } });
  return blocks[0]!.der;
}
