/** CRLs (§3): Import/List/Get/Update/Delete/Enable/Disable Crl, checked by the service's upload rules (rules.ts). */
import { randomUUID } from 'node:crypto';
import { MAX_CRLS_PER_ANCHOR } from '../../domain/roles-anywhere.js';
import { checkCrl, checkName, checkTags, ServiceError, validation, type CrlRules } from '../rules.js';
import { page } from '../http.js';
import { find, view, type Crl } from '../state.js';
import { anchorCerts } from './anchors.js';
import type { ResourceContext } from './context.js';

export const crlView = view<Crl>;

export function registerCrls(ctx: ResourceContext, crlRules: CrlRules): void {
  const { store: state, router, now, region, account } = ctx;
  const findCrl = (id: string): Crl => find(state.crls, id, 'CRL');
  const route = router.route.bind(router);
  const decodeCrlData = (v: unknown): Buffer => {
    if (typeof v !== 'string' || v.length === 0) throw validation("1 validation error detected: Value at 'crlData' failed to satisfy constraint: Member must not be null");
    return Buffer.from(v, 'base64');
  };
  route('POST', /^\/crls$/, 'ImportCrl', 'crl', (_m, b) => {
    const name = checkName(b.name);
    const data = decodeCrlData(b.crlData);
    const ta = [...state.trustAnchors.values()].find((t) => t.trustAnchorArn === b.trustAnchorArn);
    if (!ta) throw new ServiceError('ResourceNotFoundException', 404, `Resource not found: trust anchor ${String(b.trustAnchorArn)}`);
    checkCrl(data, anchorCerts(ta), crlRules);
    if ([...state.crls.values()].filter((c) => c.trustAnchorArn === ta.trustAnchorArn).length >= MAX_CRLS_PER_ANCHOR)
      throw validation(`CRLs per trust anchor quota exceeded: the trust anchor already has ${MAX_CRLS_PER_ANCHOR} CRLs`);
    const id = randomUUID();
    const t = now();
    const crl: Crl = {
      crlId: id,
      crlArn: `arn:aws:rolesanywhere:${region}:${account}:crl/${id}`,
      name,
      crlData: data.toString('base64'),
      enabled: b.enabled === true,
      trustAnchorArn: ta.trustAnchorArn,
      createdAt: t,
      updatedAt: t,
      tags: checkTags(b.tags),
    };
    state.crls.set(id, crl);
    return { status: 201, body: { crl: crlView(crl) }, mutates: true };
  });
  route('GET', /^\/crls$/, 'ListCrls', 'crl', (_m, _b, q) => {
    const { slice, nextToken } = page([...state.crls.values()], q);
    return { status: 200, body: { crls: slice.map(crlView), ...(nextToken ? { nextToken } : {}) }, mutates: false };
  });
  route('GET', /^\/crl\/([^/]+)$/, 'GetCrl', 'crl', (m) => ({ status: 200, body: { crl: crlView(findCrl(m[1]!)) }, mutates: false }));
  route('PATCH', /^\/crl\/([^/]+)$/, 'UpdateCrl', 'crl', (m, b) => {
    const crl = findCrl(m[1]!);
    if (b.name !== undefined) crl.name = checkName(b.name);
    if (b.crlData !== undefined) {
      const data = decodeCrlData(b.crlData);
      const ta = [...state.trustAnchors.values()].find((t) => t.trustAnchorArn === crl.trustAnchorArn);
      checkCrl(data, ta ? anchorCerts(ta) : [], crlRules);
      crl.crlData = data.toString('base64');
    }
    crl.updatedAt = now();
    return { status: 200, body: { crl: crlView(crl) }, mutates: true };
  });
  route('DELETE', /^\/crl\/([^/]+)$/, 'DeleteCrl', 'crl', (m) => {
    const crl = findCrl(m[1]!);
    state.crls.delete(crl.crlId);
    return { status: 200, body: { crl: crlView(crl) }, mutates: true };
  });
  router.toggles('crl', 'Crl', 'crl', findCrl, (crl) => ({ crl: crlView(crl) }), now);
}
