/** `pki ca import`: a pending CA completed with its signed certificate, or a CA made elsewhere brought in with its key. */
import { PkiError } from '../../errors.js';
import { KEY_TYPES, spkiMatches } from '../../crypto/keys.js';
import { passphraseForNewKey, passphraseToUnlock, type PassphraseSource } from '../../crypto/passphrase.js';
import { readInput } from '../../fs/files.js';
import type { CaRecord, Deps } from '../../ports.js';
import { readCertificate, verifyCertificateSignature, type ParsedCertificate } from '../../x509/certificate.js';
import { readCsr } from '../../x509/csr.js';
import { decodePemBlocks, toPem } from '../../asn1/pem.js';
import { sha256Fingerprint } from '../issuance.js';
import { assertNodeModule, caCertificate, caKeyStore, issuedBy, tokenKeyStore, withWorkspace, type Workspace } from '../workspace.js';
import { keyRefScheme } from '../../ports/signer.js';
import { assertDistinctCa, caSummary, checkCaCertificate, checkCaName, keyShown, warnUnencrypted } from './shared.js';

export interface ImportCaInput extends PassphraseSource {
  dir?: string;
  name: string;
  cert: string;
  chain?: string;
  key?: string;
  keyPassphraseFile?: string;
  noPassphrase?: boolean;
}

/** Finds the CA in the store that signed `cert` (names chain, AKI = SKI, and the signature verifies). */
async function findParent(ws: Workspace, cert: ParsedCertificate, self: string): Promise<CaRecord | undefined> {
  for (const ca of await ws.store.listCas()) {
    if (ca.name === self || ca.status !== 'active' || !ca.certDer) continue;
    if (issuedBy(cert, caCertificate(ca))) return ca;
  }
  return undefined;
}

/**
 * `pki ca import`: either completes a pending CA (`pki ca csr` earlier) with its signed certificate, or imports an
 * existing CA from another tool with `--key` (the key is re-encrypted into this PKI's key store).
 */
export async function importCa(deps: Deps, input: ImportCaInput) {
  checkCaName(input.name);
  return withWorkspace(input.dir, deps, async (ws) => {
    const cert = readCertificate(readInput(input.cert, 'input.cert'), input.cert);
    checkCaCertificate(cert, input.cert, ws.now);
    const selfSigned = cert.subjectDer.equals(cert.issuerDer) && verifyCertificateSignature(cert, cert.publicKey);
    let chainPem: string | null = null;
    if (input.chain) {
      const blocks = decodePemBlocks(readInput(input.chain, 'input.chain').toString('latin1'), input.chain).filter((b) => b.label === 'CERTIFICATE');
      if (!blocks.length) throw new PkiError('CRYPTO_BAD_PEM', `input.chain ${input.chain}: no CERTIFICATE blocks`, { details: { file: input.chain, input: 'chain' } });
      const issuerCert = readCertificate(blocks[0]!.der, `${input.chain} (first certificate)`);
      if (!verifyCertificateSignature(cert, issuerCert.publicKey))
        throw new PkiError('CRYPTO_CHAIN_MISMATCH', `input.chain ${input.chain}: its first certificate (${issuerCert.subjectDn}) did not sign ${input.cert}`, { details: { file: input.chain, input: 'chain' } });
      chainPem = blocks.map((b) => toPem('CERTIFICATE', b.der)).join('');
    }
    const parent = selfSigned ? undefined : await findParent(ws, cert, input.name);
    const existing = await ws.store.getCa(input.name);
    const summaryExtra = { sha256: sha256Fingerprint(cert.der), selfSigned, externalIssuer: !selfSigned && !parent };
    if (existing) {
      if (input.key) throw new PkiError('STATE_CA_EXISTS', `CA ${input.name} already exists; input.key is only for importing a new CA`, { details: { ca: input.name, input: 'key' } });
      if (existing.status !== 'pending')
        throw new PkiError('STATE_CA_NOT_PENDING', `CA ${input.name} already has a certificate; nothing to import`, { details: { ca: input.name } });
      const csrSpki = readCsr(existing.csrDer!, `CA ${input.name} CSR`).spki;
      if (!csrSpki.equals(cert.spki))
        throw new PkiError('CRYPTO_KEY_MISMATCH', `${input.cert} does not match CA ${input.name}'s key (its public key differs from the CSR's)`, {
          details: { ca: input.name, file: input.cert },
        });
      await assertDistinctCa(ws, input.name, { subjectDn: cert.subjectDn, subjectDer: cert.subjectDer, certDer: cert.der }, existing.id);
      if (cert.subjectDn !== existing.subjectDn)
        deps.stderr.write(`note: the signed subject "${cert.subjectDn}" differs from the requested "${existing.subjectDn}"; using the signed one\n`);
      const ca = await ws.store.activateCa(
        existing.id,
        { certDer: cert.der, parentId: parent?.id ?? null, externalChainPem: chainPem, serial: cert.serialHex, notBefore: cert.notBefore, notAfter: cert.notAfter, subjectDn: cert.subjectDn },
        { action: 'ca.import', target: input.name, details: { serial: cert.serialHex, issuer: cert.issuerDn, sha256: summaryExtra.sha256 } },
        deps.actor,
        ws.now,
      );
      return { ...caSummary(ca, parent?.name ?? null), ...summaryExtra };
    }
    if (!input.key)
      throw new PkiError('USAGE_MISSING_KEY', `CA ${input.name} does not exist: to import a CA made elsewhere, also pass input.key FILE`, {
        details: { ca: input.name, input: 'key' },
        hint: `or start with: pki ca csr ${input.name} --subject ... --out ${input.name}.csr`,
      });
    await assertDistinctCa(ws, input.name, { subjectDn: cert.subjectDn, subjectDer: cert.subjectDer, spki: cert.spki, certDer: cert.der });
    if (keyRefScheme(input.key) === 'pkcs11') {
      // A key already on a token: adopted in place (never copied), after proving it is the certificate's key.
      await assertNodeModule(ws, input.key, 'input.key');
      const tokenKey = await (await tokenKeyStore(ws)).adoptKey(input.key, 'input.key', input.name, cert.spki, `input.cert ${input.cert}`);
      const ca = await ws.store.createCa(
        { name: input.name, parentId: parent?.id ?? null, status: 'active', subjectDn: cert.subjectDn, certDer: cert.der, csrDer: null, externalChainPem: chainPem, keyPath: tokenKey.ref, keyType: tokenKey.signer.keyType, keyEncrypted: false, serial: cert.serialHex, notBefore: cert.notBefore, notAfter: cert.notAfter, createdAt: ws.now },
        null,
        { action: 'ca.import', target: input.name, details: { serial: cert.serialHex, issuer: cert.issuerDn, sha256: summaryExtra.sha256, withKey: true, keyStore: 'pkcs11' } },
        deps.actor,
        ws.now,
      );
      return { ...caSummary(ca, parent?.name ?? null), ...summaryExtra };
    }
    const keyPem = readInput(input.key, 'input.key');
    const keyEncrypted = keyPem.toString('latin1').includes('ENCRYPTED');
    const keyPassphrase = keyEncrypted ? await passphraseToUnlock(deps, { ...(input.keyPassphraseFile ? { passphraseFile: input.keyPassphraseFile } : {}) }, `input.key ${input.key}`, 'input.keyPassphraseFile') : undefined;
    const key = caKeyStore(ws).adopt(keyPem, input.key, keyPassphrase, input.name);
    if (!spkiMatches(key.spki, cert.publicKey))
      throw new PkiError('CRYPTO_KEY_MISMATCH', `input.key ${input.key} does not match input.cert ${input.cert}`, { details: { file: input.key, cert: input.cert, input: ['key', 'cert'] } });
    const keyType = key.keyType;
    if (!keyType) throw new PkiError('POLICY_KEY_TYPE_NOT_ALLOWED', `input.key ${input.key}: ${key.description} is not supported for a CA (use ${KEY_TYPES.join(', ')})`, { details: { input: 'key' } });
    const passphrase = input.noPassphrase ? undefined : await passphraseForNewKey(deps, input, `CA ${input.name}'s key`);
    const keyPath = key.persist(passphrase);
    if (passphrase === undefined) warnUnencrypted(deps, `CA ${input.name}'s key ${keyShown(ws, input.name, keyPath)}`);
    try {
      const ca = await ws.store.createCa(
        {
          name: input.name,
          parentId: parent?.id ?? null,
          status: 'active',
          subjectDn: cert.subjectDn,
          certDer: cert.der,
          csrDer: null,
          externalChainPem: chainPem,
          keyPath,
          keyType,
          keyEncrypted: passphrase !== undefined,
          serial: cert.serialHex,
          notBefore: cert.notBefore,
          notAfter: cert.notAfter,
          createdAt: ws.now,
        },
        null,
        { action: 'ca.import', target: input.name, details: { serial: cert.serialHex, issuer: cert.issuerDn, sha256: summaryExtra.sha256, withKey: true } },
        deps.actor,
        ws.now,
      );
      return { ...caSummary(ca, parent?.name ?? null), ...summaryExtra };
    } catch (e) {
      key.discard();
      throw e;
    }
  });
}
