import { ANY_POLICY, type PolicyMapping } from '../x509/policy-extensions.js';

/**
 * RFC 5280 section 6.1.2 (a)'s valid_policy_tree, held as a graph (as BoringSSL, Go 1.22+ and
 * OpenSSL 3.x after CVE-2023-0464 hold it): one node per (depth, valid_policy), with edges to the
 * nodes above it, and the anyPolicy node of a depth as a flag rather than as its expansion. The
 * tree of RFC 5280 can grow exponentially with the path (each mapping copies whole subtrees: the
 * CVE-2023-0464 shape); the graph grows with the number of policies and mappings in the
 * certificates, and MAX_POLICY_GRAPH_SIZE bounds even that.
 *
 * Pruning (RFC 5280 section 6.1.3 (d)(3), 6.1.4 (b)(2)) is implicit: a depth with no nodes is a
 * NULL tree, and only what the leaf depth reaches is read at the end (userConstrainedPolicies).
 */

/**
 * Nodes, edges and expected policies the graph may hold over a whole path. Real hierarchies (the
 * US Federal bridge's cross-certificates among the largest) use tens of policies and mappings
 * per certificate, a few hundred in all; a path over this is refused (CERT_POLICY_INVALID) rather
 * than processed, as defence in depth: the graph is already polynomial.
 */
export const MAX_POLICY_GRAPH_SIZE = 20_000;

export interface PolicyNode {
  readonly policy: string;
  /**
   * valid_policy of the parents at the depth above (the nodes whose expected_policy_set holds this
   * policy); empty when the parent is that depth's anyPolicy node (6.1.3 (d)(1)(ii), 6.1.4 (b)(1)).
   */
  readonly parents: readonly string[];
  /** expected_policy_set: the node's own policy unless a policy mapping replaced it (6.1.4 (b)(1)). */
  expected: readonly string[];
}

/** One depth of the graph: the certificate's valid policies. Empty (no nodes, no anyPolicy): NULL tree. */
export interface PolicyLevel {
  readonly nodes: Map<string, PolicyNode>;
  /** An anyPolicy node at this depth (its expected_policy_set is always {anyPolicy}: it cannot be mapped). */
  readonly hasAny: boolean;
}

export class PolicyGraphTooLarge extends Error {}

/**
 * Graph work (nodes, edges, expected policies) one verification may spend over all the paths it
 * tries: path building may try many paths whose CAs all carry policies, and each builds its graph
 * anew. About 70 ns a unit: some 7 ms at most per verification.
 */
export const MAX_POLICY_WORK_PER_VERIFICATION = 100_000;

/** The graph's size budget over one path, within what the verification has left (`left`). */
export class PolicyBudget {
  used = 0;

  constructor(private readonly left = MAX_POLICY_GRAPH_SIZE) {}

  spend(n: number): void {
    this.used += n;
    if (this.used > MAX_POLICY_GRAPH_SIZE) {
      throw new PolicyGraphTooLarge(`the policy graph exceeds ${MAX_POLICY_GRAPH_SIZE} nodes and edges`);
    }
    if (this.used > this.left) {
      throw new PolicyGraphTooLarge(
        `the policy graphs of the paths tried exceed ${MAX_POLICY_WORK_PER_VERIFICATION} nodes and edges in all`,
      );
    }
  }
}

/** RFC 5280 section 6.1.2 (a): the initial tree, a single anyPolicy node at depth 0. */
export const ROOT_LEVEL: PolicyLevel = Object.freeze({ nodes: new Map<string, PolicyNode>(), hasAny: true });

export const isEmpty = (level: PolicyLevel): boolean => !level.hasAny && level.nodes.size === 0;

/** For each policy some node above expects, the nodes that expect it (the parent edges of 6.1.3 (d)). */
function expectedBy(above: PolicyLevel, budget: PolicyBudget): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const node of above.nodes.values()) {
    budget.spend(node.expected.length);
    for (const policy of node.expected) {
      const parents = index.get(policy);
      if (parents) parents.push(node.policy);
      else index.set(policy, [node.policy]);
    }
  }
  return index;
}

/**
 * RFC 5280 section 6.1.3 (d) for a certificate whose certificatePolicies are `policies`: the depth
 * below `above`. `anyAllowed` is (d)(2)'s condition (inhibit_anyPolicy > 0, or a self-issued
 * intermediate). Without the extension, (e) makes the tree NULL: callers pass an empty level then.
 */
export function nextLevel(
  above: PolicyLevel,
  policies: readonly string[],
  anyAllowed: boolean,
  budget: PolicyBudget,
): PolicyLevel {
  const index = expectedBy(above, budget);
  const nodes = new Map<string, PolicyNode>();
  const add = (policy: string, parents: readonly string[]): void => {
    budget.spend(1 + parents.length);
    nodes.set(policy, { policy, parents, expected: [policy] });
  };
  let assertsAny = false;
  for (const policy of policies) {
    if (policy === ANY_POLICY) {
      assertsAny = true;
      continue;
    }
    const parents = index.get(policy);
    // (d)(1)(i): a child of every node expecting the policy; (d)(1)(ii): else of the anyPolicy node.
    if (parents) add(policy, parents);
    else if (above.hasAny) add(policy, []);
  }
  const withAny = assertsAny && anyAllowed;
  // (d)(2): anyPolicy in the certificate matches every expected policy not matched by name, and
  // continues the anyPolicy branch.
  if (withAny) for (const [policy, parents] of index) if (!nodes.has(policy)) add(policy, parents);
  return { nodes, hasAny: withAny && above.hasAny };
}

/** The subjectDomainPolicy values each issuerDomainPolicy maps to, in certificate order. */
export function mappingTable(mappings: readonly PolicyMapping[]): Map<string, string[]> {
  // Sets while collecting: one issuer policy may be mapped to thousands (linear, not quadratic).
  const sets = new Map<string, Set<string>>();
  for (const { issuerDomainPolicy, subjectDomainPolicy } of mappings) {
    const subjects = sets.get(issuerDomainPolicy);
    if (subjects) subjects.add(subjectDomainPolicy);
    else sets.set(issuerDomainPolicy, new Set([subjectDomainPolicy]));
  }
  return new Map([...sets].map(([issuerPolicy, subjects]) => [issuerPolicy, [...subjects]]));
}

/**
 * RFC 5280 section 6.1.4 (b) on the depth of the certificate carrying the mappings (anyPolicy
 * mappings already refused, 6.1.4 (a)). With policy_mapping > 0, (b)(1): a mapped node expects the
 * subject domain policies, and where the policy has no node but the depth has anyPolicy, a node
 * is made under the anyPolicy node above. With policy_mapping = 0, (b)(2): the mapped policies'
 * nodes are deleted (what they led to is pruned with them).
 */
export function applyMappings(
  level: PolicyLevel,
  table: ReadonlyMap<string, string[]>,
  mappingAllowed: boolean,
  budget: PolicyBudget,
): PolicyLevel {
  if (!mappingAllowed) {
    for (const issuerPolicy of table.keys()) level.nodes.delete(issuerPolicy);
    return level;
  }
  for (const [issuerPolicy, subjects] of table) {
    const node = level.nodes.get(issuerPolicy);
    budget.spend(subjects.length);
    if (node) node.expected = subjects;
    else if (level.hasAny) {
      budget.spend(1);
      level.nodes.set(issuerPolicy, { policy: issuerPolicy, parents: [], expected: subjects });
    }
  }
  return level;
}

/** Dotted OIDs compared arc by arc, for a deterministic output order. */
export function compareOids(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * RFC 5280 section 6.1.5 (g): the user-constrained policy set, `levels` being depths 1..n. The
 * valid_policy_node_set is the nodes whose parent is an anyPolicy node: policies named in the
 * trust anchor's domain, before any mapping. Those the leaf depth reaches and `initial` accepts
 * are valid; an anyPolicy node at the leaf depth makes every policy of `initial` valid ((g)(iii)(3)),
 * or stands for every policy when `initial` is anyPolicy ((g)(ii)).
 */
export function userConstrainedPolicies(levels: readonly PolicyLevel[], initial: readonly string[]): string[] {
  const leaf = levels[levels.length - 1] ?? ROOT_LEVEL;
  const anyInitial = initial.includes(ANY_POLICY);
  if (leaf.hasAny) return anyInitial ? [ANY_POLICY] : [...initial].sort(compareOids);
  const valid = new Set<string>();
  let reached = new Set(leaf.nodes.keys());
  for (let depth = levels.length - 1; depth >= 0 && reached.size > 0; depth--) {
    const level = levels[depth] as PolicyLevel;
    const above = new Set<string>();
    for (const policy of reached) {
      const node = level.nodes.get(policy);
      // Every parent named exists: nodes are only deleted (6.1.4 (b)(2)) before the depth below is built.
      if (!node) continue;
      if (node.parents.length === 0) valid.add(policy);
      for (const parent of node.parents) above.add(parent);
    }
    reached = above;
  }
  const accepted = anyInitial ? [...valid] : [...valid].filter((p) => initial.includes(p));
  return accepted.sort(compareOids);
}
