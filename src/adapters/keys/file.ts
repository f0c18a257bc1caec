/**
 * The encrypted-PKCS#8-file key store: the one place a CA private key exists as a KeyObject. Each key is a PEM file
 * (PBES2-encrypted PKCS#8, or plain with --no-passphrase), mode 0600, named `<label>.key.pem` in the PKI's key
 * directory. References are paths (relative ones resolve against the PKI directory) or `file:` URIs; `pkcs11:`
 * is reserved for an HSM store and refused with CRYPTO_KEY_STORE_UNSUPPORTED.
 *
 * Signing uses Node's native `crypto.sign` with the cached KeyObject: RSA signatures (~0.7 ms each) run in
 * libuv's thread pool so that many in flight use every core; ECDSA signatures (~50 µs) are cheaper than a
 * thread-pool round trip and are computed on the calling thread.
 */
import { decodePemBlocks } from '../../asn1/pem.js';
import { readSingle } from '../../asn1/der.js';
import * as crypto from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PkiError } from '../../errors.js';
import { decryptPkcs8, describeKey, encryptPkcs8Pem, generateKey, KEY_TYPES, loadPrivateKey, plainPrivateKeyPem, privateKeyFromPkcs8, signatureAlgorithmFor, signWith, signWithAsync, type KeyType } from '../../crypto/keys.js';
import { ML_DSA, generateMlDsa, isMlDsaKeyType, mlDsaPkcs8, mlDsaSign, mlDsaSpki, mlDsaTypeForOid, pkcs8AlgorithmOid, readMlDsaPkcs8, type MlDsaPrivateKey } from '../../crypto/mldsa.js';
import { toPem } from '../../asn1/pem.js';
import { readInput, removeQuietly, writePrivateKeyFile } from '../../fs/files.js';
import { keyRefScheme, type GeneratedKey, type KeyStore, type Signer } from '../../ports/signer.js';
import { TAG } from '../../asn1/der.js';
import { tlvHeader } from '../../x509/crl.js';

/** The longest signature `key` can produce: the RSA modulus size, or a DER Ecdsa-Sig-Value with both integers padded. */
function maxSignatureLength(key: crypto.KeyObject): number {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return Math.ceil((d.modulusLength ?? 4096) / 8);
  const n = { prime256v1: 32, secp384r1: 48, secp521r1: 66 }[d.namedCurve ?? ''] ?? 66;
  const int = 2 + n + 1;
  return tlvHeader(TAG.SEQUENCE, 2 * int).length + 2 * int;
}

/** A Signer over a private KeyObject held in this module only. */
function keySigner(key: crypto.KeyObject, keyType: KeyType): Signer {
  const algorithm = signatureAlgorithmFor(keyType);
  const spki = crypto.createPublicKey(key).export({ format: 'der', type: 'spki' });
  const rsa = key.asymmetricKeyType === 'rsa';
  return Object.freeze({
    algorithm,
    spki,
    keyType,
    maxSignatureLength: maxSignatureLength(key),
    sign: (data: Uint8Array): Promise<Buffer> => (rsa ? signWithAsync(key, algorithm, data) : Promise.resolve(signWith(key, algorithm, data))),
  });
}

/** A Signer over an ML-DSA key (pure ML-DSA, empty context, RFC 9881 §3); signatures have a fixed length. */
function mlDsaSigner(key: MlDsaPrivateKey): Signer {
  return Object.freeze({
    algorithm: signatureAlgorithmFor(key.keyType),
    spki: mlDsaSpki(key.keyType, key.publicKey),
    keyType: key.keyType,
    maxSignatureLength: ML_DSA[key.keyType].signatureLength,
    sign: (data: Uint8Array): Promise<Buffer> => Promise.resolve(mlDsaSign(key, data)),
  });
}

/** A private key as this store holds it: a Node KeyObject, or ML-DSA bytes (Node 20 has no ML-DSA). */
type HeldKey = { kind: 'node'; key: crypto.KeyObject } | { kind: 'ml-dsa'; key: MlDsaPrivateKey };

const heldSpki = (h: HeldKey): Buffer => (h.kind === 'ml-dsa' ? mlDsaSpki(h.key.keyType, h.key.publicKey) : crypto.createPublicKey(h.key).export({ format: 'der', type: 'spki' }));
const heldSigner = (h: HeldKey): Signer | undefined => {
  if (h.kind === 'ml-dsa') return mlDsaSigner(h.key);
  const kt = describeKey(h.key).keyType;
  return kt ? keySigner(h.key, kt) : undefined;
};
const heldDescription = (h: HeldKey): { keyType?: KeyType; description: string } => (h.kind === 'ml-dsa' ? { keyType: h.key.keyType, description: h.key.keyType } : describeKey(h.key));
const heldPkcs8 = (h: HeldKey): Buffer => (h.kind === 'ml-dsa' ? mlDsaPkcs8(h.key) : h.key.export({ format: 'der', type: 'pkcs8' }));

function readMlDsa(der: Buffer, source: string): MlDsaPrivateKey {
  try {
    return readMlDsaPkcs8(der);
  } catch (e) {
    throw new PkiError('CRYPTO_BAD_KEY', `${source} is not a readable ML-DSA private key: ${(e as Error).message}`, { details: { file: source }, cause: e });
  }
}

/**
 * Loads a private key from PEM: ML-DSA PKCS#8 (plain, or PBES2-encrypted as this store writes it) read here, anything
 * else by Node ({@link loadPrivateKey}). An encrypted PKCS#8 key is decrypted once: by this code when it knows the
 * scheme (then imported from the decrypted DER), else by Node.
 */
export function loadHeldKey(pem: Buffer | string, source: string, passphrase?: string): HeldKey {
  const text = pem.toString();
  let blocks: { label: string; der: Buffer }[] = [];
  try {
    blocks = decodePemBlocks(text, source).filter((b) => b.label === 'PRIVATE KEY' || b.label === 'ENCRYPTED PRIVATE KEY');
  } catch {
    blocks = [];
  }
  const block = blocks.length === 1 ? blocks[0]! : undefined;
  if (block?.label === 'PRIVATE KEY' && mlDsaTypeForOid(pkcs8AlgorithmOid(block.der) ?? '')) return { kind: 'ml-dsa', key: readMlDsa(block.der, source) };
  if (block?.label === 'ENCRYPTED PRIVATE KEY' && passphrase !== undefined) {
    let plain: Buffer | undefined;
    try {
      plain = decryptPkcs8(block.der, passphrase, source);
    } catch (e) {
      if (!(e instanceof PkiError && e.code === 'CRYPTO_BAD_KEY')) throw e;
    }
    if (plain) {
      if (mlDsaTypeForOid(pkcs8AlgorithmOid(plain) ?? '')) return { kind: 'ml-dsa', key: readMlDsa(plain, source) };
      try {
        return { kind: 'node', key: privateKeyFromPkcs8(plain, source) };
      } finally {
        plain.fill(0);
      }
    }
  }
  return { kind: 'node', key: loadPrivateKey(pem, source, passphrase) };
}

/**
 * A Signer for a key this process just made or read for a subject that is not a CA (a workload key whose CSR
 * `pki csr` writes next to it). CA keys are opened through a {@link KeyStore} only.
 */
export function signerForKey(key: crypto.KeyObject, keyType: KeyType): Signer {
  return keySigner(key, keyType);
}

/**
 * A new key for a subject that is not a CA (`pki issue --key-out`, `pki csr`, `pki renew --key-out`), of any key type,
 * ML-DSA included (its seed drawn from `randomBytes`): a Signer for its CSR, and its unencrypted PKCS#8 PEM (the
 * seed form for ML-DSA, RFC 9881 §6) to write 0600 where the workload runs.
 */
export function generateWorkloadKey(keyType: KeyType, randomBytes: (n: number) => Buffer): { signer: Signer; privateKeyPem(): string } {
  if (isMlDsaKeyType(keyType)) {
    const key = generateMlDsa(keyType, randomBytes);
    return { signer: mlDsaSigner(key), privateKeyPem: () => toPem('PRIVATE KEY', mlDsaPkcs8(key)) };
  }
  const key = generateKey(keyType).privateKey;
  return { signer: keySigner(key, keyType), privateKeyPem: () => plainPrivateKeyPem(key) };
}

/**
 * A workload's own private key for `pki credential-process` (not a CA key), from PEM as {@link loadHeldKey} reads it:
 * a Node KeyObject, or an ML-DSA key that makes pure ML-DSA signatures (AWS4-X509-MLDSA). `spki` is its public half.
 */
export function loadWorkloadKey(pem: Buffer | string, source: string, passphrase?: string): { spki: Buffer; key: crypto.KeyObject | { readonly kind: 'ml-dsa'; readonly keyType: MlDsaPrivateKey['keyType']; sign(data: Uint8Array): Buffer } } {
  const held = loadHeldKey(pem, source, passphrase);
  if (held.kind === 'node') return { spki: heldSpki(held), key: held.key };
  const k = held.key;
  return { spki: heldSpki(held), key: Object.freeze({ kind: 'ml-dsa' as const, keyType: k.keyType, sign: (data: Uint8Array) => mlDsaSign(k, data) }) };
}

/** A private key read from PEM and not yet stored: its public half, its type, and a way to store it. */
export interface AdoptedKey {
  spki: Buffer;
  /** Our key type, or undefined when pki cannot use this key for a CA (see `description`). */
  keyType: KeyType | undefined;
  description: string;
  /** Stores the key as `label` (re-encrypted with `passphrase` when given); returns its reference. */
  persist(passphrase: string | undefined): string;
  discard(): void;
}

export interface FileKeyStoreOptions {
  /** The PKI directory: relative references resolve against it. */
  baseDir: string;
  /** Where new keys are written. */
  keysDir: string;
  /** PBKDF2 iterations for new encrypted key files. */
  iterations: number;
  randomBytes: (n: number) => Buffer;
}

export class FileKeyStore implements KeyStore {
  constructor(private readonly opts: FileKeyStoreOptions) {}

  /** The file a reference names. */
  path(ref: string): string {
    const scheme = keyRefScheme(ref);
    if (scheme === 'file') return ref.toLowerCase().startsWith('file:') ? fileURLToPath(ref) : isAbsolute(ref) ? ref : resolve(this.opts.baseDir, ref);
    throw new PkiError('CRYPTO_KEY_STORE_UNSUPPORTED', `the key reference "${ref}" uses the ${scheme}: scheme, which this pki does not support yet (keys are files: a path or a file: URI)`, {
      details: { keyRef: ref, scheme },
    });
  }

  private fileFor(label: string): string {
    return join(this.opts.keysDir, `${label}.key.pem`);
  }

  private persister(key: HeldKey, label: string, description: string): Pick<GeneratedKey, 'persist' | 'discard'> {
    let written: string | undefined;
    return {
      persist: (passphrase) => {
        const file = this.fileFor(label);
        const der = heldPkcs8(key);
        const pem = passphrase === undefined ? toPem('PRIVATE KEY', der) : encryptPkcs8Pem(der, passphrase, this.opts.iterations, this.opts.randomBytes);
        writePrivateKeyFile(file, pem, description);
        written = file;
        return file;
      },
      discard: () => {
        if (written) removeQuietly([written]);
        written = undefined;
      },
    };
  }

  /**
   * Why the key file `data` cannot serve a CA whose public key is `spki`, or undefined (backup and restore): an
   * unencrypted key must parse and match; an encrypted one (no passphrase here) must be one well-formed encrypted
   * PKCS#8 PEM block.
   */
  checkKeyData(data: Buffer, spki: Buffer | undefined): string | undefined {
    const text = data.toString('latin1');
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
      try {
        const blocks = decodePemBlocks(text, 'key').filter((b) => b.label === 'ENCRYPTED PRIVATE KEY');
        if (blocks.length !== 1) return 'not one encrypted PKCS#8 key';
        readSingle(blocks[0]!.der);
        return undefined;
      } catch (e) {
        return `not a well-formed encrypted PKCS#8 key (${(e as Error).message})`;
      }
    }
    let key: HeldKey;
    try {
      key = loadHeldKey(data, 'key');
    } catch (e) {
      return `not a readable private key (${(e as Error).message})`;
    }
    if (spki && !heldSpki(key).equals(spki)) return 'it does not match the CA certificate';
    return undefined;
  }

  generate(type: KeyType, label: string, description = `CA ${label} key`): GeneratedKey {
    if (isMlDsaKeyType(type)) {
      const key = generateMlDsa(type, this.opts.randomBytes);
      return { signer: mlDsaSigner(key), ...this.persister({ kind: 'ml-dsa', key }, label, description) };
    }
    const pair = generateKey(type);
    return { signer: keySigner(pair.privateKey, type), ...this.persister({ kind: 'node', key: pair.privateKey }, label, description) };
  }

  /**
   * Opens the key `ref` of CA `label`. `unlock` is asked for the passphrase after the file was read (so a missing
   * file is reported without a prompt); it returns undefined for a key stored unencrypted.
   */
  async open(ref: string, unlock?: string | (() => Promise<string | undefined>), label?: string): Promise<Signer> {
    const file = this.path(ref);
    const what = label === undefined ? 'the CA key' : `CA ${label}'s key`;
    let pem: Buffer;
    try {
      pem = readInput(file, what);
    } catch (e) {
      if (e instanceof PkiError && e.code === 'POLICY_INPUT_TOO_LARGE') throw e;
      throw new PkiError('IO_KEY_UNREADABLE', `cannot read ${what} ${file}: ${(e as Error).message}`, { details: { ...(label === undefined ? {} : { ca: label }), file }, cause: e });
    }
    return this.openPem(pem, file, unlock);
  }

  /** Opens a CA key from its PEM (`source` names it in errors): a key kept elsewhere than in a file (src/adapters/keys/store.ts). */
  async openPem(pem: Buffer, source: string, unlock?: string | (() => Promise<string | undefined>)): Promise<Signer> {
    const passphrase = typeof unlock === 'function' ? await unlock() : unlock;
    const key = loadHeldKey(pem, source, passphrase);
    const signer = heldSigner(key);
    if (!signer) throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `${source}: ${heldDescription(key).description} is not supported for a CA (use ${KEY_TYPES.join(', ')})`, { details: { file: source } });
    return signer;
  }

  /** A private key from PEM (`file` names it in errors), to be stored as CA `label`'s key. */
  adopt(pem: Buffer | string, file: string, passphrase: string | undefined, label: string): AdoptedKey {
    const key = loadHeldKey(pem, file, passphrase);
    const desc = heldDescription(key);
    return {
      spki: heldSpki(key),
      keyType: desc.keyType,
      description: desc.description,
      ...this.persister(key, label, `CA ${label} key`),
    };
  }
}

