/**
 * Certificate policy processing, RFC 5280 §6.1.2-6.1.5: the valid_policy_tree with policy mappings,
 * requireExplicitPolicy, inhibitPolicyMapping and inhibitAnyPolicy. Qualifiers are ignored.
 */
import { children, decodeOid, decodeUnsignedInteger, readSingle, seqOf, TAG } from '../asn1/der.js';
import type { ParsedCertificate } from './certificate.js';

export const ANY_POLICY = '2.5.29.32.0';

export interface PolicyInputs {
  initialPolicySet: string[];
  initialExplicitPolicy: boolean;
  initialPolicyMappingInhibit: boolean;
  initialInhibitAnyPolicy: boolean;
}

export const DEFAULT_POLICY_INPUTS: PolicyInputs = { initialPolicySet: [ANY_POLICY], initialExplicitPolicy: false, initialPolicyMappingInhibit: false, initialInhibitAnyPolicy: false };

interface Node {
  policy: string;
  expected: Set<string>;
  parent: Node | null;
  children: Node[];
  depth: number;
}

const ext = (c: ParsedCertificate, oid: string) => c.extensions.find((e) => e.oid === oid);

function policiesOf(c: ParsedCertificate): string[] | undefined {
  const e = ext(c, '2.5.29.32');
  return e ? seqOf(e.value).map((pi) => decodeOid(children(pi)[0]!)) : undefined;
}

function mappingsOf(c: ParsedCertificate): Array<[string, string]> {
  const e = ext(c, '2.5.29.33');
  return e ? seqOf(e.value).map((m) => [decodeOid(children(m)[0]!), decodeOid(children(m)[1]!)] as [string, string]) : [];
}

function constraintsOf(c: ParsedCertificate): { require?: number; inhibitMapping?: number } {
  const e = ext(c, '2.5.29.36');
  const out: { require?: number; inhibitMapping?: number } = {};
  if (!e) return out;
  for (const t of seqOf(e.value)) {
    const n = Number(decodeUnsignedInteger({ ...t, tag: TAG.INTEGER }));
    if (t.tag === 0x80) out.require = n;
    else if (t.tag === 0x81) out.inhibitMapping = n;
  }
  return out;
}

function inhibitAnyOf(c: ParsedCertificate): number | undefined {
  const e = ext(c, '2.5.29.54');
  return e ? Number(decodeUnsignedInteger(readSingle(e.value))) : undefined;
}

/**
 * Runs policy processing over `path` (the certificate issued by the trust anchor first, the end entity last).
 * Returns undefined when the path is acceptable, else the reason.
 */
export function checkPolicies(path: ParsedCertificate[], inputs: PolicyInputs): string | undefined {
  try {
    return runPolicies(path, inputs);
  } catch (e) {
    return `malformed certificate policy extension (${(e as Error).message})`;
  }
}

function runPolicies(path: ParsedCertificate[], inputs: PolicyInputs): string | undefined {
  const n = path.length;
  const root: Node = { policy: ANY_POLICY, expected: new Set([ANY_POLICY]), parent: null, children: [], depth: 0 };
  let tree: Node | null = root;
  let explicit = inputs.initialExplicitPolicy ? 0 : n + 1;
  let inhibitAny = inputs.initialInhibitAnyPolicy ? 0 : n + 1;
  let mapping = inputs.initialPolicyMappingInhibit ? 0 : n + 1;
  const atDepth = (d: number): Node[] => {
    const out: Node[] = [];
    const walk = (x: Node) => (x.depth === d ? out.push(x) : x.children.forEach(walk));
    if (tree) walk(tree);
    return out;
  };
  const remove = (x: Node) => {
    if (!x.parent) tree = null;
    else x.parent.children = x.parent.children.filter((c) => c !== x);
  };
  /** Deletes, bottom up, nodes above `depth` that have no children. */
  const prune = (depth: number) => {
    for (let d = depth - 1; d >= 0 && tree; d--) for (const x of atDepth(d)) if (x.children.length === 0) remove(x);
  };
  const addChild = (parent: Node, policy: string, expected: Iterable<string>) => parent.children.push({ policy, expected: new Set(expected), parent, children: [], depth: parent.depth + 1 });

  for (let i = 1; i <= n; i++) {
    const c = path[i - 1]!;
    const selfIssued = c.subjectDer.equals(c.issuerDer);
    const policies = policiesOf(c);
    if (policies && tree) {
      const parents = atDepth(i - 1);
      for (const p of policies.filter((x) => x !== ANY_POLICY)) {
        const matching = parents.filter((x) => x.expected.has(p));
        if (matching.length) matching.forEach((x) => addChild(x, p, [p]));
        else parents.filter((x) => x.policy === ANY_POLICY).forEach((x) => addChild(x, p, [p]));
      }
      if (policies.includes(ANY_POLICY) && (inhibitAny > 0 || (i < n && selfIssued)))
        for (const x of parents) for (const e of x.expected) if (!x.children.some((ch) => ch.policy === e)) addChild(x, e, [e]);
      prune(i);
      if (tree && atDepth(i).length === 0) tree = null;
    } else if (!policies) tree = null;
    if (i < n) {
      const maps = mappingsOf(c);
      if (maps.some(([a, b]) => a === ANY_POLICY || b === ANY_POLICY)) return 'policyMappings maps to or from anyPolicy';
      const byIssuer = new Map<string, string[]>();
      for (const [a, b] of maps) byIssuer.set(a, [...(byIssuer.get(a) ?? []), b]);
      for (const [p, targets] of byIssuer) {
        if (!tree) break;
        if (mapping > 0) {
          const nodes = atDepth(i).filter((x) => x.policy === p);
          if (nodes.length) nodes.forEach((x) => (x.expected = new Set(targets)));
          else {
            const any = atDepth(i).find((x) => x.policy === ANY_POLICY);
            if (any && inhibitAny > 0) addChild(any.parent!, p, targets);
          }
        } else {
          atDepth(i).filter((x) => x.policy === p).forEach(remove);
          prune(i);
          if (tree && atDepth(i).length === 0) tree = null;
        }
      }
      if (!selfIssued) {
        if (explicit > 0) explicit--;
        if (mapping > 0) mapping--;
        if (inhibitAny > 0) inhibitAny--;
      }
      const pc = constraintsOf(c);
      if (pc.require !== undefined) explicit = Math.min(explicit, pc.require);
      if (pc.inhibitMapping !== undefined) mapping = Math.min(mapping, pc.inhibitMapping);
      const ia = inhibitAnyOf(c);
      if (ia !== undefined) inhibitAny = Math.min(inhibitAny, ia);
    } else {
      if (explicit > 0) explicit--;
      if (constraintsOf(c).require === 0) explicit = 0;
    }
    if (explicit === 0 && !tree) return `no acceptable policy at certificate ${i} (${c.subjectDn}) while an explicit policy is required`;
  }
  // Wrap-up (g): intersect with the user-initial-policy-set.
  const initial = inputs.initialPolicySet;
  if (tree && !initial.includes(ANY_POLICY)) {
    const validSet: Node[] = [];
    const collect = (x: Node) => {
      for (const ch of x.children) {
        validSet.push(ch);
        if (ch.policy === ANY_POLICY) collect(ch);
      }
    };
    collect(tree);
    for (const x of validSet) if (x.policy !== ANY_POLICY && !initial.includes(x.policy)) remove(x);
    const anyLeaf = atDepth(n).find((x) => x.policy === ANY_POLICY);
    if (anyLeaf) {
      for (const p of initial) if (!validSet.some((x) => x.policy === p)) addChild(anyLeaf.parent!, p, [p]);
      remove(anyLeaf);
    }
    prune(n);
    if (tree && atDepth(n).length === 0) tree = null;
  }
  if (explicit > 0 || tree) return undefined;
  return 'no acceptable certificate policy (the user-constrained policy set is empty while an explicit policy is required)';
}
