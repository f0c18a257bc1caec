/** `pki ca list` and `pki ca export`. */
import { checkOutput, writeFileAtomic } from '../../fs/files.js';
import type { Deps } from '../../ports.js';
import { caStates, describeState } from '../ca-state.js';
import { caCertificate, caChain, chainToPem, getCa, withWorkspace } from '../workspace.js';
import { caSummary } from './shared.js';

/** `pki ca list` */
export async function listCas(deps: Deps, input: { dir?: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const cas = await ws.store.listCas();
    const names = new Map(cas.map((c) => [c.id, c.name]));
    const states = await caStates(ws, cas);
    return cas.map((c) => ({
      ...caSummary(c, c.parentId === null ? null : (names.get(c.parentId) ?? null)),
      // The effective state: revoked or retired also when inherited from an issuer (see ca-state.ts).
      status: states.get(c.id)!.state,
      statusDetail: describeState(states.get(c.id)!),
      retiredAt: states.get(c.id)!.retiredAt?.toISOString() ?? null,
      expired: c.notAfter ? c.notAfter.getTime() <= ws.now.getTime() : false,
      pathLen: c.certDer ? (caCertificate(c).basicConstraints?.pathLen ?? null) : null,
    }));
  });
}

/** `pki ca export`: the CA certificate (and with `chain`, its issuers up to the root) as PEM. */
export async function exportCa(deps: Deps, input: { dir?: string; name: string; chain?: boolean; out?: string; force?: boolean }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.name, 'CA');
    const certs = input.chain ? await caChain(ws, ca) : [caCertificate(ca)];
    const pem = chainToPem(certs);
    if (input.out) {
      checkOutput(input.out, 'input.out', input.force ?? false);
      writeFileAtomic(input.out, pem, { force: input.force ?? false, flag: 'input.out' });
    }
    return { name: ca.name, certificates: certs.length, out: input.out ?? null, pem };
  });
}
