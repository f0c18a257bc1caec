/**
 * The PKCS#11 key store: CA and workload keys that live on a token (an HSM, a smart card, SoftHSM2) and never leave it.
 * References are RFC 7512 URIs (./pkcs11-uri.ts). Built on `pkcs11js` (a thin binding of the Cryptoki C API): every
 * attribute of a generated key is ours to set (CKA_TOKEN, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_PRIVATE, CKA_LABEL,
 * CKA_ID), and C_Sign runs in libuv's thread pool, so several sessions sign at once.
 *
 * - Keys are generated on the token: sensitive, never extractable, private; labelled with the CA name; CKA_ID = the
 *   key identifier (SHA-256 of the public key, truncated to 20 bytes, the SKI of its certificates).
 * - Signing hashes here and asks the token for the raw operation (CKM_ECDSA on the digest, CKM_RSA_PKCS on a
 *   DigestInfo): the two mechanisms every token has. ECDSA's r||s is re-encoded as DER Ecdsa-Sig-Value.
 * - Sessions are pooled per token (one login per token and process; two sessions per core, at least 4).
 * - Errors: CRYPTO_TOKEN_* (exit 7) naming the CKR_ code; the PIN is never in a message, a log or the store.
 */
import * as crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as P from 'pkcs11js';
import { PkiError } from '../../errors.js';
import { readInput } from '../../fs/files.js';
import { signatureAlgorithmFor, type KeyType, type SignatureAlgorithm } from '../../crypto/keys.js';
import type { Deps } from '../../ports.js';
import type { GeneratedKey, Signer } from '../../ports/signer.js';
import { keyIdentifier } from '../../x509/extensions.js';
import { parseCertificate } from '../../x509/certificate.js';
import { assertNoPinValue, formatPkcs11Uri, parsePkcs11Uri, redactPkcs11Uri, shownPkcs11Ref, type Pkcs11Uri } from './pkcs11-uri.js';

export { formatPkcs11Uri, parsePkcs11Uri, redactPkcs11Uri, shownPkcs11Ref, type Pkcs11Uri } from './pkcs11-uri.js';

/** The environment variables pki reads for token defaults. */
export const PKCS11_PIN_ENV = 'PKI_PKCS11_PIN';
export const PKCS11_MODULE_ENV = 'PKI_PKCS11_MODULE';

/** The key types a token key may have here. */
export const PKCS11_KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;

type Lib = typeof P;
let libCache: Lib | undefined;
function lib(): Lib {
  if (libCache) return libCache;
  try {
    libCache = createRequire(import.meta.url)('pkcs11js') as Lib;
  } catch (e) {
    throw new PkiError('CRYPTO_TOKEN_UNAVAILABLE', `PKCS#11 support is not installed (the pkcs11js module did not load: ${(e as Error).message})`, {
      cause: e,
      hint: 'reinstall pki with a C++ compiler available (pkcs11js builds with node-gyp)',
    });
  }
  return libCache;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** The CKR_ name of a pkcs11js error, or undefined for anything else. */
function ckrOf(e: unknown): string | undefined {
  const m = /\b(CKR_[A-Z0-9_]+)/.exec(e instanceof Error ? `${e.message}` : '');
  return m?.[1];
}

const CKR_CODES: Record<string, string> = {
  CKR_PIN_INCORRECT: 'CRYPTO_TOKEN_PIN_INCORRECT',
  CKR_PIN_INVALID: 'CRYPTO_TOKEN_PIN_INCORRECT',
  CKR_PIN_LEN_RANGE: 'CRYPTO_TOKEN_PIN_INCORRECT',
  CKR_PIN_LOCKED: 'CRYPTO_TOKEN_LOCKED',
  CKR_PIN_EXPIRED: 'CRYPTO_TOKEN_PIN_EXPIRED',
  CKR_SESSION_COUNT: 'CRYPTO_TOKEN_OUT_OF_SESSIONS',
  CKR_TOKEN_NOT_PRESENT: 'CRYPTO_TOKEN_NOT_FOUND',
  CKR_TOKEN_NOT_RECOGNIZED: 'CRYPTO_TOKEN_NOT_FOUND',
  CKR_DEVICE_REMOVED: 'CRYPTO_TOKEN_NOT_FOUND',
  CKR_SLOT_ID_INVALID: 'CRYPTO_TOKEN_NOT_FOUND',
  CKR_USER_NOT_LOGGED_IN: 'CRYPTO_TOKEN_NOT_LOGGED_IN',
  CKR_DEVICE_MEMORY: 'CRYPTO_TOKEN_FULL',
  CKR_TOKEN_WRITE_PROTECTED: 'CRYPTO_TOKEN_READ_ONLY',
};

/** A PkiError for a failed token call: CRYPTO_TOKEN_* (exit 7), the CKR_ code named in the message and details. */
export function tokenError(e: unknown, what: string, details: Record<string, unknown> = {}): PkiError {
  if (e instanceof PkiError) return e;
  const ckr = ckrOf(e);
  const code = (ckr && CKR_CODES[ckr]) ?? 'CRYPTO_TOKEN_ERROR';
  const hint =
    code === 'CRYPTO_TOKEN_PIN_INCORRECT'
      ? 'check the PIN source (pin-source in the URI, keys.pkcs11.pinSource in pki.yaml, PKI_PKCS11_PIN); each wrong PIN brings the token closer to locking'
      : code === 'CRYPTO_TOKEN_LOCKED'
        ? 'the user PIN is locked: the token officer must unlock it (e.g. softhsm2-util / the HSM vendor tool)'
        : code === 'CRYPTO_TOKEN_OUT_OF_SESSIONS'
          ? 'the token has no session left: stop other users of the token, or raise its session limit'
          : undefined;
  return new PkiError(code, `${what}: ${ckr ?? (e as Error)?.message ?? String(e)}`, { details: { ...details, ...(ckr ? { ckr } : {}) }, cause: e, ...(hint ? { hint } : {}) });
}

// ---------------------------------------------------------------------------------------------------------------
// Modules, tokens, sessions

interface Module {
  path: string;
  p11: P.PKCS11;
}
const modules = new Map<string, Module>();
const tokens = new Map<string, Token>();

function initialize(m: Module): void {
  const L = lib();
  try {
    m.p11.C_Initialize({ flags: L.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckrOf(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw tokenError(e, `PKCS#11 module ${m.path}: C_Initialize failed`, { module: m.path });
  }
}

function loadModule(path: string): Module {
  const known = modules.get(path);
  if (known) return known;
  if (!existsSync(path))
    throw new PkiError('CRYPTO_TOKEN_MODULE_NOT_FOUND', `the PKCS#11 module ${path} does not exist`, {
      details: { module: path },
      hint: 'give module-path=/path/to/the/vendor/library.so in the URI, keys.pkcs11.module in pki.yaml, or PKI_PKCS11_MODULE',
    });
  const p11 = new (lib().PKCS11)();
  try {
    p11.load(path);
  } catch (e) {
    throw new PkiError('CRYPTO_TOKEN_MODULE_UNLOADABLE', `the PKCS#11 module ${path} could not be loaded: ${(e as Error).message}`, { details: { module: path }, cause: e });
  }
  const m = { path, p11 };
  initialize(m);
  modules.set(path, m);
  return m;
}

/** Trims the blank padding of CK_UTF8CHAR fields. */
const trim = (s: string): string => s.replace(/[\s\0]+$/, '');

/** A token reached through one module: its slot, its login state and a pool of sessions. */
class Token {
  readonly idle: P.Handle[] = [];
  open = 0;
  readonly waiters: Array<(s: P.Handle) => void> = [];
  /** Salted hash of the PIN this process logged in with (never the PIN). */
  loginHash: Buffer | undefined;
  loggedInWithoutPin = false;
  readonly salt = crypto.randomBytes(16);
  max: number;

  constructor(
    readonly module: Module,
    readonly slot: P.Handle,
    readonly info: P.TokenInfo,
  ) {
    const limit = info.maxSessionCount > 0 && info.maxSessionCount < 2 ** 31 ? info.maxSessionCount : Infinity;
    // Two sessions per core: while one session's C_Sign runs in the thread pool, another's C_SignInit runs here.
    this.max = Math.max(1, Math.min(limit, 2 * Math.max(2, availableParallelism())));
  }

  get label(): string {
    return trim(this.info.label);
  }

  private openSession(rw = false): P.Handle {
    const L = lib();
    try {
      return this.module.p11.C_OpenSession(this.slot, L.CKF_SERIAL_SESSION | (rw ? L.CKF_RW_SESSION : 0));
    } catch (e) {
      throw tokenError(e, `token ${this.label}: cannot open a session`, { token: this.label, module: this.module.path });
    }
  }

  /** A session of the pool (opened when fewer than `max` exist, else the next one released). */
  async acquire(): Promise<P.Handle> {
    const s = this.idle.pop();
    if (s !== undefined) return s;
    if (this.open < this.max) {
      try {
        const h = this.openSession();
        this.open++;
        return h;
      } catch (e) {
        // Out of sessions with some of ours in use: the pool stays at its size, and this caller waits for one of them.
        if (!(e instanceof PkiError && e.code === 'CRYPTO_TOKEN_OUT_OF_SESSIONS' && this.open > 0)) throw e;
        this.max = this.open;
      }
    }
    return new Promise((r) => this.waiters.push(r));
  }

  release(s: P.Handle): void {
    const w = this.waiters.shift();
    if (w) w(s);
    else this.idle.push(s);
  }

  /** Runs `fn` with a pooled session. */
  async withSession<T>(fn: (s: P.Handle) => Promise<T> | T): Promise<T> {
    const s = await this.acquire();
    try {
      return await fn(s);
    } finally {
      this.release(s);
    }
  }

  /** Runs `fn` in a read-write session (object creation and removal), closed afterwards. */
  withRwSession<T>(fn: (s: P.Handle) => T): T {
    const s = this.openSession(true);
    try {
      return fn(s);
    } finally {
      try {
        this.module.p11.C_CloseSession(s);
      } catch {
        /* closing is best effort */
      }
    }
  }

  /** Closes every session of this token (which logs out). */
  closeAll(): void {
    for (const s of this.idle.splice(0)) {
      try {
        this.module.p11.C_CloseSession(s);
      } catch {
        /* ignore */
      }
    }
    this.open = 0;
    this.loginHash = undefined;
    this.loggedInWithoutPin = false;
  }
}

/** Does token `info` in slot `slot` match the URI's token attributes? */
function tokenMatches(uri: Pkcs11Uri, slot: P.Handle, slotInfo: P.SlotInfo | undefined, info: P.TokenInfo): boolean {
  if (uri.token !== undefined && trim(info.label) !== uri.token) return false;
  if (uri.manufacturer !== undefined && trim(info.manufacturerID) !== uri.manufacturer) return false;
  if (uri.serial !== undefined && trim(info.serialNumber) !== uri.serial) return false;
  if (uri.model !== undefined && trim(info.model) !== uri.model) return false;
  if (uri.slotId !== undefined && slot.readUIntLE(0, Math.min(6, slot.length)) !== uri.slotId) return false;
  if (uri.slotDescription !== undefined && trim(slotInfo?.slotDescription ?? '') !== uri.slotDescription) return false;
  if (uri.slotManufacturer !== undefined && trim(slotInfo?.manufacturerID ?? '') !== uri.slotManufacturer) return false;
  return true;
}

function findToken(m: Module, uri: Pkcs11Uri, shown: string): Token {
  const L = lib();
  const scan = (): { matches: Array<{ slot: P.Handle; info: P.TokenInfo }>; labels: string[] } => {
    const matches: Array<{ slot: P.Handle; info: P.TokenInfo }> = [];
    const labels: string[] = [];
    let slots: P.Handle[];
    try {
      slots = m.p11.C_GetSlotList(true);
    } catch (e) {
      throw tokenError(e, `PKCS#11 module ${m.path}: cannot list its slots`, { module: m.path });
    }
    for (const slot of slots) {
      let info: P.TokenInfo;
      let slotInfo: P.SlotInfo | undefined;
      try {
        info = m.p11.C_GetTokenInfo(slot);
        slotInfo = m.p11.C_GetSlotInfo(slot);
      } catch {
        continue;
      }
      if (!(info.flags & L.CKF_TOKEN_INITIALIZED)) continue;
      labels.push(trim(info.label));
      if (tokenMatches(uri, slot, slotInfo, info)) matches.push({ slot, info });
    }
    return { matches, labels };
  };
  let found = scan();
  // A module reads its token list when initialised: a token created since is seen after a re-initialisation, done
  // only while no session of this module is open.
  if (!found.matches.length && ![...tokens.values()].some((t) => t.module === m && t.open > 0)) {
    for (const [k, t] of tokens) if (t.module === m) tokens.delete(k);
    try {
      m.p11.C_Finalize();
    } catch {
      /* re-initialised below */
    }
    initialize(m);
    found = scan();
  }
  if (!found.matches.length)
    throw new PkiError('CRYPTO_TOKEN_NOT_FOUND', `no token matching ${shown} in PKCS#11 module ${m.path} (tokens: ${found.labels.join(', ') || 'none'})`, {
      details: { ref: shown, module: m.path, tokens: found.labels },
      hint: 'check token=... in the URI (the token label), and that the token is initialised and present',
    });
  if (found.matches.length > 1)
    throw new PkiError('CRYPTO_TOKEN_AMBIGUOUS', `${found.matches.length} tokens match ${shown} in ${m.path}: add serial=... or slot-id=... to the URI`, {
      details: { ref: shown, module: m.path },
    });
  const { slot, info } = found.matches[0]!;
  const key = `${m.path}\0${slot.toString('hex')}`;
  let t = tokens.get(key);
  if (!t) tokens.set(key, (t = new Token(m, slot, info)));
  return t;
}

/** Sessions this process has open per token label (the pool's size so far). */
export function pkcs11Sessions(): Record<string, number> {
  return Object.fromEntries([...tokens.values()].map((t) => [t.label, t.open]));
}

/** Closes every session this process holds on every token (a logout) and finalises the modules. For tests. */
export function closePkcs11(): void {
  for (const t of tokens.values()) t.closeAll();
  tokens.clear();
  for (const m of modules.values()) {
    try {
      m.p11.C_Finalize();
    } catch {
      /* ignore */
    }
  }
  modules.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// Key store

export interface Pkcs11Defaults {
  /** pki.yaml keys.pkcs11.module */
  module?: string;
  /** pki.yaml keys.pkcs11.pinSource */
  pinSource?: string;
}

export interface Pkcs11KeyStoreOptions {
  deps: Pick<Deps, 'env' | 'cwd' | 'interactive' | 'promptSecret'>;
  defaults?: Pkcs11Defaults;
  /** Relative module and PIN-file paths of pki.yaml resolve against this directory (default: the current directory). */
  baseDir?: string;
  /**
   * Where this node's module is set, for the USAGE_PKCS11_MODULE_REQUIRED message: 'config' (pki.yaml
   * keys.pkcs11.module, the default) or a flag such as '--pkcs11-lib' (workload commands, which have no pki.yaml).
   */
  moduleFrom?: 'config' | `input.${string}`;
  /** How `defaults.pinSource` is named in messages (default "pki.yaml keys.pkcs11"; e.g. "input.pkcs11PinSource"). */
  pinSourceFrom?: string;
}

/** The module a token key opens with on this node (pki.yaml keys.pkcs11.module, else $PKI_PKCS11_MODULE), or undefined. */
export function nodeModule(opts: Pick<Pkcs11KeyStoreOptions, 'deps' | 'defaults' | 'baseDir'>): string | undefined {
  if (opts.defaults?.module) return resolve(opts.baseDir ?? opts.deps.cwd, opts.defaults.module);
  const env = opts.deps.env[PKCS11_MODULE_ENV];
  return env ? resolve(opts.deps.cwd, env) : undefined;
}

/**
 * A reference as read from the store: only the token and the key count. module-path, module-name and pin-source
 * are ignored (an older reference may carry them): which library this node loads and which file it reads as the PIN
 * are this node's choice (pki.yaml, the environment, a prompt), never a database row's.
 */
export function storedRef(uri: Pkcs11Uri): Pkcs11Uri {
  const { modulePath: _m, moduleName: _n, pinSource: _s, ...rest } = uri;
  return { ...rest, vendor: [...uri.vendor] };
}

const EC_CURVES: Record<string, { keyType: KeyType; crv: string; size: number; params: Buffer }> = {
  '06082a8648ce3d030107': { keyType: 'ecdsa-p256', crv: 'P-256', size: 32, params: Buffer.from('06082a8648ce3d030107', 'hex') },
  '06052b81040022': { keyType: 'ecdsa-p384', crv: 'P-384', size: 48, params: Buffer.from('06052b81040022', 'hex') },
  '06052b81040023': { keyType: 'ecdsa-p521', crv: 'P-521', size: 66, params: Buffer.from('06052b81040023', 'hex') },
};
const curveFor = (kt: KeyType) => Object.values(EC_CURVES).find((c) => c.keyType === kt);

/** DigestInfo prefixes (RFC 8017 §9.2 note 1) for CKM_RSA_PKCS. */
const DIGEST_INFO: Record<string, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/** An unsigned big-endian integer as DER INTEGER content. */
function derInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  const body = v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v;
  return Buffer.concat([Buffer.from([0x02]), derLen(body.length), body]);
}
function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
/** PKCS#11 ECDSA signatures are r||s; X.509 wants a DER Ecdsa-Sig-Value. */
export function rawEcdsaToDer(raw: Buffer): Buffer {
  const n = raw.length / 2;
  const body = Buffer.concat([derInt(raw.subarray(0, n)), derInt(raw.subarray(n))]);
  return Buffer.concat([Buffer.from([0x30]), derLen(body.length), body]);
}

/** CKA_EC_POINT is a DER OCTET STRING around the point (some tokens return the bare point). */
function ecPoint(value: Buffer, size: number): Buffer {
  if (value.length === 2 * size + 1 && value[0] === 0x04) return value;
  if (value[0] === 0x04) {
    let p = 1;
    let len = value[p++]!;
    if (len & 0x80) {
      const k = len & 0x7f;
      len = value.readUIntBE(p, k);
      p += k;
    }
    const inner = value.subarray(p, p + len);
    if (inner.length === 2 * size + 1 && inner[0] === 0x04) return inner;
  }
  throw new PkiError('CRYPTO_TOKEN_BAD_KEY', 'the token returned an EC public key pki cannot read (not an uncompressed point)');
}

const b64u = (b: Buffer): string => b.toString('base64url');

function ecSpki(params: Buffer, point: Buffer): Buffer {
  const curve = EC_CURVES[params.toString('hex')];
  if (!curve) throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `the token key is on a curve pki does not support (EC params ${params.toString('hex')}); use P-256, P-384 or P-521`);
  const pt = ecPoint(point, curve.size);
  return crypto
    .createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64u(pt.subarray(1, 1 + curve.size)), y: b64u(pt.subarray(1 + curve.size)) }, format: 'jwk' })
    .export({ format: 'der', type: 'spki' });
}

function rsaSpki(modulus: Buffer, exponent: Buffer): Buffer {
  const strip = (b: Buffer) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i);
  };
  return crypto.createPublicKey({ key: { kty: 'RSA', n: b64u(strip(modulus)), e: b64u(strip(exponent)) }, format: 'jwk' }).export({ format: 'der', type: 'spki' });
}

function keyTypeOfSpki(spki: Buffer): KeyType | undefined {
  const k = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const d = k.asymmetricKeyDetails ?? {};
  if (k.asymmetricKeyType === 'ec') return ({ prime256v1: 'ecdsa-p256', secp384r1: 'ecdsa-p384', secp521r1: 'ecdsa-p521' } as Record<string, KeyType>)[d.namedCurve ?? ''];
  if (k.asymmetricKeyType === 'rsa') return (PKCS11_KEY_TYPES as readonly string[]).includes(`rsa-${d.modulusLength}`) ? (`rsa-${d.modulusLength}` as KeyType) : undefined;
  return undefined;
}

/** A token key ready to sign: what `open` returns, with signing under another hash (AWS4-X509 always uses SHA-256). */
export interface TokenKey {
  signer: Signer;
  /** The URI of the key (token, object, id), no PIN. */
  ref: string;
  label: string;
  id: Buffer;
  /** Signs `data` hashed with `hash` (PKCS#1 v1.5 or DER ECDSA). */
  hashAndSign(hash: 'sha256' | 'sha384' | 'sha512', data: Uint8Array): Promise<Buffer>;
}

function makeTokenKey(token: Token, handle: P.Handle, spki: Buffer, keyType: KeyType, ref: string, label: string, id: Buffer): TokenKey {
  const L = lib();
  const rsa = keyType.startsWith('rsa-');
  const algorithm: SignatureAlgorithm = signatureAlgorithmFor(keyType);
  const rawLen = rsa ? Number(keyType.slice(4)) / 8 : 2 * curveFor(keyType)!.size;
  const maxSignatureLength = rsa ? rawLen : rawEcdsaToDer(Buffer.alloc(rawLen, 0xff)).length;
  const what = `${label} on token ${token.label}`;
  const hashAndSign = async (hash: 'sha256' | 'sha384' | 'sha512', data: Uint8Array): Promise<Buffer> => {
    const digest = crypto.createHash(hash).update(data).digest();
    const input = rsa ? Buffer.concat([DIGEST_INFO[hash]!, digest]) : digest;
    const mechanism = { mechanism: rsa ? L.CKM_RSA_PKCS : L.CKM_ECDSA };
    return token.withSession(async (s) => {
      try {
        token.module.p11.C_SignInit(s, mechanism, handle);
        const sig = await token.module.p11.C_SignAsync(s, input, Buffer.alloc(rawLen + 16));
        return rsa ? Buffer.from(sig) : rawEcdsaToDer(Buffer.from(sig));
      } catch (e) {
        throw tokenError(e, `signing with ${what} failed`, { token: token.label, object: label });
      }
    });
  };
  const signer: Signer = Object.freeze({
    algorithm,
    spki,
    keyType,
    maxSignatureLength,
    sign: (data: Uint8Array) => hashAndSign(algorithm.hash as 'sha256', data),
  });
  return { signer, ref, label, id, hashAndSign };
}

/** Proves that `key` is the private half of `spki`: signs a random challenge and verifies it (CRYPTO_KEY_MISMATCH). */
export async function proveTokenKey(key: TokenKey, spki: Buffer, source: string): Promise<void> {
  const challenge = crypto.randomBytes(32);
  const sig = await key.hashAndSign('sha256', challenge);
  let ok = false;
  try {
    ok = crypto.verify('sha256', challenge, crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }), sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new PkiError('CRYPTO_KEY_MISMATCH', `${source}: the token key does not match the certificate (a challenge it signed does not verify with the certificate's public key)`, { details: { ref: key.ref } });
}

export class Pkcs11KeyStore {
  constructor(private readonly opts: Pkcs11KeyStoreOptions) {}

  /** The module of `uri` (module-path, module-name; relative paths against the current directory), else this node's. */
  modulePath(uri: Pkcs11Uri, flag: string): string {
    if (uri.modulePath) return isAbsolute(uri.modulePath) ? uri.modulePath : resolve(this.opts.deps.cwd, uri.modulePath);
    if (uri.moduleName) {
      const dirs = ['/usr/lib/x86_64-linux-gnu/pkcs11', '/usr/lib/aarch64-linux-gnu/pkcs11', '/usr/lib64/pkcs11', '/usr/lib/pkcs11', '/usr/local/lib/pkcs11', '/usr/lib/softhsm', '/usr/local/lib/softhsm'];
      for (const d of dirs) for (const f of [`${uri.moduleName}.so`, `lib${uri.moduleName}.so`]) if (existsSync(resolve(d, f))) return resolve(d, f);
      throw new PkiError('CRYPTO_TOKEN_MODULE_NOT_FOUND', `${flag}: module-name=${uri.moduleName}: no ${uri.moduleName}.so in ${dirs.join(', ')}`, { details: { flag, moduleName: uri.moduleName }, hint: 'give module-path=/full/path/to/module.so instead' });
    }
    const own = nodeModule(this.opts);
    if (own) return own;
    const from = this.opts.moduleFrom ?? 'config';
    throw new PkiError(
      'USAGE_PKCS11_MODULE_REQUIRED',
      from === 'config'
        ? `${flag}: no PKCS#11 module: pki.yaml has no keys.pkcs11.module and ${PKCS11_MODULE_ENV} is not set`
        : `${flag}: no PKCS#11 module: ${from} is not given, the URI has no module-path and ${PKCS11_MODULE_ENV} is not set`,
      {
        details: { flag, ...(from === 'config' ? {} : { input: [from.slice('input.'.length)] }) },
        hint:
          from === 'config'
            ? 'set keys.pkcs11.module (e.g. /usr/lib/softhsm/libsofthsm2.so) in this node\'s pki.yaml, or PKI_PKCS11_MODULE'
            : `e.g. ${from} /usr/lib/softhsm/libsofthsm2.so`,
      },
    );
  }

  /** The user PIN: pin-source of the URI, pki.yaml's keys.pkcs11.pinSource, $PKI_PKCS11_PIN, or a prompt. */
  private async pin(uri: Pkcs11Uri, token: Token, flag: string): Promise<string> {
    const { deps } = this.opts;
    const fromSource = (src: string, where: string, base: string): string => {
      const env = /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(src);
      if (env) {
        const v = deps.env[env[1]!];
        if (!v) throw new PkiError('CRYPTO_TOKEN_PIN_REQUIRED', `${where} pin-source=${src}: the environment variable ${env[1]} is not set or empty`, { details: { flag, variable: env[1] } });
        return v;
      }
      if (!/^file:/i.test(src))
        throw new PkiError('USAGE_BAD_PIN_SOURCE', `${where} pin-source=${src}: give file:/path/to/pin-file or env:NAME`, { details: { flag } });
      let path: string;
      try {
        path = /^file:\/\//i.test(src) ? fileURLToPath(src) : resolve(base, decodeURIComponent(src.slice(5)));
      } catch (e) {
        throw new PkiError('USAGE_BAD_PIN_SOURCE', `${where} pin-source=${src}: not a local file (${(e as Error).message}); give file:/path/to/pin-file or env:NAME`, { details: { flag }, cause: e });
      }
      let text: string;
      try {
        text = readInput(path, 'pin-source').toString('utf8').replace(/\r?\n$/, '');
      } catch (e) {
        throw new PkiError('IO_READ_FAILED', `${where} pin-source: cannot read ${path}: ${(e as Error).message}`, { details: { file: path }, cause: e });
      }
      if (text === '') throw new PkiError('CRYPTO_TOKEN_PIN_REQUIRED', `${where} pin-source ${path} is empty`, { details: { file: path } });
      return text;
    };
    if (uri.pinSource) return fromSource(uri.pinSource, flag, deps.cwd);
    if (this.opts.defaults?.pinSource) return fromSource(this.opts.defaults.pinSource, this.opts.pinSourceFrom ?? 'pki.yaml keys.pkcs11', this.opts.baseDir ?? deps.cwd);
    const env = deps.env[PKCS11_PIN_ENV];
    if (env) return env;
    if (deps.interactive && deps.promptSecret) return deps.promptSecret(`PIN for token ${token.label}: `);
    throw new PkiError('CRYPTO_TOKEN_PIN_REQUIRED', `token ${token.label} needs its user PIN and none was given`, {
      details: { token: token.label },
      hint:
        (this.opts.moduleFrom ?? 'config') === 'config'
          ? `set keys.pkcs11.pinSource in this node's pki.yaml or ${PKCS11_PIN_ENV} (or add pin-source=file:/path/to/pin-file to a --key-store / --key URI), or run in a terminal`
          : `add pin-source=file:/path/to/pin-file to the URI, set ${PKCS11_PIN_ENV}, or run in a terminal`,
    });
  }

  /** Finds the token of `uri` and logs in (once per token and PIN in this process). */
  async connect(uri: Pkcs11Uri, flag: string, shown: string): Promise<Token> {
    const L = lib();
    assertNoPinValue(uri, flag);
    const m = loadModule(this.modulePath(uri, flag));
    const token = findToken(m, uri, shown);
    let info: P.TokenInfo;
    try {
      info = m.p11.C_GetTokenInfo(token.slot);
    } catch (e) {
      throw tokenError(e, `token ${token.label}`, { token: token.label });
    }
    if (info.flags & L.CKF_USER_PIN_LOCKED)
      throw new PkiError('CRYPTO_TOKEN_LOCKED', `token ${token.label}: the user PIN is locked (too many wrong PINs)`, { details: { token: token.label, ckr: 'CKR_PIN_LOCKED' }, hint: 'the token officer must unlock or reset the user PIN' });
    if (!(info.flags & L.CKF_LOGIN_REQUIRED)) return token;
    if (!(info.flags & L.CKF_USER_PIN_INITIALIZED))
      throw new PkiError('CRYPTO_TOKEN_NOT_INITIALIZED', `token ${token.label} has no user PIN yet`, { details: { token: token.label, ckr: 'CKR_USER_PIN_NOT_INITIALIZED' } });
    const pin = await this.pin(uri, token, flag);
    const hash = crypto.createHash('sha256').update(token.salt).update(pin).digest();
    if (token.loginHash?.equals(hash)) return token;
    const s = await token.acquire();
    try {
      if (token.loginHash) {
        try {
          m.p11.C_Logout(s);
        } catch {
          /* not logged in */
        }
        token.loginHash = undefined;
      }
      try {
        m.p11.C_Login(s, L.CKU_USER, pin);
      } catch (e) {
        if (ckrOf(e) !== 'CKR_USER_ALREADY_LOGGED_IN') throw tokenError(e, `token ${token.label}: login failed`, { token: token.label });
        // Logged in by an earlier open with another PIN source: check this PIN too.
        m.p11.C_Logout(s);
        try {
          m.p11.C_Login(s, L.CKU_USER, pin);
        } catch (e2) {
          throw tokenError(e2, `token ${token.label}: login failed`, { token: token.label });
        }
      }
      token.loginHash = hash;
    } finally {
      token.release(s);
    }
    return token;
  }

  /**
   * A key generator on the token of `ref` (a `pkcs11:` URI naming the token; `object=` overrides the label). Logs
   * in now (a prompt may happen), so that `generate` itself needs nothing more.
   */
  async generatorFor(
    ref: string,
    flag = 'input.keyStore',
    opts: { inUse?: readonly string[] } = {},
  ): Promise<{ generate(type: KeyType, label: string): GeneratedKey; token: string; defaults: { module?: string; pinSource?: string } }> {
    const uri = parsePkcs11Uri(ref, flag);
    const shown = redactPkcs11Uri(ref);
    if (uri.id) throw new PkiError('USAGE_BAD_PKCS11_URI', `${flag} "${shown}": a key store names a token; id= belongs to an existing key (pki sets CKA_ID to the key identifier)`, { details: { flag } });
    const token = await this.connect(uri, flag, shown);
    // What pki init writes as pki.yaml defaults: the module and the PIN source of the URI, relative paths made
    // absolute against the current directory now (a later command may run elsewhere, e.g. from cron).
    const defaults = {
      ...(uri.modulePath !== undefined || uri.moduleName !== undefined ? { module: this.modulePath(uri, flag) } : {}),
      ...(uri.pinSource ? { pinSource: absolutePinSource(uri.pinSource, this.opts.deps.cwd) } : {}),
    };
    const inUse = opts.inUse ?? [];
    return { token: token.label, defaults, generate: (type, label) => this.generateOn(token, uri, type, uri.object ?? label, inUse) };
  }

  private generateOn(token: Token, base: Pkcs11Uri, type: KeyType, label: string, inUse: readonly string[] = []): GeneratedKey {
    const L = lib();
    const p11 = token.module.p11;
    if (!(PKCS11_KEY_TYPES as readonly string[]).includes(type))
      throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `${type} keys cannot be generated on a PKCS#11 token here (use ${PKCS11_KEY_TYPES.join(', ')})`, { details: { keyType: type } });
    const curve = curveFor(type);
    const tmpId = crypto.randomBytes(20);
    const common = [
      { type: L.CKA_TOKEN, value: true },
      { type: L.CKA_LABEL, value: label },
      { type: L.CKA_ID, value: tmpId },
    ];
    const pubT: P.Template = [
      { type: L.CKA_CLASS, value: L.CKO_PUBLIC_KEY },
      { type: L.CKA_KEY_TYPE, value: curve ? L.CKK_EC : L.CKK_RSA },
      ...common,
      { type: L.CKA_PRIVATE, value: false },
      { type: L.CKA_VERIFY, value: true },
      { type: L.CKA_ENCRYPT, value: false },
      { type: L.CKA_WRAP, value: false },
      ...(curve ? [{ type: L.CKA_EC_PARAMS, value: curve.params }] : [
        { type: L.CKA_MODULUS_BITS, value: Number(type.slice(4)) },
        { type: L.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ]),
    ];
    const privT: P.Template = [
      { type: L.CKA_CLASS, value: L.CKO_PRIVATE_KEY },
      { type: L.CKA_KEY_TYPE, value: curve ? L.CKK_EC : L.CKK_RSA },
      ...common,
      { type: L.CKA_PRIVATE, value: true },
      { type: L.CKA_SENSITIVE, value: true },
      { type: L.CKA_EXTRACTABLE, value: false },
      { type: L.CKA_SIGN, value: true },
      { type: L.CKA_DECRYPT, value: false },
      { type: L.CKA_UNWRAP, value: false },
      ...(curve ? [{ type: L.CKA_DERIVE, value: false }] : []),
    ];
    const what = `generating a ${type} key "${label}" on token ${token.label}`;
    let handles: { privateKey: P.Handle; publicKey: P.Handle } | undefined;
    const destroy = () => {
      if (!handles) return;
      const h = handles;
      handles = undefined;
      token.withRwSession((s) => {
        for (const o of [h.privateKey, h.publicKey]) {
          try {
            p11.C_DestroyObject(s, o);
          } catch {
            /* already gone */
          }
        }
      });
    };
    let spki: Buffer;
    let id: Buffer;
    try {
      token.withRwSession((s) => {
        refuseUnreferencedKeys(token, s, label, inUse);
        handles = p11.C_GenerateKeyPair(s, { mechanism: curve ? L.CKM_EC_KEY_PAIR_GEN : L.CKM_RSA_PKCS_KEY_PAIR_GEN }, pubT, privT);
        const attrs = curve
          ? p11.C_GetAttributeValue(s, handles.publicKey, [{ type: L.CKA_EC_POINT }])
          : p11.C_GetAttributeValue(s, handles.publicKey, [{ type: L.CKA_MODULUS }, { type: L.CKA_PUBLIC_EXPONENT }]);
        spki = curve ? ecSpki(curve.params, attrs[0]!.value as Buffer) : rsaSpki(attrs[0]!.value as Buffer, attrs[1]!.value as Buffer);
        id = keyIdentifier(spki);
        for (const o of [handles.privateKey, handles.publicKey]) p11.C_SetAttributeValue(s, o, [{ type: L.CKA_ID, value: id }]);
      });
    } catch (e) {
      try {
        destroy();
      } catch {
        /* the original error matters */
      }
      throw tokenError(e, what, { token: token.label, object: label });
    }
    const ref = formatPkcs11Uri({
      ...stripObject(base),
      ...(base.token === undefined && base.serial === undefined && base.slotId === undefined ? { token: token.label } : {}),
      object: label,
      id: id!,
      type: 'private',
    });
    const key = makeTokenKey(token, handles!.privateKey, spki!, type, ref, label, id!);
    return {
      signer: key.signer,
      persist: (passphrase) => {
        if (passphrase !== undefined) throw new PkiError('INTERNAL_TOKEN_PASSPHRASE', 'a token key is protected by the token PIN, not a passphrase');
        return ref;
      },
      discard: destroy,
    };
  }

  /**
   * Opens the key `ref`: the private key selected by object= (label), id= or both on the token selected by the
   * path attributes. Its public key comes from the public-key object with the same CKA_ID (or label), the private
   * key's RSA attributes, a certificate object with the same CKA_ID, or `expectedSpki` (then proved by a signature).
   */
  async openKey(ref: string, opts: { flag?: string; label?: string; expectedSpki?: Buffer; stored?: boolean; proveLater?: boolean } = {}): Promise<TokenKey> {
    const L = lib();
    const flag = opts.flag ?? 'the key reference';
    const parsed = parsePkcs11Uri(ref, flag);
    // A stored reference: module and PIN come from this node only (see storedRef).
    const uri = opts.stored ? storedRef(parsed) : parsed;
    // A stored reference is named without what this node ignores in it (an older row's module, PIN source, ...).
    const shown = opts.stored ? shownPkcs11Ref(ref) : redactPkcs11Uri(ref);
    if (uri.object === undefined && uri.id === undefined)
      throw new PkiError('USAGE_BAD_PKCS11_URI', `${flag} "${shown}" names no key: add object=LABEL and/or id=%xx...`, { details: { flag } });
    const token = await this.connect(uri, flag, shown);
    const p11 = token.module.p11;
    const who = opts.label === undefined ? shown : `CA ${opts.label}'s key (${shown})`;
    return token.withSession(async (s) => {
      const find = (cls: number, byLabel: boolean): P.Handle[] => {
        const t: P.Template = [{ type: L.CKA_CLASS, value: cls }];
        if (uri.id) t.push({ type: L.CKA_ID, value: uri.id });
        if (byLabel && uri.object !== undefined) t.push({ type: L.CKA_LABEL, value: uri.object });
        p11.C_FindObjectsInit(s, t);
        try {
          return p11.C_FindObjects(s, 16);
        } finally {
          p11.C_FindObjectsFinal(s);
        }
      };
      try {
        const priv = find(L.CKO_PRIVATE_KEY, true);
        if (!priv.length)
          throw new PkiError('CRYPTO_TOKEN_KEY_NOT_FOUND', `${who}: token ${token.label} has no private key${uri.object !== undefined ? ` labelled "${uri.object}"` : ''}${uri.id ? ` with id ${uri.id.toString('hex')}` : ''}`, {
            details: { ref: shown, token: token.label },
            hint: `list the token's keys: pkcs11-tool --module ${token.module.path} --token-label ${token.label} --login --list-objects --type privkey`,
          });
        if (priv.length > 1)
          throw new PkiError('CRYPTO_TOKEN_KEY_AMBIGUOUS', `${who}: ${priv.length} private keys on token ${token.label} match; add id=... to the URI`, { details: { ref: shown, token: token.label } });
        const handle = priv[0]!;
        const [kt, idAttr, labelAttr] = p11.C_GetAttributeValue(s, handle, [{ type: L.CKA_KEY_TYPE }, { type: L.CKA_ID }, { type: L.CKA_LABEL }]);
        const keyKind = (kt!.value as Buffer).readUIntLE(0, Math.min(6, (kt!.value as Buffer).length));
        const id = Buffer.from(idAttr!.value as Buffer);
        const label = (labelAttr!.value as Buffer).toString('utf8');
        let spki: Buffer | undefined;
        let proved = false;
        // The public key: a public-key object with the same CKA_ID (the private key's own CKA_ID when the URI gave only a label).
        const pubTemplate: P.Template = [{ type: L.CKA_CLASS, value: L.CKO_PUBLIC_KEY }, ...(id.length ? [{ type: L.CKA_ID, value: id }] : [{ type: L.CKA_LABEL, value: label }])];
        p11.C_FindObjectsInit(s, pubTemplate);
        let pubs: P.Handle[];
        try {
          pubs = p11.C_FindObjects(s, 2);
        } finally {
          p11.C_FindObjectsFinal(s);
        }
        if (keyKind === L.CKK_RSA) {
          const [mod, exp] = p11.C_GetAttributeValue(s, handle, [{ type: L.CKA_MODULUS }, { type: L.CKA_PUBLIC_EXPONENT }]);
          spki = rsaSpki(mod!.value as Buffer, exp!.value as Buffer);
        } else if (keyKind === L.CKK_EC) {
          if (pubs.length === 1) {
            const [params, point] = p11.C_GetAttributeValue(s, pubs[0]!, [{ type: L.CKA_EC_PARAMS }, { type: L.CKA_EC_POINT }]);
            spki = ecSpki(params!.value as Buffer, point!.value as Buffer);
          }
        } else throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `${who}: the token key is neither RSA nor EC (CKK ${keyKind}); use ${PKCS11_KEY_TYPES.join(', ')}`, { details: { ref: shown } });
        if (!spki && id.length) {
          p11.C_FindObjectsInit(s, [{ type: L.CKA_CLASS, value: L.CKO_CERTIFICATE }, { type: L.CKA_ID, value: id }]);
          let certs: P.Handle[];
          try {
            certs = p11.C_FindObjects(s, 1);
          } finally {
            p11.C_FindObjectsFinal(s);
          }
          if (certs.length) spki = parseCertificate(p11.C_GetAttributeValue(s, certs[0]!, [{ type: L.CKA_VALUE }])[0]!.value as Buffer, `${who} certificate object`).spki;
        }
        if (!spki && opts.expectedSpki) {
          spki = opts.expectedSpki;
          proved = true;
        }
        if (!spki)
          throw new PkiError('CRYPTO_TOKEN_PUBLIC_KEY_NOT_FOUND', `${who}: token ${token.label} has no public key or certificate object with the key's CKA_ID, so its public key is unknown`, {
            details: { ref: shown, token: token.label },
            hint: 'store the public key (or the certificate) on the token with the same CKA_ID as the private key',
          });
        const keyType = keyTypeOfSpki(spki);
        if (!keyType) throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `${who}: the token key is not one pki supports for a CA (use ${PKCS11_KEY_TYPES.join(', ')})`, { details: { ref: shown } });
        const canonical = formatPkcs11Uri({ ...stripObject(uri), object: label, ...(id.length ? { id } : {}), type: 'private' });
        const key = makeTokenKey(token, handle, spki, keyType, canonical, label, id);
        return { key, proved };
      } catch (e) {
        throw tokenError(e, `${who}`, { ref: shown, token: token.label });
      }
    }).then(async ({ key, proved }) => {
      // A CA's key (or an adopted one) is proved each time it is opened against the certificate's public key, not
      // the token's public-key object: a private key replaced under the same CKA_ID and label signs nothing.
      // (adoptKey compares the public keys first and proves the key itself: proveLater.)
      if (opts.expectedSpki && !opts.proveLater) await proveTokenKey(key, opts.expectedSpki, who);
      else if (proved && !opts.proveLater) await proveTokenKey(key, key.signer.spki, who);
      return key;
    });
  }

  /**
   * A key already on a token, adopted for a CA whose certificate has the public key `certSpki`: refused with
   * CRYPTO_KEY_MISMATCH unless the token's public key is the certificate's and a challenge the token signs verifies.
   */
  async adoptKey(ref: string, flag: string, label: string, certSpki: Buffer, certSource: string): Promise<TokenKey> {
    const key = await this.openKey(ref, { flag, label, expectedSpki: certSpki, proveLater: true });
    const same = crypto.createPublicKey({ key: key.signer.spki, format: 'der', type: 'spki' }).equals(crypto.createPublicKey({ key: certSpki, format: 'der', type: 'spki' }));
    if (!same)
      throw new PkiError('CRYPTO_KEY_MISMATCH', `${flag} ${redactPkcs11Uri(ref)} does not match ${certSource}: the token key's public key is not the certificate's`, {
        details: { ref: redactPkcs11Uri(ref), cert: certSource, input: [flag, certSource].flatMap((l) => /^input\.([a-z][A-Za-z0-9]*)\b/.exec(l)?.[1] ?? []) },
      });
    await proveTokenKey(key, certSpki, `${flag} ${redactPkcs11Uri(ref)}`);
    return key;
  }

  /**
   * KeyStore.open: the Signer of the token key `ref`, a reference read from the store (`unlock` is not used: the token
   * PIN unlocks token keys). Its module-path/module-name/pin-source, if any, are ignored: this node's pki.yaml,
   * $PKI_PKCS11_MODULE / $PKI_PKCS11_PIN or a prompt supply them.
   */
  async open(ref: string, _unlock?: unknown, label?: string, expectedSpki?: Buffer): Promise<Signer> {
    return (await this.openKey(ref, { stored: true, ...(label === undefined ? {} : { label }), ...(expectedSpki ? { expectedSpki } : {}) })).signer;
  }
}

/**
 * Refuses to generate a key labelled `label` while the token holds a private key with that label whose CKA_ID no
 * reference in `inUse` (the key references this PKI's store records) names: a key pair left by a process killed
 * between generation and the store's commit, or another PKI's key on a shared token. pki cannot tell which, so it
 * deletes nothing and names the object (label, id) and the pkcs11-tool commands that remove it
 * (CRYPTO_TOKEN_ORPHAN_KEY, exit 7). A key a stored reference names (e.g. an earlier key of the same CA) is not in
 * the way: its reference carries its CKA_ID.
 */
function refuseUnreferencedKeys(token: Token, s: P.Handle, label: string, inUse: readonly string[]): void {
  const L = lib();
  const p11 = token.module.p11;
  p11.C_FindObjectsInit(s, [
    { type: L.CKA_CLASS, value: L.CKO_PRIVATE_KEY },
    { type: L.CKA_LABEL, value: label },
  ]);
  let found: P.Handle[];
  try {
    found = p11.C_FindObjects(s, 64);
  } finally {
    p11.C_FindObjectsFinal(s);
  }
  const refs = inUse.flatMap((r) => {
    if (!/^pkcs11:/i.test(r)) return [];
    try {
      return [parsePkcs11Uri(r)];
    } catch {
      return [];
    }
  });
  const orphans: string[] = [];
  for (const h of found) {
    const id = Buffer.from(p11.C_GetAttributeValue(s, h, [{ type: L.CKA_ID }])[0]!.value as Buffer);
    const named = refs.some((u) => (u.id ? u.id.equals(id) : u.object === label));
    if (!named) orphans.push(id.toString('hex'));
  }
  if (!orphans.length) return;
  const id = orphans[0]!;
  const tool = `pkcs11-tool --module ${token.module.path} --token-label ${token.label} --login`;
  const del = (type: string, hex: string) => `${tool} --delete-object --type ${type} --id ${hex}`;
  throw new PkiError(
    'CRYPTO_TOKEN_ORPHAN_KEY',
    `token ${token.label} already has a private key labelled "${label}" (id ${id}${orphans.length > 1 ? ` and ${orphans.length - 1} more` : ''}) that no CA of this PKI uses: ` +
      `a key pair left by a creation that was interrupted before it was recorded (or one still running), or another PKI's key. Nothing was generated; pki does not delete it (it cannot tell which)`,
    {
      details: { token: token.label, object: label, id, ids: orphans, module: token.module.path },
      hint: `if it is an orphan, remove it: ${orphans.map((h) => `${del('privkey', h)} && ${del('pubkey', h)}`).join('; ')} (list first: ${tool} --list-objects); otherwise choose another label with object=NAME in the key store URI`,
    },
  );
}

/**
 * The URI without its object selection, PIN value, module and PIN source: what is left names the token only. A key
 * reference is the token plus the key (object, id); it is stored, so it never says which library to load or which
 * file to read as the PIN.
 */
function stripObject(u: Pkcs11Uri): Pkcs11Uri {
  const { object: _o, id: _i, type: _t, pinValue: _p, modulePath: _m, moduleName: _n, pinSource: _s, ...rest } = u;
  // Vendor attributes (x-...) are not stored: they say nothing about which token or key, and may carry secrets.
  return { ...rest, vendor: [] };
}

/** `file:` PIN sources made absolute against `cwd` (env: and file:// ones are kept). */
export function absolutePinSource(src: string, cwd: string): string {
  if (!/^file:/i.test(src) || /^file:\/\//i.test(src)) return src;
  const path = src.slice(5);
  return isAbsolute(decodeURIComponent(path)) ? src : `file:${resolve(cwd, decodeURIComponent(path))}`;
}
