/** pki.yaml keys.pkcs11: the default module and PIN source for token keys; a PIN itself is refused. */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfigText, loadConfig } from '../../src/config/config.js';
import { tempDir } from '../helpers.js';

const withPkcs11 = (lines: string) => defaultConfigText(10_000).replace(/(  pbkdf2Iterations: \d+\n)/, `$1  pkcs11:\n${lines}`);

describe('pki.yaml keys.pkcs11', () => {
  it('ok/module (relative to the PKI directory) and pinSource (file: or env:) are read', () => {
    const dir = tempDir();
    fs.writeFileSync(join(dir, 'pki.yaml'), withPkcs11('    module: lib/vendor-pkcs11.so\n    pinSource: env:HSM_PIN\n'));
    expect(loadConfig(dir).keys.pkcs11).toEqual({ module: join(dir, 'lib/vendor-pkcs11.so'), pinSource: 'env:HSM_PIN' });
    fs.writeFileSync(join(dir, 'pki.yaml'), defaultConfigText(10_000));
    expect(loadConfig(dir).keys.pkcs11).toEqual({});
  });

  it('fail/a PIN written as pinSource, or an unknown key, is CONFIG_INVALID naming file:line:col (the value, maybe the PIN, is not echoed)', () => {
    const dir = tempDir();
    fs.writeFileSync(join(dir, 'pki.yaml'), withPkcs11('    pinSource: "246810"\n'));
    let err: any;
    try {
      loadConfig(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(err.message).toMatch(/pki\.yaml:\d+:\d+: keys\.pkcs11\.pinSource: the value \(not shown\) must be file:PATH .* or env:NAME/);
    expect(err.message).not.toContain('246810');
    fs.writeFileSync(join(dir, 'pki.yaml'), withPkcs11('    pin: 246810\n'));
    expect(() => loadConfig(dir)).toThrow(/keys\.pkcs11\.pin: unknown key/);
  });
});
