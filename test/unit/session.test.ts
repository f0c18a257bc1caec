/** session naming and tags (reference §1.6, §1.7, §6), on hand-made names. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAPPINGS, previewSession, sourceIdentity, type SessionCertificate } from '../../src/domain/session.js';
import { parseDn } from '../../src/x509/name.js';

const cert = (subject: string, o: Partial<SessionCertificate> = {}): SessionCertificate => ({
  serialHex: '1a2b',
  subject: subject ? parseDn(subject) : [],
  issuer: parseDn('CN=Issuing CA,O=Example'),
  sans: [],
  sanDirectoryNames: [],
  ...o,
});

describe('SourceIdentity (§1.7)', () => {
  it('"ID=" + even-length hex serial without a CN: the reference\'s vectors 291 → ID=0123, 17767 → ID=4567', () => {
    expect(sourceIdentity(cert('O=Example', { serialHex: (291).toString(16) })).value).toBe('ID=0123');
    expect(sourceIdentity(cert('O=Example', { serialHex: (17767).toString(16) })).value).toBe('ID=4567');
  });
  it('"CN=" up to 61 characters; the bare CN for 62-64', () => {
    expect(sourceIdentity(cert(`CN=${'a'.repeat(61)}`)).value).toBe(`CN=${'a'.repeat(61)}`);
    const at62 = sourceIdentity(cert(`CN=${'b'.repeat(62)}`));
    expect(at62.value).toBe('b'.repeat(62));
    expect(at62.note).toMatch(/no "CN=" prefix/);
  });
});

describe('session tags (§6)', () => {
  it('subject and issuer RDNs, multi-valued joined with "/", only the first DNS and URI SAN, directoryName RDNs', () => {
    const p = previewSession(
      // RFC 4514 text lists the most specific RDN first; in the certificate (DER) order the OUs are Security, Engineering, Research.
      cert('CN=alice,OU=Research,OU=Engineering,OU=Security,O=Example', {
        sans: [
          { type: 'dns', value: 'example.com' },
          { type: 'dns', value: 'second.example.com' },
          { type: 'uri', value: 'spiffe://example.com/workload/alice' },
          { type: 'email', value: 'alice@example.com' },
        ],
        sanDirectoryNames: [parseDn('CN=Alice')],
      }),
    );
    expect(p.tags).toEqual({
      'x509Subject/CN': 'alice',
      'x509Subject/OU': 'Security/Engineering/Research',
      'x509Subject/O': 'Example',
      'x509Issuer/CN': 'Issuing CA',
      'x509Issuer/O': 'Example',
      'x509SAN/DNS': 'example.com',
      'x509SAN/URI': 'spiffe://example.com/workload/alice',
      'x509SAN/Name/CN': 'Alice',
    });
    expect(p.dropped).toEqual([]);
    expect(p.roleSessionName).toBe('1a2b');
  });
  it('drops what STS refuses, with the reason: disallowed characters, more than 256 characters', () => {
    const long = [{ type: 'L', oid: '2.5.4.7', value: 'x'.repeat(257) }];
    const p = previewSession(cert('CN=ok,OU=R&D', { subject: [long, ...parseDn('CN=ok,OU=R&D')] }));
    expect(p.tags).toEqual({ 'x509Subject/CN': 'ok', 'x509Issuer/CN': 'Issuing CA', 'x509Issuer/O': 'Example' });
    expect(p.dropped).toEqual([
      { tag: 'x509Subject/L', value: 'x'.repeat(257), reason: expect.stringContaining('257 characters') },
      { tag: 'x509Subject/OU', value: 'R&D', reason: expect.stringContaining('"&"') },
    ]);
  });
  it('attribute mappings: only the mapped specifiers become tags; "Name" means "Name/*"', () => {
    const c = cert('CN=svc,O=Example', { sans: [{ type: 'dns', value: 'svc.example.com' }], sanDirectoryNames: [parseDn('CN=Svc,O=Example')] });
    const p = previewSession(c, { x509Subject: ['CN'], x509Issuer: [], x509SAN: ['Name'] });
    expect(p.tags).toEqual({ 'x509Subject/CN': 'svc', 'x509SAN/Name/CN': 'Svc', 'x509SAN/Name/O': 'Example' });
    expect(p.dropped.map((d) => d.tag).sort()).toEqual(['x509Issuer/CN', 'x509Issuer/O', 'x509SAN/DNS', 'x509Subject/O']);
    expect(p.dropped.every((d) => d.reason === `not in the profile's ${d.tag.split('/')[0]} attribute mapping`)).toBe(true);
    expect(DEFAULT_MAPPINGS.x509SAN).toEqual(['DNS', 'URI', 'Name/*']);
  });
});
