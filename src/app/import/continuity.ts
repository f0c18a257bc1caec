/**
 * CRL continuity for CAs made elsewhere: the first CRL pki makes for an imported CA must be numbered above the old
 * tool's last one (RFC 5280 §5.2.3: CRL numbers increase monotonically for a CA), or relying parties keep the old,
 * higher-numbered CRL, or worse, accept pki's empty "#1" and un-revoke every old certificate. When the old number is
 * unknown, `pki crl generate` refuses (STATE_CRL_HISTORY_UNKNOWN) until the user gives it.
 */
import { PkiError } from '../../errors.js';
import type { CaRecord, CrlRecord, Store } from '../../ports.js';

/** What `crl generate` knows about a CA's CRL history before its first CRL here. */
export interface CrlHistoryFacts {
  /** From the import (pki import ...): the lowest allowed number, or null when the old tool's number is unknown. */
  imported?: { nextCrlNumber: number | null; source: string | null; tool: string };
  /** A CA brought in by `pki ca import --key` (its own certificate was not made by this PKI): history unknown. */
  madeElsewhere: boolean;
}

/** Reads the facts outside the CRL transaction (they never change after the CA is recorded). */
export async function crlHistoryFacts(store: Store, ca: CaRecord): Promise<CrlHistoryFacts> {
  const h = await store.caHistory(ca.id);
  if (h) return { imported: { nextCrlNumber: h.nextCrlNumber, source: h.crlNumberSource, tool: h.tool }, madeElsewhere: true };
  // A CA whose certificate this PKI made (init, ca create, ca csr + sign/import) has no history elsewhere: its key was
  // made here. Otherwise (ca import --key) it may have signed CRLs before.
  if (ca.csrDer !== null || !ca.serial || !ca.certDer) return { madeElsewhere: false };
  const own = await store.getCertificates(ca.serial);
  return { madeElsewhere: !own.some((c) => c.der.equals(ca.certDer!)) };
}

/**
 * The number of the CRL about to be made. With a CRL already made here: the next one (`input.firstCrlNumber` is then
 * refused). Before the first one, for a CA made elsewhere: the largest of the imported floor, `input.previous`'s number
 * + 1 and `input.firstCrlNumber`; none known → STATE_CRL_HISTORY_UNKNOWN.
 */
export function nextCrlNumber(ca: CaRecord, last: CrlRecord | undefined, facts: CrlHistoryFacts, previousNumber: bigint | undefined, firstCrlNumber: number | undefined): number {
  if (last) {
    if (firstCrlNumber !== undefined)
      throw new PkiError('USAGE_FIRST_CRL_NUMBER', `input.firstCrlNumber is only for a CA's first CRL here; CA ${ca.name} already has CRL #${last.crlNumber}`, { details: { ca: ca.name, crlNumber: last.crlNumber, input: 'firstCrlNumber' } });
    return last.crlNumber + 1;
  }
  if (firstCrlNumber !== undefined && (!Number.isSafeInteger(firstCrlNumber) || firstCrlNumber < 1))
    throw new PkiError('USAGE_FIRST_CRL_NUMBER', `input.firstCrlNumber ${firstCrlNumber} must be a whole number from 1`, { details: { ca: ca.name, input: 'firstCrlNumber' } });
  if (!facts.madeElsewhere) return firstCrlNumber ?? 1;
  const known: Array<{ n: bigint; what: string }> = [];
  if (facts.imported?.nextCrlNumber != null) known.push({ n: BigInt(facts.imported.nextCrlNumber), what: `the imported history (${facts.imported.source})` });
  if (previousNumber !== undefined) known.push({ n: previousNumber + 1n, what: `input.previous (CRL #${previousNumber})` });
  if (!known.length && firstCrlNumber === undefined)
    throw new PkiError('STATE_CRL_HISTORY_UNKNOWN', `CA ${ca.name} was made elsewhere and the number of its last CRL there is unknown: a CRL numbered from 1 could be taken as older than the old CA's, or replace it without its revocations`, {
      details: { ca: ca.name, input: ['previous', 'firstCrlNumber'] },
      hint: `pass input.previous OLD.crl (the old CA's last CRL: its number is continued and its entries checked) or input.firstCrlNumber N (above the old CA's last CRL number)`,
    });
  const floor = known.reduce<{ n: bigint; what: string } | undefined>((a, b) => (!a || b.n > a.n ? b : a), undefined);
  if (firstCrlNumber !== undefined) {
    if (floor && BigInt(firstCrlNumber) < floor.n)
      throw new PkiError('USAGE_FIRST_CRL_NUMBER', `input.firstCrlNumber ${firstCrlNumber} is not above the old CA's CRLs: ${floor.what} needs at least ${floor.n}`, {
        details: { ca: ca.name, minimum: String(floor.n), input: ['firstCrlNumber', 'previous'] },
      });
    return firstCrlNumber;
  }
  if (floor!.n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new PkiError('USAGE_FIRST_CRL_NUMBER', `${floor!.what}: CRL number ${floor!.n} is larger than pki supports`, { details: { ca: ca.name, input: ['previous'] } });
  return Number(floor!.n);
}
