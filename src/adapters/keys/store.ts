/**
 * The key store of keys kept in a shared store (reference `store:NAME`): the CA's encrypted PKCS#8 PEM is read from the
 * store and unlocked here with the operators' passphrase, like a key file (src/adapters/keys/file.ts).
 */
import { PkiError } from '../../errors.js';
import type { Store } from '../../ports.js';
import type { KeyStore, Signer } from '../../ports/signer.js';
import type { FileKeyStore } from './file.js';

export class StoreKeyStore implements Pick<KeyStore, 'open'> {
  constructor(
    private readonly store: Pick<Store, 'caKey'>,
    private readonly files: Pick<FileKeyStore, 'openPem'>,
  ) {}

  async open(ref: string, unlock?: string | (() => Promise<string | undefined>), label?: string): Promise<Signer> {
    const name = ref.replace(/^store:/i, '');
    const pem = this.store.caKey ? await this.store.caKey(name) : undefined;
    if (!pem)
      throw new PkiError('NOT_FOUND_KEY', `CA ${label ?? name}'s key ${ref} is not in the store`, {
        details: { ca: label ?? name, keyRef: ref },
        hint: 'a store: key reference needs the key row that pki keeps with the CA in a shared store; restore the database from its pg_dump backup',
      });
    return this.files.openPem(pem, ref, unlock);
  }
}
