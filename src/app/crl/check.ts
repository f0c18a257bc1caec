/** `pki crl check`: monitoring of a CA's latest CRL in the store, or of a CRL file. */
import { PkiError } from '../../errors.js';
import { parseDuration } from '../../domain/duration.js';
import { CRL_DATA_MAX_BYTES } from '../../domain/roles-anywhere.js';
import { readCrlFile, readInput } from '../../fs/files.js';
import type { Deps } from '../../ports.js';
import { readCertificate, type ParsedCertificate } from '../../x509/certificate.js';
import { decodeCrl, pemLength, walkCrlEntries } from '../../x509/crl.js';
import { getCa, withWorkspace } from '../workspace.js';
import { crlMatchesIssuer } from './shared.js';

export const CHECK_EXIT = { fresh: 0, warning: 10, critical: 11 } as const;

export interface CheckCrlInput {
  dir?: string;
  ca?: string;
  crl?: string;
  issuer?: string;
  warn?: string;
}

/** Monitoring: 0 fresh, 10 nextUpdate within --warn or revocations not yet in a CRL, 11 expired, missing or invalid. */
export async function checkCrl(deps: Deps, input: CheckCrlInput) {
  if (!!input.ca === !!input.crl) throw new PkiError('USAGE_MISSING_INPUT', 'give input.ca NAME (the latest CRL in the store) or input.crl FILE', { details: { input: ['ca', 'crl'] } });
  const warnSeconds = parseDuration(input.warn ?? '48h', 'input.warn');
  const now = deps.now();
  const judge = (nextUpdate: Date | undefined, extra: string[]) => {
    const problems = [...extra];
    let status: keyof typeof CHECK_EXIT = 'fresh';
    if (!nextUpdate) {
      status = 'critical';
      problems.push('the CRL has no nextUpdate');
    } else if (nextUpdate.getTime() <= now.getTime()) {
      status = 'critical';
      problems.push(`the CRL expired at ${nextUpdate.toISOString()}`);
    } else if (nextUpdate.getTime() - now.getTime() <= warnSeconds * 1000) {
      status = 'warning';
      problems.push(`the CRL expires at ${nextUpdate.toISOString()}, within ${input.warn ?? '48h'}`);
    }
    return { status, problems };
  };
  if (input.crl) {
    const der = readCrlFile(input.crl, 'input.crl');
    const crl = decodeCrl(der, input.crl);
    const { count } = walkCrlEntries(crl, input.crl);
    const extra: string[] = [];
    let signatureValid: boolean | null = null;
    let issuerCert: ParsedCertificate | undefined;
    if (input.issuer) issuerCert = readCertificate(readInput(input.issuer, 'input.issuer'), input.issuer);
    if (issuerCert) {
      const m = crlMatchesIssuer(crl, issuerCert);
      signatureValid = m.nameOk && m.akiOk && m.signatureOk;
      if (!signatureValid) extra.push(`the CRL is not signed by ${input.issuer}`);
    }
    const j = judge(crl.nextUpdate, extra);
    const status = signatureValid === false ? 'critical' : j.status;
    return {
      status,
      exitCode: CHECK_EXIT[status],
      source: input.crl,
      crlNumber: crl.crlNumber === undefined ? null : String(crl.crlNumber),
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate?.toISOString() ?? null,
      entries: count,
      pemBytes: pemLength(der.length),
      budgetBytes: CRL_DATA_MAX_BYTES,
      signatureValid,
      problems: pemLength(der.length) > CRL_DATA_MAX_BYTES ? [...j.problems, `the CRL is larger than the ${CRL_DATA_MAX_BYTES} bytes Roles Anywhere accepts`] : j.problems,
    };
  }
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca!);
    const { last, epoch } = await ws.store.crlStatus(ca.id);
    const budget = ws.config.crl.maxPemBytes;
    if (!last)
      return { status: 'critical' as const, exitCode: CHECK_EXIT.critical, source: `CA ${ca.name}`, crlNumber: null, thisUpdate: null, nextUpdate: null, entries: 0, pemBytes: 0, budgetBytes: budget, signatureValid: null, problems: [`CA ${ca.name} has no CRL yet (pki crl generate --ca ${ca.name})`] };
    const extra = epoch !== last.revocationEpoch ? [`certificates were revoked after CRL #${last.crlNumber} was made: generate a new CRL`] : [];
    const j = judge(last.nextUpdate, extra);
    const status = j.status === 'fresh' && extra.length ? 'warning' : j.status;
    if (last.pemSize >= 0.8 * budget) j.problems.push(`the CRL uses ${Math.round((100 * last.pemSize) / budget)}% of its ${budget}-byte budget`);
    return {
      status,
      exitCode: CHECK_EXIT[status],
      source: `CA ${ca.name}`,
      crlNumber: String(last.crlNumber),
      thisUpdate: last.thisUpdate.toISOString(),
      nextUpdate: last.nextUpdate.toISOString(),
      entries: last.entries,
      pemBytes: last.pemSize,
      budgetBytes: budget,
      signatureValid: null,
      problems: j.problems,
    };
  });
}
