/**
 * `pki import easy-rsa`: an easy-rsa 3 PKI directory. Its CA is an openssl ca database with this layout:
 *
 *   ca.crt  private/ca.key  index.txt  [crlnumber]  [crl.pem]
 *   issued/NAME.crt  certs_by_serial/SERIAL.pem  revoked/certs_by_serial/SERIAL.crt  (certificates it keeps)
 *
 * Everything is imported as `pki import openssl-ca` does (one transaction, the same checks).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { PkiError } from '../../errors.js';
import type { Deps } from '../../ports.js';
import type { ImportCommonInput } from './common.js';
import { importIndexedCa } from './openssl-ca.js';

export interface EasyRsaImportInput extends ImportCommonInput {
  pkiDir: string;
}

export async function importEasyRsa(deps: Deps, input: EasyRsaImportInput) {
  const dir = input.pkiDir;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new PkiError('NOT_FOUND_FILE', `input.pkiDir ${dir}: no such directory; nothing was imported`, { details: { file: dir, flag: 'input.pkiDir', input: 'pkiDir' } });
  const p = (...parts: string[]) => join(dir, ...parts);
  const missing = ['ca.crt', join('private', 'ca.key'), 'index.txt'].filter((f) => !fs.existsSync(p(f)));
  if (missing.length)
    throw new PkiError('NOT_FOUND_FILE', `input.pkiDir ${dir} is not an easy-rsa PKI with a CA: ${missing.join(', ')} missing; nothing was imported`, {
      details: { file: dir, missing, input: 'pkiDir' },
      hint: 'point input.pkiDir at the directory easy-rsa made with init-pki and build-ca (it holds ca.crt and private/ca.key)',
    });
  const certDirs = [p('issued'), p('certs_by_serial'), p('revoked', 'certs_by_serial')].filter((d) => fs.existsSync(d)).map((d) => ({ dir: d, flag: 'input.pkiDir' }));
  return importIndexedCa(deps, input, p('ca.crt'), 'input.pkiDir', p('private', 'ca.key'), 'input.pkiDir', {
    tool: 'easy-rsa',
    index: p('index.txt'),
    indexFlag: 'input.pkiDir',
    certDirs,
    crl: fs.existsSync(p('crl.pem')) ? { file: p('crl.pem'), flag: 'input.pkiDir' } : undefined,
    crlnumber: fs.existsSync(p('crlnumber')) ? { file: p('crlnumber'), flag: 'input.pkiDir' } : undefined,
  });
}
