/** `--key-store`: new CA keys on a PKCS#11 token instead of encrypted files. */
export const keyStoreOption = {
  'key-store': {
    type: 'string',
    describe: "generate the key on a PKCS#11 token: an RFC 7512 URI such as 'pkcs11:token=pki-issuing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pki/pin' (the PIN from pin-source, pki.yaml keys.pkcs11.pinSource, $PKI_PKCS11_PIN or a prompt; never pin-value). Once pki.yaml exists, the module is its keys.pkcs11.module (or $PKI_PKCS11_MODULE): a module-path that is not it is refused",
  },
} as const;
