/** `pki crl inspect`: any CRL file, of any size, read in one pass. */
import { reasonName } from '../../domain/serial.js';
import { readCrlFile, readInput } from '../../fs/files.js';
import type { Deps } from '../../ports.js';
import { readCertificate, type ParsedCertificate } from '../../x509/certificate.js';
import { decodeCrl, pemLength, walkCrlEntries, type CrlEntry } from '../../x509/crl.js';
import { caCertificate, getCa, withWorkspace, type Workspace } from '../workspace.js';
import { crlMatchesIssuer } from './shared.js';

export interface InspectCrlInput {
  dir?: string;
  file: string;
  issuer?: string;
  ca?: string;
  entries?: boolean;
  onEntry?: (e: CrlEntry) => void;
  /** The CRL's DER when the caller has already read `file`. */
  der?: Buffer;
  /** Called with the header (everything but the entry count and reasons) before any entry is walked. */
  onHeader?: (header: CrlHeader) => void;
}

/** What `crl inspect` knows before walking the entries. */
export interface CrlHeader {
  file: string;
  version: number;
  issuer: string;
  signatureAlgorithm: string;
  thisUpdate: string;
  nextUpdate: string | null;
  crlNumber: string | null;
  authorityKeyId: string | null;
  derBytes: number;
  pemBytes: number;
  signatureValid: boolean | null;
}

/** Reads any CRL (PEM or DER, any size): header, entry count, reason histogram, and the signature when an issuer is given. */
export async function inspectCrl(deps: Deps, input: InspectCrlInput) {
  const der = input.der ?? readCrlFile(input.file, 'FILE');
  const crl = decodeCrl(der, input.file);
  let issuer: ParsedCertificate | undefined;
  if (input.issuer) issuer = readCertificate(readInput(input.issuer, 'input.issuer'), input.issuer);
  else if (input.ca) issuer = await withWorkspace(input.dir, deps, async (ws: Workspace) => caCertificate(await getCa(ws, input.ca!)));
  const entries: CrlEntry[] = [];
  const match = issuer ? crlMatchesIssuer(crl, issuer) : undefined;
  const header: CrlHeader = {
    file: input.file,
    version: crl.version,
    issuer: crl.issuerDn,
    signatureAlgorithm: crl.signatureAlgorithmName,
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate?.toISOString() ?? null,
    crlNumber: crl.crlNumber === undefined ? null : String(crl.crlNumber),
    authorityKeyId: crl.authorityKeyId?.toString('hex') ?? null,
    derBytes: der.length,
    pemBytes: pemLength(der.length),
    signatureValid: match ? match.nameOk && match.akiOk && match.signatureOk : null,
  };
  // The header is known before the entries are walked: a streaming caller prints it first.
  input.onHeader?.(header);
  const { count, reasons } = walkCrlEntries(crl, input.file, input.entries ? (input.onEntry ?? ((e) => entries.push(e))) : undefined);
  return {
    ...header,
    entries: count,
    reasons: Object.fromEntries([...reasons.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k < 0 ? 'none' : reasonName(k), v])),
    ...(input.entries && !input.onEntry
      ? {
          revoked: entries.map((e) => ({
            serial: e.serialHex,
            revocationDate: e.revocationDate.toISOString(),
            reason: e.reason === undefined ? null : reasonName(e.reason),
            invalidityDate: e.invalidityDate?.toISOString() ?? null,
          })),
        }
      : {}),
  };
}
