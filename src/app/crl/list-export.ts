/** `pki crl list` and `pki crl export`: the CRLs a CA made, as recorded in the store. */
import { PkiError } from '../../errors.js';
import { checkOutput, writeFileAtomic } from '../../fs/files.js';
import type { Deps } from '../../ports.js';
import { toPem } from '../../asn1/pem.js';
import { getCa, withWorkspace } from '../workspace.js';
import { crlSummary } from './shared.js';

export async function listCrls(deps: Deps, input: { dir?: string; ca: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    return (await ws.store.listCrls(ca.id)).map((c) => crlSummary(c, ca.name, ws.config.crl.maxPemBytes));
  });
}

export async function exportCrl(deps: Deps, input: { dir?: string; ca: string; number?: number; out?: string; format?: 'pem' | 'der'; force?: boolean }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    const crls = await ws.store.listCrls(ca.id);
    const wanted = input.number === undefined ? crls[crls.length - 1] : crls.find((c) => c.crlNumber === input.number);
    if (!wanted)
      throw new PkiError('NOT_FOUND_CRL', input.number === undefined ? `CA ${ca.name} has no CRL yet` : `CA ${ca.name} has no CRL number ${input.number}`, { details: { ca: ca.name } });
    const der = (await ws.store.crlDer(ca.id, wanted.crlNumber))!;
    const format = input.format ?? 'pem';
    const pem = format === 'pem' ? toPem('X509 CRL', der) : undefined;
    if (input.out) {
      checkOutput(input.out, 'input.out', input.force ?? false);
      writeFileAtomic(input.out, pem ?? der, { force: input.force ?? false, flag: 'input.out' });
    }
    const result: ReturnType<typeof crlSummary> & { out: string | null; format: 'pem' | 'der'; pem?: string; der?: Buffer } = {
      ...crlSummary(wanted, ca.name, ws.config.crl.maxPemBytes),
      out: input.out ?? null,
      format,
    };
    if (!input.out) {
      if (pem) result.pem = pem;
      else result.der = der;
    }
    return result;
  });
}
