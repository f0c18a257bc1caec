/** `pki ca sign`: a subordinate CA's CSR signed by a CA of this PKI (the offline root's side of `pki ca csr`). */
import { throwIfAny } from '../../errors.js';
import type { PassphraseSource } from '../../crypto/passphrase.js';
import { parseValidity } from '../../domain/duration.js';
import { checkOutput, INPUT_LIMITS, readInput, writeFileAtomic } from '../../fs/files.js';
import { loadProfile } from '../../profile/load.js';
import type { Deps } from '../../ports.js';
import { readCsr } from '../../x509/csr.js';
import { toPem } from '../../asn1/pem.js';
import { planCertificate, recordIssued, requestFromCsr, signPlanned } from '../issuance.js';
import { assertIssuing } from '../rotation-state.js';
import { getCa, unlockCa, withWorkspace } from '../workspace.js';
import { checkProfileKind, childPathLen } from './shared.js';

export interface SignCaCsrInput extends PassphraseSource {
  dir?: string;
  /** The signing CA (e.g. the offline root). */
  ca: string;
  csr: string;
  out: string;
  validity?: string;
  pathLen?: number;
  profile?: string;
  force?: boolean;
}

/**
 * `pki ca sign`: the offline root's side of `pki ca csr`. Signs a subordinate CA's CSR with an intermediate-ca
 * profile (subject and key from the CSR; every extension from the profile) and records it as issued.
 */
export async function signCaCsr(deps: Deps, input: SignCaCsrInput) {
  return withWorkspace(input.dir, deps, async (ws) => {
    checkOutput(input.out, 'input.out', input.force ?? false);
    const csr = readCsr(readInput(input.csr, 'input.csr', INPUT_LIMITS.csr), input.csr);
    const validitySeconds = input.validity === undefined ? undefined : parseValidity(input.validity, 'input.validity');
    const profile = loadProfile(input.profile ?? 'intermediate-ca', ws.config.profilesDir, deps.cwd);
    checkProfileKind(profile, ['intermediate-ca']);
    const signerCa = await getCa(ws, input.ca);
    await assertIssuing(ws, signerCa);
    const signer = await unlockCa(ws, signerCa, input);
    const pathLen = childPathLen(signerCa.name, signer.cert, input.pathLen ?? profile.pathLen);
    const req = requestFromCsr(csr, undefined, []);
    const plan = planCertificate(ws, { name: signerCa.name, notBefore: signer.cert.notBefore, notAfter: signer.cert.notAfter }, profile, req, {
      validitySeconds,
      ca: true,
      ...(pathLen === undefined ? {} : { pathLen }),
    });
    throwIfAny(plan.problems, `${input.csr}: ${plan.problems.length} problems`);
    const issued = [await signPlanned(ws, signer.issuer, plan.fields!, req, profile)];
    await recordIssued(ws, signer, issued, [req], profile);
    const pem = toPem('CERTIFICATE', issued[0]!.der);
    writeFileAtomic(input.out, pem, { force: input.force ?? false, flag: 'input.out' });
    const r = issued[0]!.record;
    return { serial: r.serial, issuer: signerCa.name, subject: r.subjectDn, notBefore: r.notBefore.toISOString(), notAfter: r.notAfter.toISOString(), pathLen: pathLen ?? null, out: input.out, pem };
  });
}
