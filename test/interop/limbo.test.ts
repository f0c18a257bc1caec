/**
 * x509-limbo (test/fixtures/x509-limbo): `pki verify --rfc5280` against the suite's expected verdicts, beside
 * `openssl verify -x509_strict` on the same inputs. Every comparable hand-written case runs, plus a fixed sample of the
 * 9,572 BetterTLS cases (every 25th); LIMBO_FULL=1 (`npm run limbo`) runs all of them (~2 min) and prints the figures the
 * README reports. Comparable: the verdict cannot hinge on a hostname check (see test/interop/limbo.ts).
 *
 * The properties: pki agrees with the suite at least as often as openssl; pki never accepts a case that both the suite
 * and openssl reject; every other case where pki accepts what the suite rejects is listed with its reason below.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers.js';
import { hingesOnHostname, loadLimbo, opensslVerdict, pkiVerdict, type LimboCase } from './limbo.js';

/** Cases pki accepts although the suite expects a failure (openssl accepts them too), and why that is deliberate. */
const DELIBERATE_ACCEPTS: Array<[RegExp, string]> = [
  [/^webpki::/, 'Web PKI (CA/Browser Forum) rules for TLS server certificates: not part of RFC 5280 client validation'],
  [/^rfc5280::eku::/, 'the expected EKU is a caller input; pki verify --rfc5280 takes no required EKU (nested EKU is checked)'],
  [/^rfc5280::serial::(zero|too-long)$/, 'serials are matched as found in the wild; pki lint reports X509_SERIAL_NOT_POSITIVE / X509_SERIAL_TOO_LONG'],
  [/^rfc5280::nc::(invalid-dnsname-leading-period|permitted-dns-match-noncritical|nc-permits-invalid-dns-san|nc-forbids-dnsname-wildcard-san)$/, 'DNS name-constraint edge cases that Go and openssl also accept; the constraint itself is enforced'],
  [/^rfc5280::pc::ica-noncritical-pc$/, 'a non-critical policyConstraints is processed, as openssl does'],
  [/^rfc5280::san::underscore-dns$/, 'an underscore in a dNSName SAN is read as-is, as openssl does'],
  [/^cve::cve-2025-61727$/, 'a wildcard SAN under an excluded subtree: the hostname-facing half of the CVE; openssl accepts it too'],
];

describe('x509-limbo', () => {
  it('pki verify --rfc5280 agrees with the suite at least as often as openssl -x509_strict and never accepts what both reject', async () => {
    const full = process.env.LIMBO_FULL === '1';
    const all = [...loadLimbo('limbo-full.json.gz', ROOT)];
    const comparable = all.filter((t) => !hingesOnHostname(t));
    let i = 0;
    const cases = full ? comparable : comparable.filter((t) => !t.id.startsWith('bettertls::') || i++ % 25 === 0);
    const dir = tempDir('pki-limbo-');
    const results: Array<{ t: LimboCase; pki: { valid: boolean; why?: string }; openssl: boolean }> = [];
    // openssl runs two at a time (one per core), asynchronously so the test runner stays responsive.
    for (let k = 0; k < cases.length; k += 2) {
      const batch = cases.slice(k, k + 2);
      const verdicts = await Promise.all(
        batch.map((t, j) => {
          const d = join(dir, String(j));
          fs.mkdirSync(d, { recursive: true });
          return opensslVerdict(t, d);
        }),
      );
      batch.forEach((t, j) => results.push({ t, pki: pkiVerdict(t), openssl: verdicts[j]! }));
    }
    const expected = (t: LimboCase) => t.expected_result === 'SUCCESS';
    const pkiAgrees = results.filter((r) => r.pki.valid === expected(r.t)).length;
    const opensslAgrees = results.filter((r) => r.openssl === expected(r.t)).length;
    const bothReject = results.filter((r) => r.pki.valid && !expected(r.t) && !r.openssl).map((r) => r.t.id);
    const accepts = results.filter((r) => r.pki.valid && !expected(r.t));
    const unexplained = accepts.filter((r) => !DELIBERATE_ACCEPTS.some(([re]) => re.test(r.t.id))).map((r) => r.t.id);
    const stricter = results.filter((r) => !r.pki.valid && expected(r.t)).map((r) => `${r.t.id}: ${r.pki.why} (openssl ${r.openssl ? 'accepts' : 'rejects'})`);
    const pct = (n: number) => `${((100 * n) / results.length).toFixed(1)}%`;
    console.log(
      `x509-limbo ${full ? 'full' : 'sample'}: ${results.length} comparable cases of ${all.length} (${comparable.length} comparable in all); ` +
        `pki ${pkiAgrees} (${pct(pkiAgrees)}), openssl -x509_strict ${opensslAgrees} (${pct(opensslAgrees)})\n` +
        `  pki rejects, the suite expects success:\n    ${stricter.join('\n    ') || '(none)'}\n` +
        `  pki accepts, the suite expects failure (deliberate, see DELIBERATE_ACCEPTS): ${accepts.length}`,
    );
    expect(results.length).toBeGreaterThan(200);
    expect(bothReject).toEqual([]);
    expect(unexplained).toEqual([]);
    expect(pkiAgrees).toBeGreaterThanOrEqual(opensslAgrees);
  }, 600_000);
});
