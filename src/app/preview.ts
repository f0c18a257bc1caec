/** `pki preview`: what Roles Anywhere will make of a certificate, offline: session name, SourceIdentity, session tags. */
import { parse as parseYaml } from 'yaml';
import { PkiError } from '../errors.js';
import { DEFAULT_MAPPINGS, previewSession, type AttributeMappings, type CertificateField } from '../domain/session.js';
import type { Deps } from '../ports.js';
import type { InputDocument } from './documents.js';
import { parseCertificate, readCertificate } from '../x509/certificate.js';
import { decodePemBlocks } from '../asn1/pem.js';
import { MAX_CHAIN_CERTIFICATES } from '../domain/roles-anywhere.js';

const FIELDS: CertificateField[] = ['x509Subject', 'x509Issuer', 'x509SAN'];

/**
 * A profile's attribute mappings from a file: the GetProfile answer (`{"profile": {"attributeMappings": [...]}}`, as
 * `aws rolesanywhere get-profile` prints it), its `attributeMappings` list alone (a field not listed maps nothing), or
 * a plain `{x509Subject: [CN, OU], ...}` (a field not listed keeps its default).
 */
export function readMappings(text: string, source: string): AttributeMappings {
  let raw: any;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new PkiError('USAGE_BAD_MAPPING', `input.profileMapping ${source}: not JSON or YAML (${(e as Error).message})`, { details: { file: source, input: 'profileMapping' } });
  }
  const list = raw?.profile?.attributeMappings ?? raw?.attributeMappings;
  const bad = (why: string) => new PkiError('USAGE_BAD_MAPPING', `input.profileMapping ${source}: ${why}`, { details: { file: source, input: 'profileMapping' } });
  if (Array.isArray(list)) {
    const out: AttributeMappings = { x509Subject: [], x509Issuer: [], x509SAN: [] };
    for (const m of list) {
      if (!FIELDS.includes(m?.certificateField)) throw bad(`certificateField must be one of ${FIELDS.join(', ')}`);
      if (!Array.isArray(m.mappingRules) || m.mappingRules.some((r: any) => typeof r?.specifier !== 'string')) throw bad('mappingRules must be a list of {specifier}');
      out[m.certificateField as CertificateField] = m.mappingRules.map((r: { specifier: string }) => r.specifier);
    }
    return out;
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const unknown = Object.keys(raw).filter((k) => !FIELDS.includes(k as CertificateField));
    if (unknown.length) throw bad(`unknown field ${unknown.join(', ')} (expected ${FIELDS.join(', ')}, or a GetProfile answer)`);
    const out: AttributeMappings = structuredClone(DEFAULT_MAPPINGS);
    for (const f of FIELDS)
      if (raw[f] !== undefined) {
        if (!Array.isArray(raw[f]) || raw[f].some((s: unknown) => typeof s !== 'string')) throw bad(`${f} must be a list of specifiers`);
        out[f] = raw[f];
      }
    return out;
  }
  throw bad('expected a GetProfile answer, an attributeMappings list, or {x509Subject: [...], ...}');
}

export interface PreviewInput {
  /** The workload certificate (PEM or DER). */
  cert: InputDocument;
  /** The chain the workload would send (PEM). */
  chain?: InputDocument;
  /** The profile's mappings: a GetProfile answer, an attributeMappings list, or {x509Subject: [...], ...} (JSON or YAML). */
  profileMapping?: InputDocument;
}

export async function previewCertificate(deps: Deps, input: PreviewInput) {
  const cert = readCertificate(input.cert.data, input.cert.name);
  const warnings: string[] = [];
  let chainCount = 0;
  if (input.chain) {
    const chainName = input.chain.name;
    const blocks = decodePemBlocks(input.chain.data.toString('latin1'), chainName);
    const certs = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => parseCertificate(b.der, chainName));
    chainCount = certs.length;
    if (blocks.length !== certs.length) warnings.push(`input.chain ${chainName} holds blocks other than CERTIFICATE: the credential helper refuses it ("invalid certificate chain")`);
    if (certs.length > MAX_CHAIN_CERTIFICATES) warnings.push(`input.chain holds ${certs.length} certificates: X-Amz-X509-Chain takes at most ${MAX_CHAIN_CERTIFICATES}`);
    if (certs[0] && !certs[0].subjectDer.equals(cert.issuerDer)) warnings.push(`the first certificate of input.chain (${certs[0].subjectDn}) is not the issuer of input.cert (${cert.issuerDn}); send the issuer first`);
  }
  const mappings = input.profileMapping ? readMappings(input.profileMapping.data.toString('utf8'), input.profileMapping.name) : DEFAULT_MAPPINGS;
  const p = previewSession(cert, mappings);
  const byRules = p.dropped.filter((d) => !d.reason.startsWith('not in the profile'));
  return {
    serial: cert.serialHex,
    subject: cert.subjectDn,
    issuer: cert.issuerDn,
    roleSessionName: p.roleSessionName,
    sourceIdentity: p.sourceIdentity,
    sourceIdentityNote: p.sourceIdentityNote,
    tags: p.tags,
    dropped: p.dropped,
    mappings,
    chainCertificates: chainCount,
    warnings,
    exitCode: byRules.length ? 10 : 0,
  };
}
