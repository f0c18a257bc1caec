import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

describe('npm run demo', () => {
  it('ok/runs the whole lifecycle offline and shows the commands it ran', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/demo.mjs')], { encoding: 'utf8', env: { ...process.env, PKI_DIR: '' } });
    expect(r.status, r.stderr).toBe(0);
    for (const step of ['pki init', 'pki ca create issuing-1', 'pki issue --ca issuing-1 --csr', 'pki issue --ca issuing-1 --subject', 'pki issue --ca issuing-1 --batch', 'pki revoke', 'pki list', 'pki show', 'pki crl generate --ca issuing-1', 'pki crl check --ca issuing-1'])
      expect(r.stdout).toContain(`$ ${step}`);
    expect(r.stdout).toMatch(/Issued 3 certificate\(s\) from issuing-1/);
    expect(r.stdout).toMatch(/status\s+revoked \(keyCompromise/);
    expect(r.stdout).toContain('(STATE_ALREADY_REVOKED, exit 6)');
    expect(r.stdout).toMatch(/web-01\.pem: OK/);
    expect(r.stdout).toMatch(/CRL #1 for issuing-1: 1 entries/);
    expect(r.stdout).toMatch(/FRESH: CA issuing-1 CRL #1/);
    expect(r.stdout).toMatch(/No new CRL: CRL #1 is valid until/);
    expect(r.stdout).toMatch(/app-02\.pem: verification failed|certificate revoked/);
    expect(r.stdout).toMatch(/Trust anchor demo: CreateTrustAnchor/);
    expect(r.stdout).toMatch(/issuing-1 → demo: imported \(CRL #1; ListCrls, ImportCrl, GetCrl\)/);
    expect(r.stdout).toMatch(/issuing-1 → demo: unchanged \(checked\) \(CRL #1; ListCrls\)/);
    expect(r.stdout).toMatch(/pki-issuing-1 .* true/);
    expect(r.stdout).toMatch(/Rotation of demo started: issuing-1 → issuing-2 \(phase started\)/);
    expect(r.stdout).toMatch(/next: pki rotate switch --anchor demo \(due now\)/);
    expect(r.stdout).toMatch(/aws:PrincipalTag\/x509Subject\/CN +web-01/);
    expect(r.stdout).toMatch(/\{"Version":1,"AccessKeyId":"ASIA[A-Z2-7]{16}","SecretAccessKey":"[^"]+","SessionToken":"[^"]+","Expiration":"[^"]+"\}/);
    expect(r.stdout).toContain('error: AccessDeniedException: Certificate revoked');
    expect(r.stdout).toMatch(/VALID at .*: CN=web-01,O=Example → CN=Demo Issuing CA 1,O=Example → CN=Demo Root CA,O=Example/);
    expect(r.stdout).toMatch(/INVALID at .*: revoked check failed on CN=app-02,O=Example/);
    expect(r.stdout).toMatch(/web-01\.pem \(leaf: CN=web-01,O=Example\): no findings/);
    expect(r.stdout).toContain('Done. Commands run:');
  });
});
