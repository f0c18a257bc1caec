/** Profiles (§7) and their certificate attribute mappings (§6.3). */
import { randomUUID } from 'node:crypto';
import { DEFAULT_MAPPINGS, type AttributeMappings, type CertificateField } from '../../domain/session.js';
import { checkName, checkTags, validation } from '../rules.js';
import { page } from '../http.js';
import { find, type Profile } from '../state.js';
import type { ResourceContext } from './context.js';

/** A profile's attribute mappings (absent in state files from before they existed: the defaults). */
export const mappingsOf = (p: Profile): AttributeMappings => p.attributeMappings ?? structuredClone(DEFAULT_MAPPINGS);

/** The API shape: attributeMappings as [{certificateField, mappingRules: [{specifier}]}]. */
export const profileView = (p: Profile) => {
  const { tags: _tags, attributeMappings: _m, ...rest } = p;
  return { ...rest, attributeMappings: Object.entries(mappingsOf(p)).map(([certificateField, specs]) => ({ certificateField, mappingRules: specs.map((specifier) => ({ specifier })) })) };
};

const ROLE_ARN = /^arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)$/;
function checkProfileFields(b: Record<string, any>, creating: boolean): void {
  if (creating || b.roleArns !== undefined) {
    if (!Array.isArray(b.roleArns)) throw validation("1 validation error detected: Value at 'roleArns' failed to satisfy constraint: Member must not be null");
    if (b.roleArns.length > 250) throw validation("1 validation error detected: Value at 'roleArns' failed to satisfy constraint: Member must have length less than or equal to 250");
    const bad = b.roleArns.find((r: unknown) => typeof r !== 'string' || !ROLE_ARN.test(r));
    if (bad !== undefined) throw validation(`1 validation error detected: Value '${String(bad)}' at 'roleArns' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)$`);
  }
  if (b.durationSeconds !== undefined && (!Number.isInteger(b.durationSeconds) || b.durationSeconds < 900 || b.durationSeconds > 43200))
    throw validation("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200");
  if (b.managedPolicyArns !== undefined && (!Array.isArray(b.managedPolicyArns) || b.managedPolicyArns.length > 50 || b.managedPolicyArns.some((a: unknown) => typeof a !== 'string' || a.length < 1 || a.length > 200)))
    throw validation("1 validation error detected: Value at 'managedPolicyArns' failed to satisfy constraint: at most 50 ARNs of 1 to 200 characters");
  if (!creating && b.sessionPolicy !== undefined && (typeof b.sessionPolicy !== 'string' || b.sessionPolicy.length < 1 || b.sessionPolicy.length > 100000))
    throw validation("1 validation error detected: Value at 'sessionPolicy' failed to satisfy constraint: Member must have length between 1 and 100000");
}

const FIELDS = ['x509Subject', 'x509Issuer', 'x509SAN'];
function checkField(f: unknown): CertificateField {
  if (typeof f !== 'string' || !FIELDS.includes(f)) throw validation(`1 validation error detected: Value at 'certificateField' failed to satisfy constraint: Member must satisfy enum value set: [${FIELDS.join(', ')}]`);
  return f as CertificateField;
}
/** "Name" and "Name/" mean "Name/*" and are shown so (§6.3). */
const normalise = (field: CertificateField, s: string): string => (field === 'x509SAN' && (s === 'Name' || s === 'Name/') ? 'Name/*' : s);

export function registerProfiles(ctx: ResourceContext, opts: { defaultEnabled: boolean }): void {
  const { store: state, router, now, region, account } = ctx;
  const findProfile = (id: string): Profile => find(state.profiles, id, 'profile');
  const route = router.route.bind(router);
  route('POST', /^\/profiles$/, 'CreateProfile', 'profile', (_m, b) => {
    const name = checkName(b.name);
    checkProfileFields(b, true);
    if (state.profiles.size >= 250) throw validation('Profiles quota exceeded (250)');
    const id = randomUUID();
    const t = now();
    const p: Profile = {
      profileId: id,
      profileArn: `arn:aws:rolesanywhere:${region}:${account}:profile/${id}`,
      name,
      roleArns: b.roleArns,
      managedPolicyArns: b.managedPolicyArns ?? [],
      ...(typeof b.sessionPolicy === 'string' ? { sessionPolicy: b.sessionPolicy } : {}),
      durationSeconds: b.durationSeconds ?? 3600,
      requireInstanceProperties: b.requireInstanceProperties === true,
      acceptRoleSessionName: b.acceptRoleSessionName === true,
      enabled: typeof b.enabled === 'boolean' ? b.enabled : opts.defaultEnabled,
      createdBy: `arn:aws:sts::${account}:assumed-role/emulator`,
      createdAt: t,
      updatedAt: t,
      tags: checkTags(b.tags),
    };
    state.profiles.set(id, p);
    return { status: 201, body: { profile: profileView(p) }, mutates: true };
  });
  route('GET', /^\/profiles$/, 'ListProfiles', 'profile', (_m, _b, q) => {
    const { slice, nextToken } = page([...state.profiles.values()], q);
    return { status: 200, body: { profiles: slice.map(profileView), ...(nextToken ? { nextToken } : {}) }, mutates: false };
  });
  route('GET', /^\/profile\/([^/]+)$/, 'GetProfile', 'profile', (m) => ({ status: 200, body: { profile: profileView(findProfile(m[1]!)) }, mutates: false }));
  route('PATCH', /^\/profile\/([^/]+)$/, 'UpdateProfile', 'profile', (m, b) => {
    const p = findProfile(m[1]!);
    if (b.requireInstanceProperties !== undefined) throw validation('requireInstanceProperties cannot be updated');
    checkProfileFields(b, false);
    if (b.name !== undefined) p.name = checkName(b.name);
    if (b.roleArns !== undefined) p.roleArns = b.roleArns;
    if (b.managedPolicyArns !== undefined) p.managedPolicyArns = b.managedPolicyArns;
    if (b.sessionPolicy !== undefined) p.sessionPolicy = b.sessionPolicy;
    if (b.durationSeconds !== undefined) p.durationSeconds = b.durationSeconds;
    if (b.acceptRoleSessionName !== undefined) p.acceptRoleSessionName = b.acceptRoleSessionName === true;
    p.updatedAt = now();
    return { status: 200, body: { profile: profileView(p) }, mutates: true };
  });
  route('DELETE', /^\/profile\/([^/]+)$/, 'DeleteProfile', 'profile', (m) => {
    const p = findProfile(m[1]!);
    state.profiles.delete(p.profileId);
    return { status: 200, body: { profile: profileView(p) }, mutates: true };
  });
  router.toggles('profile', 'Profile', 'profile', findProfile, (p) => ({ profile: profileView(p) }), now);
  // Attribute mappings (§6.3): Put replaces the field's specifiers; Delete removes some, or all of the field's.
  route('PUT', /^\/profiles\/([^/]+)\/mappings$/, 'PutAttributeMapping', 'profile', (m, b) => {
    const p = findProfile(m[1]!);
    const field = checkField(b.certificateField);
    if (!Array.isArray(b.mappingRules) || b.mappingRules.some((r: { specifier?: unknown }) => typeof r?.specifier !== 'string' || r.specifier.length > 60))
      throw validation("1 validation error detected: Value at 'mappingRules' failed to satisfy constraint: a list of {specifier} of at most 60 characters");
    const mappings = mappingsOf(p);
    mappings[field] = [...new Set((b.mappingRules as Array<{ specifier: string }>).map((r) => normalise(field, r.specifier)))];
    p.attributeMappings = mappings;
    p.updatedAt = now();
    return { status: 200, body: { profile: profileView(p) }, mutates: true };
  });
  route('DELETE', /^\/profiles\/([^/]+)\/mappings$/, 'DeleteAttributeMapping', 'profile', (m, _b, q) => {
    const p = findProfile(m[1]!);
    const field = checkField(q.get('certificateField'));
    const specifiers = q.getAll('specifiers').map((s) => normalise(field, s));
    const mappings = mappingsOf(p);
    mappings[field] = specifiers.length ? mappings[field].filter((s) => !specifiers.includes(s)) : [];
    p.attributeMappings = mappings;
    p.updatedAt = now();
    return { status: 200, body: { profile: profileView(p) }, mutates: true };
  });
}
