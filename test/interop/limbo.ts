/**
 * Runs x509-limbo testcases (test/fixtures/x509-limbo, Apache-2.0) through `pki verify`'s path validation in plain
 * RFC 5280 mode (`pki verify --rfc5280`: MD5/SHA-1 refused, no Roles Anywhere chain or leaf rules) and, optionally,
 * through `openssl verify -x509_strict`.
 *
 * Comparable cases: hostname checks are not part of client-certificate validation, so a case counts only when its
 * verdict cannot hinge on one: it names no expected peer, or the leaf's subjectAltName holds the expected peer name
 * (so a hostname check would pass and the verdict is the path's). The rest are skipped and counted.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { parseCertificate } from '../../src/x509/certificate.js';
import { crlDerFromFile, decodeCrl } from '../../src/x509/crl.js';
import { validatePath } from '../../src/x509/path.js';

export interface LimboCase {
  id: string;
  validation_kind: string;
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  expected_result: 'SUCCESS' | 'FAILURE';
  expected_peer_name: { kind: string; value: string } | null;
  max_chain_depth: number | null;
  crls: string[];
  extended_key_usage?: string[];
}

export function loadLimbo(file: 'limbo.json' | 'limbo-full.json.gz', root: string): LimboCase[] {
  const path = join(root, 'test/fixtures/x509-limbo', file);
  const raw = fs.readFileSync(path);
  return (JSON.parse((file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8')) as { testcases: LimboCase[] }).testcases;
}

/** Whether the case's verdict can depend on a hostname check (see the file comment). */
export function hingesOnHostname(t: LimboCase): boolean {
  const name = t.expected_peer_name;
  if (!name) return false;
  let sans: string[];
  try {
    sans = (new crypto.X509Certificate(t.peer_certificate).subjectAltName ?? '').split(', ');
  } catch {
    return true;
  }
  const v = name.value.toLowerCase();
  for (const s of sans) {
    if (name.kind === 'DNS' && s.startsWith('DNS:')) {
      const d = s.slice(4).toLowerCase();
      if (d === v || (d.startsWith('*.') && v.split('.').slice(1).join('.') === d.slice(2))) return false;
    }
    if (name.kind === 'IP' && s.startsWith('IP Address:') && s.slice(11).toLowerCase() === v) return false;
  }
  return true;
}

const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

/** pki's verdict (true = valid) and, when it fails, why. */
export function pkiVerdict(t: LimboCase): { valid: boolean; why?: string } {
  const at = t.validation_time ? new Date(t.validation_time) : new Date();
  try {
    const leaf = parseCertificate(der(t.peer_certificate), 'peer');
    const intermediates = t.untrusted_intermediates.map((p, i) => parseCertificate(der(p), `intermediate ${i}`));
    const anchors = t.trusted_certs.map((p, i) => parseCertificate(der(p), `trusted ${i}`));
    const crls = (t.crls ?? []).map((p, i) => decodeCrl(crlDerFromFile(Buffer.from(p), `crl ${i}`), `crl ${i}`));
    const r = validatePath(leaf, intermediates, anchors, crls, {
      at,
      rejectWeakSignatures: true,
      crlCheck: 'given',
      ...(t.max_chain_depth != null ? { maxPathDepth: t.max_chain_depth } : {}),
    });
    return r.ok ? { valid: true } : { valid: false, why: `${r.failure.check}: ${r.failure.message}` };
  } catch (e) {
    return { valid: false, why: `parse: ${(e as Error).message}` };
  }
}

/** openssl verify -x509_strict's verdict (CRLs with -crl_check when the case has them). `dir` is the case's own. */
export async function opensslVerdict(t: LimboCase, dir: string): Promise<boolean> {
  const at = t.validation_time ? new Date(t.validation_time) : new Date();
  fs.writeFileSync(join(dir, 'ca.pem'), t.trusted_certs.join(''));
  fs.writeFileSync(join(dir, 'int.pem'), t.untrusted_intermediates.join(''));
  fs.writeFileSync(join(dir, 'peer.pem'), t.peer_certificate);
  const crlArgs: string[] = [];
  if (t.crls?.length) {
    fs.writeFileSync(join(dir, 'crl.pem'), t.crls.join(''));
    crlArgs.push('-crl_check', '-CRLfile', join(dir, 'crl.pem'));
  }
  try {
    await promisify(execFile)(
      'openssl',
      [
        'verify',
        '-x509_strict',
        '-attime',
        String(Math.floor(at.getTime() / 1000)),
        ...(t.max_chain_depth != null ? ['-verify_depth', String(t.max_chain_depth)] : []),
        ...crlArgs,
        '-CAfile',
        join(dir, 'ca.pem'),
        ...(t.untrusted_intermediates.length ? ['-untrusted', join(dir, 'int.pem')] : []),
        join(dir, 'peer.pem'),
      ],
    );
    return true;
  } catch {
    return false;
  }
}
