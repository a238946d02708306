/**
 * RFC 5280 sections 6.1.2 to 6.1.5, certificate policies: processPolicies over stand-in
 * certificates (only the fields policy processing reads), the policy graph's bound on a
 * CVE-2023-0464-shaped chain, the `policies` option, and one real chain through path validation.
 * The decoders are test/unit/policy-extensions.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_INPUTS, processPolicies, type PolicyInputs } from '../../src/path/certificate-policies.js';
import { MAX_POLICY_GRAPH_SIZE, MAX_POLICY_WORK_PER_VERIFICATION } from '../../src/path/policy-graph.js';
import { checkRules, pathPolicy } from '../../src/path/policy.js';
import { parsePoliciesOption } from '../../src/verifier/policy-option.js';
import { CertgateError } from '../../src/errors.js';
import type { ParsedCertificate } from '../../src/x509/certificate.js';
import { ANY_POLICY } from '../../src/x509/policy-extensions.js';
import { issue, rawExtension } from './pki.js';

const P = (n: number) => `2.16.840.1.101.3.2.1.48.${n}`;
const ANY = ANY_POLICY;

interface Stand {
  name?: string;
  policies?: string[];
  map?: Array<[string, string]>;
  requireExplicit?: number;
  inhibitMapping?: number;
  inhibitAny?: number;
  selfIssued?: boolean;
}

/** A stand-in certificate: the fields RFC 5280 policy processing reads, and those describe() prints. */
function cert(s: Stand): ParsedCertificate {
  const constraints = {
    ...(s.requireExplicit !== undefined && { requireExplicitPolicy: s.requireExplicit }),
    ...(s.inhibitMapping !== undefined && { inhibitPolicyMapping: s.inhibitMapping }),
  };
  return {
    subjectDN: `CN=${s.name ?? 'stand-in'}`,
    serialNumber: '01',
    selfIssued: s.selfIssued ?? false,
    certificatePolicies: s.policies,
    policyMappings: s.map?.map(([issuerDomainPolicy, subjectDomainPolicy]) => ({
      issuerDomainPolicy,
      subjectDomainPolicy,
    })),
    policyConstraints: Object.keys(constraints).length > 0 ? constraints : undefined,
    inhibitAnyPolicy: s.inhibitAny,
  } as unknown as ParsedCertificate;
}

/** An anchor whose own policy extensions would refuse every path, were they read (RFC 5280 6.1: they are not). */
const ANCHOR = cert({ name: 'anchor', policies: [P(9)], requireExplicit: 0, inhibitAny: 0, inhibitMapping: 0 });

/** `certs` from the top (under the anchor) down to the leaf. */
function run(certs: Stand[], inputs: Partial<PolicyInputs> = {}) {
  const path = [...certs.map(cert)].reverse().concat([ANCHOR]);
  return processPolicies(path, { ...DEFAULT_POLICY_INPUTS, ...inputs });
}

const policiesOf = (certs: Stand[], inputs: Partial<PolicyInputs> = {}) => {
  const outcome = run(certs, inputs);
  return outcome.ok ? outcome.policies : outcome.failure.code;
};

const failureOf = (certs: Stand[], inputs: Partial<PolicyInputs> = {}) => {
  const outcome = run(certs, inputs);
  return outcome.ok ? undefined : outcome.failure;
};

describe('valid policies (RFC 5280 6.1.3 (d), (e), 6.1.5 (g))', () => {
  it('accepts a path without policies with the default inputs, with no valid policy', () => {
    expect(policiesOf([{}, {}, {}])).toEqual([]);
  });

  it('refuses it when the option requires an explicit policy, naming the option', () => {
    const failure = failureOf([{ name: 'CA' }, {}], { requireExplicit: true });
    expect(failure?.code).toBe('CERT_POLICY_INVALID');
    expect(failure?.detail).toContain('the policies option requires an explicit policy');
    expect(failure?.detail).toContain('CN=CA');
  });

  it('keeps the policies every certificate asserts, in OID order', () => {
    const certs = [{ policies: [P(10), P(2), P(1)] }, { policies: [P(2), P(10), P(1)] }, { policies: [P(1), P(10)] }];
    expect(policiesOf(certs)).toEqual([P(1), P(10)]);
    expect(policiesOf(certs, { initial: [P(10), P(2)] })).toEqual([P(10)]);
  });

  it('loses a policy a CA does not assert (the leaf cannot bring it back)', () => {
    expect(policiesOf([{ policies: [P(1)] }, { policies: [P(2)] }, { policies: [P(1), P(2)] }])).toEqual([]);
  });

  it('reads anyPolicy as every policy', () => {
    expect(policiesOf([{ policies: [ANY] }, { policies: [ANY] }])).toEqual([ANY]);
    expect(policiesOf([{ policies: [ANY] }, { policies: [ANY] }], { initial: [P(2), P(1)] })).toEqual([P(1), P(2)]);
    expect(policiesOf([{ policies: [ANY] }, { policies: [P(3), ANY] }, { policies: [P(3)] }])).toEqual([P(3)]);
  });

  it('does not refuse a path outside `initial` unless an explicit policy is required', () => {
    const certs = [{ policies: [P(1)] }, { policies: [P(1)] }];
    expect(policiesOf(certs, { initial: [P(2)] })).toEqual([]);
    const failure = failureOf(certs, { initial: [P(2)], requireExplicit: true });
    expect(failure?.detail).toContain('no certificate policy is valid in policies.initial');
  });

  it('ignores the trust anchor and accepts a pinned certificate (n = 0) with the initial set', () => {
    expect(processPolicies([ANCHOR], DEFAULT_POLICY_INPUTS)).toEqual({ ok: true, policies: [ANY] });
    const strict = { ...DEFAULT_POLICY_INPUTS, initial: [P(4)], requireExplicit: true };
    expect(processPolicies([ANCHOR], strict)).toEqual({ ok: true, policies: [P(4)] });
  });
});

describe('policy mappings (RFC 5280 6.1.4 (a), (b))', () => {
  const mapped = (leaf: string[]): Stand[] => [{ policies: [P(1)], map: [[P(1), P(2)]] }, { policies: leaf }];

  it('follows a mapping, reporting the policy in the anchor domain', () => {
    expect(policiesOf(mapped([P(2)]))).toEqual([P(1)]);
    expect(policiesOf(mapped([P(2)]), { initial: [P(1)] })).toEqual([P(1)]);
    expect(policiesOf(mapped([P(2)]), { initial: [P(2)] })).toEqual([]);
    expect(policiesOf(mapped([P(1)]))).toEqual([]);
  });

  it('maps one policy to several, and under anyPolicy', () => {
    const oneToMany: Stand[] = [
      {
        policies: [P(1)],
        map: [
          [P(1), P(2)],
          [P(1), P(3)],
        ],
      },
      { policies: [P(3)] },
    ];
    expect(policiesOf(oneToMany)).toEqual([P(1)]);
    const underAny: Stand[] = [{ policies: [ANY] }, { policies: [ANY], map: [[P(5), P(6)]] }, { policies: [P(6)] }];
    expect(policiesOf(underAny)).toEqual([P(5)]);
  });

  it('refuses a mapping from or to anyPolicy in a CA, and ignores a leaf mapping', () => {
    for (const pair of [
      [ANY, P(1)],
      [P(1), ANY],
    ] as Array<[string, string]>) {
      const failure = failureOf([{ policies: [ANY], map: [pair] }, { policies: [P(1)] }]);
      expect(failure?.code).toBe('CERT_POLICY_INVALID');
      expect(failure?.detail).toContain('anyPolicy cannot be mapped');
    }
    expect(policiesOf([{ policies: [P(1)] }, { policies: [P(1)], map: [[ANY, P(1)]] }])).toEqual([P(1)]);
  });

  it('refuses an anyPolicy mapping where the tree is already NULL (no shortcut skips 6.1.4 (a))', () => {
    expect(failureOf([{}, { map: [[ANY, P(1)]] }, {}])?.detail).toContain('anyPolicy cannot be mapped');
  });

  it('deletes mapped policies when mapping is inhibited by the option', () => {
    expect(policiesOf(mapped([P(2)]), { inhibitMapping: true })).toEqual([]);
    expect(
      policiesOf([{ policies: [P(1), P(7)], map: [[P(1), P(2)]] }, { policies: [P(2), P(7)] }], {
        inhibitMapping: true,
      }),
    ).toEqual([P(7)]);
  });

  it('counts inhibitPolicyMapping down from the CA that sets it', () => {
    const chain = (skip: number): Stand[] => [
      { policies: [P(1)], inhibitMapping: skip },
      { policies: [P(1)], map: [[P(1), P(2)]] },
      { policies: [P(2)] },
    ];
    expect(policiesOf(chain(0))).toEqual([]);
    expect(policiesOf(chain(1))).toEqual([P(1)]);
  });

  it('does not count a self-issued CA against inhibitPolicyMapping (6.1.4 (h))', () => {
    const chain = (selfIssued: boolean): Stand[] => [
      { policies: [P(1)], inhibitMapping: 1 },
      { policies: [P(1)], selfIssued },
      { policies: [P(1)], map: [[P(1), P(2)]] },
      { policies: [P(2)] },
    ];
    expect(policiesOf(chain(true))).toEqual([P(1)]);
    expect(policiesOf(chain(false))).toEqual([]);
  });
});

describe('inhibit anyPolicy (RFC 5280 6.1.3 (d)(2), 6.1.4 (j))', () => {
  it('ignores anyPolicy in certificates when the option inhibits it, except in self-issued CAs', () => {
    expect(policiesOf([{ policies: [ANY] }, { policies: [P(1)] }], { inhibitAnyPolicy: true })).toEqual([]);
    const selfIssued = [{ policies: [ANY], selfIssued: true }, { policies: [P(1)] }];
    expect(policiesOf(selfIssued, { inhibitAnyPolicy: true })).toEqual([P(1)]);
    const selfIssuedLeaf = [{ policies: [P(1)] }, { policies: [ANY], selfIssued: true }];
    expect(policiesOf(selfIssuedLeaf, { inhibitAnyPolicy: true })).toEqual([]);
  });

  it('counts the inhibitAnyPolicy extension down from the CA that carries it', () => {
    const chain = (skip: number): Stand[] => [
      { policies: [P(1)], inhibitAny: skip },
      { policies: [ANY] },
      { policies: [P(1)] },
    ];
    expect(policiesOf(chain(0))).toEqual([]);
    expect(policiesOf(chain(1))).toEqual([P(1)]);
  });
});

describe('explicit policy (RFC 5280 6.1.3 (f), 6.1.4 (i), 6.1.5 (a), (b))', () => {
  const noPolicies = (skip: number, selfIssued = false): Stand[] => [
    { name: 'Constraining CA', requireExplicit: skip },
    { selfIssued },
    { name: 'leaf' },
  ];

  it('refuses a path without policies under a CA requiring them, naming the CA', () => {
    for (const skip of [0, 1, 2]) {
      const failure = failureOf(noPolicies(skip));
      expect(failure?.code).toBe('CERT_POLICY_INVALID');
      expect(failure?.detail).toContain('certificate "CN=Constraining CA" (serial 01) requires an explicit policy');
    }
    expect(policiesOf(noPolicies(3))).toEqual([]);
  });

  it('does not count a self-issued intermediate (6.1.4 (h)), but does count a self-issued leaf (6.1.5 (a))', () => {
    expect(policiesOf(noPolicies(2, true))).toEqual([]);
    expect(failureOf([{ requireExplicit: 1 }, { selfIssued: true }])?.code).toBe('CERT_POLICY_INVALID');
  });

  it('reads a leaf requireExplicitPolicy of 0 (6.1.5 (b)) and no other', () => {
    expect(failureOf([{}, { requireExplicit: 0 }])?.code).toBe('CERT_POLICY_INVALID');
    expect(policiesOf([{}, { requireExplicit: 1 }])).toEqual([]);
    expect(policiesOf([{ policies: [P(1)] }, { policies: [P(1)], requireExplicit: 0 }])).toEqual([P(1)]);
  });
});

describe('the policy graph bound (CVE-2023-0464)', () => {
  /** `depth` CAs each asserting `width` policies and mapping every one to every one: a tree of width^depth nodes. */
  function meshed(width: number, depth: number): Stand[] {
    const policies = Array.from({ length: width }, (_, i) => P(i + 1));
    const map = policies.flatMap((from) => policies.map((to): [string, string] => [from, to]));
    const cas = Array.from({ length: depth }, () => ({ policies, map }));
    return [...cas, { policies }];
  }

  it('processes a mapping-heavy chain in polynomial time (a tree would hold 20^8 nodes)', () => {
    const started = performance.now();
    const outcome = run(meshed(20, 8));
    expect(performance.now() - started).toBeLessThan(500);
    expect(outcome).toEqual({ ok: true, policies: Array.from({ length: 20 }, (_, i) => P(i + 1)) });
  });

  it('trips exactly at MAX_POLICY_GRAPH_SIZE', () => {
    // A CA and a leaf asserting the same k policies: k nodes under anyPolicy, k expected policies,
    // k nodes with one parent each (2k): 4k in all.
    const k = MAX_POLICY_GRAPH_SIZE / 4;
    expect(Number.isInteger(k)).toBe(true);
    const same = (count: number): Stand[] => {
      const policies = Array.from({ length: count }, (_, i) => `1.2.3.${i}`);
      return [{ policies }, { policies }];
    };
    const within = run(same(k));
    expect(within.ok && within.policies.length).toBe(k);
    expect(failureOf(same(k + 1))?.detail).toContain(`exceeds ${MAX_POLICY_GRAPH_SIZE} nodes and edges`);
  });

  it(`refuses a path whose graph would exceed MAX_POLICY_GRAPH_SIZE (${MAX_POLICY_GRAPH_SIZE})`, () => {
    const started = performance.now();
    const failure = failureOf(meshed(100, 8));
    expect(performance.now() - started).toBeLessThan(500);
    expect(failure?.code).toBe('CERT_POLICY_INVALID');
    expect(failure?.detail).toContain(`exceeds ${MAX_POLICY_GRAPH_SIZE} nodes and edges`);
  });
});

describe('the policies option', () => {
  /** [P(1), <hole>, P(2)]: Array.prototype.every would skip the hole. */
  const sparse = [P(1)];
  sparse[2] = P(2);
  const parse = (value: unknown) => parsePoliciesOption(value, 'createVerifier');
  const refusal = (value: unknown) => {
    try {
      parse(value);
    } catch (err) {
      return err instanceof CertgateError ? `${err.code}: ${err.message}` : `other: ${String(err)}`;
    }
    return 'accepted';
  };

  it('defaults to RFC 5280 6.1.1 and reads each input', () => {
    expect(parse(undefined)).toBe(DEFAULT_POLICY_INPUTS);
    expect(parse({ initial: [P(1), P(1), '1.2.3'], requireExplicit: true })).toEqual({
      initial: [P(1), '1.2.3'],
      requireExplicit: true,
      inhibitMapping: false,
      inhibitAnyPolicy: false,
    });
    expect(parse({ initial: [P(1), ANY] }).initial).toEqual([ANY]);
  });

  it.each([
    ['not an object', 'yes', "'policies' must be an object"],
    ['an unknown key', { explicit: true }, "unknown option 'policies.explicit'"],
    ['an empty initial', { initial: [] }, 'got an empty array'],
    ['an initial that is a string', { initial: P(1) }, 'got a string'],
    ['a non-OID', { initial: ['policy-1'] }, 'got "policy-1" at index 0'],
    ['a leading zero', { initial: ['1.02.3'] }, 'at index 0'],
    ['a second arc over 39 under 1', { initial: ['1.40.1'] }, 'got "1.40.1"'],
    ['an arc too large to decode', { initial: [`1.2.${'9'.repeat(20)}`] }, 'at index 0'],
    ['a hole in the array', { initial: sparse }, 'got a undefined at index 1'],
    ['a BigInt', { initial: [1n] }, 'got a bigint at index 0'],
    ['a string boolean', { requireExplicit: 'false' }, "'policies.requireExplicit' must be true or false"],
    ['a number boolean', { inhibitAnyPolicy: 1 }, "'policies.inhibitAnyPolicy' must be true or false"],
  ])('refuses %s with CONFIG_INVALID', (_label, value, message) => {
    const got = refusal(value);
    expect(got).toMatch(/^CONFIG_INVALID: /);
    expect(got).toContain(message);
  });
});

describe('through path validation', () => {
  it('honours a non-critical policyConstraints requiring an explicit policy (PKITS 4.8.4 shape)', async () => {
    const root = await issue({ subject: 'CN=Policy Root', ca: true, omit: ['aki'] });
    const constraint = rawExtension('2.5.29.36', false, '3003800100');
    const ca = await issue({ subject: 'CN=Constraining CA', issuer: root, ca: true, extra: [constraint] });
    const leaf = await issue({ subject: 'CN=leaf', issuer: ca, eku: ['1.3.6.1.5.5.7.3.2'] });
    const at = Date.parse('2025-01-01T00:00:00Z');
    const failure = checkRules([leaf.cert, ca.cert, root.cert], pathPolicy({ purpose: 'clientAuth' }), at);
    expect(failure?.code).toBe('CERT_POLICY_INVALID');
    expect(failure?.detail).toContain('CN=Constraining CA');
  });
});

describe('policy graph work per verification (MAX_POLICY_WORK_PER_VERIFICATION)', () => {
  const many = Array.from({ length: 40 }, (_, i) => P(100 + i));
  const chain: Stand[] = [{ policies: many }, { policies: many }, { policies: many }];
  const pathOf = (stands: Stand[]) => [...stands.map(cert)].reverse().concat([ANCHOR]);

  it('charges every path of one verification to one budget, refused paths included', () => {
    const work = { policyWork: MAX_POLICY_WORK_PER_VERIFICATION };
    expect(processPolicies(pathOf(chain), DEFAULT_POLICY_INPUTS, work).ok).toBe(true);
    const spent = MAX_POLICY_WORK_PER_VERIFICATION - work.policyWork;
    expect(spent).toBeGreaterThan(0);
    // A second path of the same verification spends from what is left.
    processPolicies(pathOf(chain), DEFAULT_POLICY_INPUTS, work);
    expect(MAX_POLICY_WORK_PER_VERIFICATION - work.policyWork).toBe(2 * spent);
  });

  it('refuses a path once the verification has spent its budget', () => {
    const work = { policyWork: 10 };
    const outcome = processPolicies(pathOf(chain), DEFAULT_POLICY_INPUTS, work);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.failure).toMatchObject({ code: 'CERT_POLICY_INVALID' });
    expect(!outcome.ok && outcome.failure.detail).toContain(
      `exceed ${MAX_POLICY_WORK_PER_VERIFICATION} nodes and edges in all`,
    );
  });
});
