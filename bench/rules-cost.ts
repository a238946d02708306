// Part 8: what RFC 5280's name constraints and certificate policies add to a path's validation.
// Two ECDSA P-256 paths of the same shape (leaf, two intermediates, root): one with no name
// constraints and no policy extensions, one with name constraints on every CA (permitted DNS,
// e-mail and directory subtrees, an excluded DNS subtree) and certificate policies on every
// certificate (policies, a mapping, requireExplicitPolicy, inhibitAnyPolicy). Measured in one run,
// interleaved: (a) the path rules alone (pathOutcome on parsed certificates); (b) verify() of the
// whole chain at an explicit instant (never cached), with parse and signature caches warm.
//
// Must be evaluated before @peculiar/x509 (tsyringe needs the reflect polyfill).
import 'reflect-metadata';

import { webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { createVerifier } from 'certgate';
import { parseCertificate, type ParsedCertificate } from '../src/x509/certificate.js';
import { pathOutcome, pathPolicy } from '../src/path/policy.js';
import { median, nsSince, round } from './stats.js';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const DAY = 86_400_000;
const ALG = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
const P = (n: number) => `2.16.840.1.101.3.2.1.48.${n}`;

export interface RulesCostResult {
  calls: number;
  /** (a) ns per pathOutcome call, median of rounds. */
  rulesPlainNs: number;
  rulesConstrainedNs: number;
  rulesAddedUs: number;
  /** (b) us per verify() at an explicit instant (uncached), median of rounds. */
  verifyPlainUs: number;
  verifyConstrainedUs: number;
  verifyAddedUs: number;
}

const der = (value: object): ArrayBuffer => AsnConvert.serialize(value);

function nameConstraints(): x509.Extension {
  const dn = AsnConvert.parse(new x509.Name('O=Example Bank').toArrayBuffer(), asn.Name);
  const subtree = (name: Partial<asn.GeneralName>) => new asn.GeneralSubtree({ base: new asn.GeneralName(name) });
  const nc = new asn.NameConstraints({
    permittedSubtrees: new asn.GeneralSubtrees([
      subtree({ dNSName: 'bank.example' }),
      subtree({ rfc822Name: 'bank.example' }),
      subtree({ directoryName: dn }),
    ]),
    excludedSubtrees: new asn.GeneralSubtrees([subtree({ dNSName: 'test.bank.example' })]),
  });
  return new x509.Extension(asn.id_ce_nameConstraints, true, der(nc));
}

const policies = (oids: string[]) =>
  new x509.Extension(
    asn.id_ce_certificatePolicies,
    false,
    der(new asn.CertificatePolicies(oids.map((policyIdentifier) => new asn.PolicyInformation({ policyIdentifier })))),
  );

/** The CA extensions of the constrained path, per CA (0: root, 1: first intermediate, 2: second). */
function caRules(level: number): x509.Extension[] {
  const rules = [nameConstraints(), policies([P(1), P(2)])];
  if (level === 1) {
    // (asn1-x509 types PolicyMapping's constructor parameter wrongly: assigned field by field.)
    const mapping = Object.assign(new asn.PolicyMapping(), { issuerDomainPolicy: P(2), subjectDomainPolicy: P(3) });
    rules.push(new x509.Extension(asn.id_ce_policyMappings, true, der(new asn.PolicyMappings([mapping]))));
    const constraints = new asn.PolicyConstraints({ requireExplicitPolicy: new Uint8Array([0]).buffer });
    rules.push(new x509.Extension(asn.id_ce_policyConstraints, true, der(constraints)));
    rules.push(
      new x509.Extension(asn.id_ce_inhibitAnyPolicy, true, der(new asn.InhibitAnyPolicy(new Uint8Array([1]).buffer))),
    );
  }
  if (level === 2) rules[1] = policies([P(1), P(3)]);
  return rules;
}

interface Made {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

async function issue(subject: string, issuer: Made | undefined, ca: boolean, extra: x509.Extension[]): Promise<Made> {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const now = Date.now();
  const usage = ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature;
  const extensions = [
    new x509.BasicConstraintsExtension(ca, undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ...(issuer ? [await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey)] : []),
    ...extra,
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8)))
      .toString('hex')
      .replace(/^./, '1'),
    subject,
    issuer: issuer ? issuer.cert.subject : subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    publicKey: keys.publicKey,
    signingKey: (issuer ?? { keys }).keys.privateKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return { cert, keys };
}

/** [leaf, intermediate 2, intermediate 1, root] as PEM and as parsed certificates. */
export async function buildRulesPath(constrained: boolean): Promise<{ pems: string[]; parsed: ParsedCertificate[] }> {
  const rules = (level: number) => (constrained ? caRules(level) : []);
  const root = await issue('O=Example Bank, CN=Rules Root', undefined, true, rules(0));
  const int1 = await issue('O=Example Bank, CN=Rules CA 1', root, true, rules(1));
  const int2 = await issue('O=Example Bank, CN=Rules CA 2', int1, true, rules(2));
  const san = new x509.SubjectAlternativeNameExtension([
    { type: 'dns', value: 'api.bank.example' },
    { type: 'email', value: 'ops@bank.example' },
  ]);
  const leafRules = constrained ? [san, policies([P(1)])] : [san];
  const leaf = await issue('O=Example Bank, OU=Retail, CN=client', int2, false, leafRules);
  const certs = [leaf, int2, int1, root].map((m) => m.cert);
  return {
    pems: certs.map((c) => c.toString('pem')),
    parsed: certs.map((c) => parseCertificate(Buffer.from(c.rawData))),
  };
}

export async function measureRulesCost(opts: { rounds: number; calls: number }): Promise<RulesCostResult> {
  const plain = await buildRulesPath(false);
  const constrained = await buildRulesPath(true);
  const rules = pathPolicy({ purpose: false });
  const verifiers = [plain, constrained].map((p) => ({
    verifier: createVerifier({ ca: p.pems[3] as string, purpose: false, policies: { requireExplicit: false } }),
    chain: p.pems.slice(0, 3).join('\n'),
    parsed: p.parsed,
  }));
  const at = new Date();
  // Sanity: both paths are valid, and the constrained one's policy is the mapped one.
  for (const v of verifiers) {
    const r = await v.verifier.verify(v.chain, { at });
    if (!r.ok) throw new Error(`bench sanity: the rules-cost path did not verify: ${r.code} ${r.detail}`);
    if (!pathOutcome(v.parsed, rules, at.getTime()).ok) throw new Error('bench sanity: pathOutcome refused');
  }
  const rulesNs: [number[], number[]] = [[], []];
  const verifyNs: [number[], number[]] = [[], []];
  for (let round_ = 0; round_ < opts.rounds; round_++) {
    for (const [i, v] of verifiers.entries()) {
      const start = process.hrtime.bigint();
      for (let k = 0; k < opts.calls; k++) pathOutcome(v.parsed, rules, at.getTime());
      rulesNs[i]?.push(nsSince(start) / opts.calls);
      const vStart = process.hrtime.bigint();
      for (let k = 0; k < opts.calls / 10; k++) await v.verifier.verify(v.chain, { at });
      verifyNs[i]?.push(nsSince(vStart) / (opts.calls / 10));
    }
  }
  const [rp, rc] = rulesNs.map(median) as [number, number];
  const [vp, vc] = verifyNs.map(median) as [number, number];
  return {
    calls: opts.calls,
    rulesPlainNs: round(rp, 0),
    rulesConstrainedNs: round(rc, 0),
    rulesAddedUs: round((rc - rp) / 1000, 2),
    verifyPlainUs: round(vp / 1000, 1),
    verifyConstrainedUs: round(vc / 1000, 1),
    verifyAddedUs: round((vc - vp) / 1000, 1),
  };
}

/** `npm run bench:rules` */
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await measureRulesCost({ rounds: 10, calls: 2000 });
  console.log(JSON.stringify(result, null, 2));
}
