/** Trust anchors (§2.1): Create/List/Get/Update/Delete/Enable/Disable TrustAnchor. */
import { randomUUID } from 'node:crypto';
import { parseCertificate } from '../../x509/certificate.js';
import { decodePemBlocks } from '../../asn1/pem.js';
import { checkBundle, checkName, checkTags, validation, type MlDsaCertificates } from '../rules.js';
import { page } from '../http.js';
import { find, view, type TrustAnchor } from '../state.js';
import type { ResourceContext } from './context.js';

/** The CA certificates of a trust anchor's bundle. */
export const anchorCerts = (ta: TrustAnchor) =>
  decodePemBlocks(ta.source.sourceData.x509CertificateData, 'trust anchor').map((b) => parseCertificate(b.der, 'trust anchor'));

export const anchorView = view<TrustAnchor>;

export function registerAnchors(ctx: ResourceContext, opts: { maxChars: number; defaultEnabled: boolean; mlDsa: MlDsaCertificates }): void {
  const { store: state, router, now, region, account } = ctx;
  const maxChars = opts.maxChars;
  const findAnchor = (id: string): TrustAnchor => find(state.trustAnchors, id, 'trust anchor');
  const route = router.route.bind(router);
  route('POST', /^\/trustanchors$/, 'CreateTrustAnchor', 'trustAnchor', (_m, b) => {
    const name = checkName(b.name);
    if (!b.source || typeof b.source !== 'object') throw validation("1 validation error detected: Value at 'source' failed to satisfy constraint: Member must not be null");
    if (b.source.sourceType !== 'CERTIFICATE_BUNDLE') throw validation(`sourceType ${b.source.sourceType} is not supported by this emulator (only CERTIFICATE_BUNDLE)`);
    checkBundle(b.source.sourceData?.x509CertificateData, maxChars, opts.mlDsa);
    if (state.trustAnchors.size >= 50) throw validation('Trust anchors quota exceeded (50)');
    const id = randomUUID();
    const t = now();
    const ta: TrustAnchor = {
      trustAnchorId: id,
      trustAnchorArn: `arn:aws:rolesanywhere:${region}:${account}:trust-anchor/${id}`,
      name,
      source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: b.source.sourceData.x509CertificateData } },
      enabled: typeof b.enabled === 'boolean' ? b.enabled : opts.defaultEnabled,
      notificationSettings: [],
      createdAt: t,
      updatedAt: t,
      tags: checkTags(b.tags),
    };
    state.trustAnchors.set(id, ta);
    return { status: 201, body: { trustAnchor: anchorView(ta) }, mutates: true };
  });
  route('GET', /^\/trustanchors$/, 'ListTrustAnchors', 'trustAnchor', (_m, _b, q) => {
    const { slice, nextToken } = page([...state.trustAnchors.values()], q);
    return { status: 200, body: { trustAnchors: slice.map(anchorView), ...(nextToken ? { nextToken } : {}) }, mutates: false };
  });
  route('GET', /^\/trustanchor\/([^/]+)$/, 'GetTrustAnchor', 'trustAnchor', (m) => ({ status: 200, body: { trustAnchor: anchorView(findAnchor(m[1]!)) }, mutates: false }));
  route('PATCH', /^\/trustanchor\/([^/]+)$/, 'UpdateTrustAnchor', 'trustAnchor', (m, b) => {
    const ta = findAnchor(m[1]!);
    if (b.name !== undefined) ta.name = checkName(b.name);
    if (b.source !== undefined) {
      if (!b.source || typeof b.source !== 'object') throw validation("1 validation error detected: Value at 'source' failed to satisfy constraint: Member must not be null");
      if (b.source.sourceType !== 'CERTIFICATE_BUNDLE') throw validation(`sourceType ${b.source.sourceType} is not supported by this emulator (only CERTIFICATE_BUNDLE)`);
      checkBundle(b.source.sourceData?.x509CertificateData, maxChars, opts.mlDsa);
      ta.source = { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: b.source.sourceData.x509CertificateData } };
    }
    ta.updatedAt = now();
    return { status: 200, body: { trustAnchor: anchorView(ta) }, mutates: true };
  });
  route('DELETE', /^\/trustanchor\/([^/]+)$/, 'DeleteTrustAnchor', 'trustAnchor', (m) => {
    const ta = findAnchor(m[1]!);
    state.trustAnchors.delete(ta.trustAnchorId);
    for (const c of [...state.crls.values()]) if (c.trustAnchorArn === ta.trustAnchorArn) state.crls.delete(c.crlId);
    return { status: 200, body: { trustAnchor: anchorView(ta) }, mutates: true };
  });
  router.toggles('trustanchor', 'TrustAnchor', 'trustAnchor', findAnchor, (ta) => ({ trustAnchor: anchorView(ta) }), now);
}
