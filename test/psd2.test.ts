/**
 * PSD2 attributes (ETSI TS 119 495) through the verifier, on certificates made by the OpenSSL CLI:
 * `certificate.psd2` and `certificate.organizationIdentifier` of well-formed QWACs, and for each
 * malformed statement a certificate that still verifies, with `psd2` undefined and the
 * 'psd2-statement-ignored' event saying why (once per certificate). OpenSSL's own `verify` is the
 * oracle that the certificates are otherwise valid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type VerifierEvents, type Verifier, type VerifySuccess } from '../src/index.js';
import { runInspect } from '../src/cli/inspect.js';
import { openssl, removeTempDirs, tempDir } from './helpers/oracle.js';
import {
  FCA_AI,
  oid,
  PSD2_STATEMENT,
  Psd2Pki,
  psd2Der,
  psd2TypeSections,
  qcStatementsWithPsd2,
  ROLE_OID,
  seq,
  tlv,
  utf8,
  type Psd2Leaf,
} from './helpers/psd2-pki.js';

const TPP_SUBJECT = '/CN=tpp.example/O=TPP Ltd/organizationIdentifier=PSDGB-FCA-123456';

let pki: Psd2Pki;
afterAll(removeTempDirs);
beforeAll(() => {
  pki = new Psd2Pki(tempDir('certgate-psd2-'));
});

function verifierWithEvents(): { verifier: Verifier; events: VerifierEvents['psd2-statement-ignored'][] } {
  const verifier = createVerifier({ ca: pki.ca });
  const events: VerifierEvents['psd2-statement-ignored'][] = [];
  verifier.on('psd2-statement-ignored', (e) => events.push(e));
  return { verifier, events };
}

async function verified(leaf: Psd2Leaf) {
  const { verifier, events } = verifierWithEvents();
  const result = await verifier.verify(leaf.chain);
  expect(result.ok, JSON.stringify(result)).toBe(true);
  return { certificate: (result as VerifySuccess).certificate, events, verifier };
}

/** OpenSSL's verdict on the certificate as a TLS client certificate. */
function opensslAccepts(leaf: Psd2Leaf): boolean {
  return openssl(['verify', '-CAfile', pki.caFile, '-purpose', 'sslclient', leaf.certFile]).status === 0;
}

describe('well-formed PSD2 statements', () => {
  it('reads one role, the NCA and the organizationIdentifier, frozen; no event', async () => {
    const leaf = pki.leaf('one-role', TPP_SUBJECT, qcStatementsWithPsd2(FCA_AI));
    expect(opensslAccepts(leaf)).toBe(true);
    const { certificate, events } = await verified(leaf);
    expect(certificate.organizationIdentifier).toBe('PSDGB-FCA-123456');
    expect(certificate.psd2).toEqual({ roles: ['PSP_AI'], ncaName: 'Financial Conduct Authority', ncaId: 'GB-FCA' });
    expect(Object.isFrozen(certificate.psd2)).toBe(true);
    expect(Object.isFrozen(certificate.psd2?.roles)).toBe(true);
    expect(events).toEqual([]);
  });

  it("keeps all four roles in the certificate's order", async () => {
    const roles = [
      [ROLE_OID.PSP_IC, 'PSP_IC'],
      [ROLE_OID.PSP_AS, 'PSP_AS'],
      [ROLE_OID.PSP_AI, 'PSP_AI'],
      [ROLE_OID.PSP_PI, 'PSP_PI'],
    ] as const;
    const leaf = pki.leaf('four-roles', TPP_SUBJECT, qcStatementsWithPsd2({ ...FCA_AI, roles }));
    expect(opensslAccepts(leaf)).toBe(true);
    const { certificate } = await verified(leaf);
    expect(certificate.psd2?.roles).toEqual(['PSP_IC', 'PSP_AS', 'PSP_AI', 'PSP_PI']);
  });

  it('decodes a non-ASCII NCA name as UTF-8', async () => {
    const spec = { ...FCA_AI, ncaName: 'Bundesanstalt für Finanzdienstleistungsaufsicht', ncaId: 'DE-BAFIN' };
    const leaf = pki.leaf('bafin', '/CN=tpp.de/organizationIdentifier=PSDDE-BAFIN-999999', qcStatementsWithPsd2(spec));
    expect(leaf.der.includes(Buffer.from('für', 'utf8'))).toBe(true);
    const { certificate } = await verified(leaf);
    expect(certificate.psd2).toEqual({ roles: ['PSP_AI'], ncaName: spec.ncaName, ncaId: 'DE-BAFIN' });
    expect(certificate.organizationIdentifier).toBe('PSDDE-BAFIN-999999');
  });

  it('accepts qcStatements marked critical in a leaf (RFC 3739 3.2.6), where OpenSSL refuses it', async () => {
    const leaf = pki.leaf('critical', TPP_SUBJECT, qcStatementsWithPsd2(FCA_AI, { critical: true }));
    expect(opensslAccepts(leaf)).toBe(false);
    const { certificate } = await verified(leaf);
    expect(certificate.psd2?.roles).toEqual(['PSP_AI']);
  });
});

describe('a critical qcStatements certgate cannot process all of (RFC 5280 4.2, RFC 3739 3.2.6)', () => {
  async function refusal(leaf: Psd2Leaf): Promise<string> {
    const result = await createVerifier({ ca: pki.ca }).verify(leaf.chain);
    return result.ok ? 'accepted' : result.code;
  }

  it('with a malformed PSD2 statement: refused, CERT_EXTENSION_UNSUPPORTED (non-critical, it verifies)', async () => {
    const empty = { ...FCA_AI, roles: [] };
    expect(await refusal(pki.leaf('crit-empty', TPP_SUBJECT, qcStatementsWithPsd2(empty, { critical: true })))).toBe(
      'CERT_EXTENSION_UNSUPPORTED',
    );
    expect(await refusal(pki.leaf('noncrit-empty', TPP_SUBJECT, qcStatementsWithPsd2(empty)))).toBe('accepted');
  });

  it('with a statement that is not informational (QcLimitValue, an unknown one) beside PSD2: refused', async () => {
    for (const [name, id] of [
      ['limit', '0.4.0.1862.1.2'],
      ['unknown', '1.2.3.4.5'],
    ] as const) {
      const good = qcStatementsWithPsd2(FCA_AI, { critical: true });
      const sections = good.sections.replace('s2 = SEQUENCE:psd2stmt', 's2 = SEQUENCE:psd2stmt\ns3 = SEQUENCE:other');
      const leaf = pki.leaf(`crit-${name}`, TPP_SUBJECT, {
        value: good.value,
        sections: `${sections}\n[other]\nid = OID:${id}`,
      });
      expect(await refusal(leaf), name).toBe('CERT_EXTENSION_UNSUPPORTED');
    }
  });

  it('that does not decode at all: refused', async () => {
    const garbage = { value: `critical,DER:${Buffer.from('0407676172626167', 'hex').toString('hex')}` };
    expect(await refusal(pki.leaf('crit-garbage', TPP_SUBJECT, garbage))).toBe('CERT_EXTENSION_UNSUPPORTED');
  });
});

describe('no PSD2 statement', () => {
  it('without qcStatements: psd2 and organizationIdentifier are absent, no event', async () => {
    const leaf = pki.leaf('plain', '/CN=plain/O=Plain Ltd');
    const { certificate, events } = await verified(leaf);
    expect('psd2' in certificate).toBe(false);
    expect('organizationIdentifier' in certificate).toBe(false);
    expect(events).toEqual([]);
  });

  it('with qcStatements holding only other statements (QcCompliance, QcType): no psd2, no event', async () => {
    const sections = ['[qcs]', 's1 = SEQUENCE:c', 's2 = SEQUENCE:t', '[c]', 'id = OID:0.4.0.1862.1.1']
      .concat(['[t]', 'id = OID:0.4.0.1862.1.6', 'info = SEQUENCE:types', '[types]', 't1 = OID:0.4.0.1862.1.6.3'])
      .join('\n');
    const leaf = pki.leaf('other-statements', TPP_SUBJECT, { value: 'ASN1:SEQUENCE:qcs', sections });
    expect(opensslAccepts(leaf)).toBe(true);
    const { certificate, events } = await verified(leaf);
    expect(certificate.psd2).toBeUndefined();
    expect(certificate.organizationIdentifier).toBe('PSDGB-FCA-123456');
    expect(events).toEqual([]);
  });

  it('with two organizationIdentifiers: organizationIdentifier is undefined', async () => {
    const subject = '/CN=two/organizationIdentifier=PSDGB-FCA-1/organizationIdentifier=PSDGB-FCA-2';
    const { certificate } = await verified(pki.leaf('two-org-ids', subject, qcStatementsWithPsd2(FCA_AI)));
    expect(certificate.subject.organizationIdentifier).toEqual(['PSDGB-FCA-1', 'PSDGB-FCA-2']);
    expect(certificate.organizationIdentifier).toBeUndefined();
    expect(certificate.psd2?.roles).toEqual(['PSP_AI']);
  });
});

/** A qcStatements extension from raw DER (shapes OpenSSL's generator cannot write). */
const raw = (der: Buffer) => ({ value: `DER:${der.toString('hex')}` });
/** A PSD2 statement with the sections of `spec`, optionally around a changed [psd2type]. */
const generated = (sections: string, extra = '') => ({
  value: 'ASN1:SEQUENCE:qcs',
  sections: ['[qcs]', 's1 = SEQUENCE:psd2stmt', extra, '[psd2stmt]', `id = OID:${PSD2_STATEMENT}`]
    .concat(['info = SEQUENCE:psd2type', sections])
    .join('\n'),
});

const good = psd2Der(['PSP_AI']);
const MALFORMED: readonly { name: string; qc: () => { value: string; sections?: string }; reason: RegExp }[] = [
  {
    name: 'a truncated statement (an inner length past its end)',
    // The PSD2QcType's length claims one octet more than there is; every enclosing length agrees.
    qc: () => raw(Buffer.concat([good.subarray(0, 13), Buffer.from([(good[13] as number) + 1]), good.subarray(14)])),
    reason: /^the qcStatements extension is malformed \(element extends past its container\)$/,
  },
  {
    name: 'a statement cut short (no nCAId)',
    qc: () => raw(seq(seq(oid(PSD2_STATEMENT), seq(seq(seq(oid(ROLE_OID.PSP_AI), utf8('PSP_AI'))), utf8('FCA'))))),
    reason: /^the PSD2 statement is malformed \(missing element\)$/,
  },
  {
    name: 'an unknown role OID',
    qc: () => generated(psd2TypeSections({ ...FCA_AI, roles: [['0.4.0.19495.1.9', 'PSP_XX']] })),
    reason: /unknown PSP role OID 0\.4\.0\.19495\.1\.9/,
  },
  {
    name: 'a role name contradicting its OID (PSP_AS with the PSP_AI OID)',
    qc: () => generated(psd2TypeSections({ ...FCA_AI, roles: [[ROLE_OID.PSP_AI, 'PSP_AS']] })),
    reason: /role name "PSP_AS" contradicts its OID 0\.4\.0\.19495\.1\.3 \(PSP_AI\)/,
  },
  {
    // "_" is not a PrintableString character (OpenSSL refuses to write one): IA5String is the likely slip.
    name: 'an IA5String role name where UTF8String is required',
    qc: () => generated(psd2TypeSections({ ...FCA_AI, roles: [[ROLE_OID.PSP_AI, 'PSP_AI', 'IA5STRING']] })),
    reason: /a roleOfPspName is not a UTF8String \(tag 0x16\)/,
  },
  {
    name: 'a PrintableString NCA identifier where UTF8String is required',
    qc: () =>
      raw(
        seq(
          seq(
            oid(PSD2_STATEMENT),
            seq(seq(seq(oid(ROLE_OID.PSP_AI), utf8('PSP_AI'))), utf8('F'), tlv(0x13, Buffer.from('GB-FCA'))),
          ),
        ),
      ),
    reason: /nCAId is not a UTF8String \(tag 0x13\)/,
  },
  {
    name: 'two PSD2 statements',
    qc: () =>
      generated(
        psd2TypeSections(FCA_AI),
        's2 = SEQUENCE:psd2stmt2\n[psd2stmt2]\nid = OID:0.4.0.19495.2\ninfo = SEQUENCE:psd2type',
      ),
    reason: /^the certificate has two PSD2 statements$/,
  },
  {
    name: 'roles not a SEQUENCE (a SET)',
    qc: () => generated(psd2TypeSections(FCA_AI, 'SET')),
    reason: /rolesOfPSP is not a SEQUENCE/,
  },
  {
    name: 'no roles',
    qc: () => raw(seq(seq(oid(PSD2_STATEMENT), seq(seq(), utf8('FCA'), utf8('GB-FCA'))))),
    reason: /rolesOfPSP is empty/,
  },
  {
    name: 'a role listed twice',
    qc: () => raw(psd2Der(['PSP_AI', 'PSP_PI', 'PSP_AI'])),
    reason: /role PSP_AI is listed twice/,
  },
  {
    name: 'an NCA name over 256 characters',
    qc: () => raw(psd2Der(['PSP_AI'], 'N'.repeat(257))),
    reason: /nCAName is longer than 256 characters/,
  },
  {
    name: 'a field after nCAId',
    qc: () =>
      raw(
        seq(
          seq(
            oid(PSD2_STATEMENT),
            seq(seq(seq(oid(ROLE_OID.PSP_AI), utf8('PSP_AI'))), utf8('F'), utf8('G'), utf8('X')),
          ),
        ),
      ),
    reason: /unexpected extra element/,
  },
  {
    name: 'the qcStatements value not a SEQUENCE',
    qc: () => raw(tlv(0x31, seq(oid(PSD2_STATEMENT)))),
    reason: /^the qcStatements extension is malformed \(expected tag 0x30, found 0x31\)$/,
  },
];

describe('malformed PSD2 statements: the certificate verifies, psd2 is undefined, the event says why', () => {
  it.each(MALFORMED)('$name', async ({ name, qc, reason }) => {
    const leaf = pki.leaf(name.replace(/\W+/g, '-'), TPP_SUBJECT, qc());
    // OpenSSL does not read the statement: for it these are ordinary valid certificates.
    expect(opensslAccepts(leaf)).toBe(true);
    const { certificate, events } = await verified(leaf);
    expect(certificate.psd2).toBeUndefined();
    expect(certificate.organizationIdentifier).toBe('PSDGB-FCA-123456');
    expect(events).toHaveLength(1);
    expect(events[0]?.subjectDN).toBe(certificate.subjectDN);
    expect(events[0]?.reason).toMatch(reason);
  });
});

describe('certgate inspect', () => {
  it('shows psd2 and organizationIdentifier, or why the statement was ignored', async () => {
    const lines: string[] = [];
    const io = { out: (line: string) => void lines.push(line), err: (line: string) => void lines.push(line) };
    expect(await runInspect([pki.leaf('inspect-good', TPP_SUBJECT, qcStatementsWithPsd2(FCA_AI)).certFile], io)).toBe(
      0,
    );
    expect(JSON.parse(lines.join('\n'))).toMatchObject({
      organizationIdentifier: 'PSDGB-FCA-123456',
      psd2: { roles: ['PSP_AI'], ncaName: 'Financial Conduct Authority', ncaId: 'GB-FCA' },
    });
    lines.length = 0;
    expect(await runInspect([pki.leaf('inspect-bad', TPP_SUBJECT, raw(psd2Der([]))).certFile], io)).toBe(0);
    expect(lines.at(-1)).toBe('(PSD2 statement ignored: the PSD2 statement is malformed (rolesOfPSP is empty))');
  });
});

describe("the 'psd2-statement-ignored' event", () => {
  it('fires once per certificate, not per verification', async () => {
    const leaf = pki.leaf('once', TPP_SUBJECT, raw(psd2Der(['PSP_AI', 'PSP_AI'])));
    const { verifier, events } = await verified(leaf);
    for (let i = 0; i < 3; i++) expect((await verifier.verify(leaf.chain)).ok).toBe(true);
    expect(events).toHaveLength(1);
  });

  it('does not fire for a certificate that is refused', async () => {
    const other = new Psd2Pki(tempDir('certgate-psd2-other-'), 'Other CA');
    const leaf = other.leaf('stranger', TPP_SUBJECT, raw(psd2Der(['PSP_AI', 'PSP_AI'])));
    const { verifier, events } = verifierWithEvents();
    const result = await verifier.verify(leaf.chain);
    expect(result.ok).toBe(false);
    expect(events).toEqual([]);
  });

  it('is a process warning, never a changed verdict, when its listener throws', async () => {
    const leaf = pki.leaf('listener-throws', TPP_SUBJECT, raw(psd2Der([])));
    const verifier = createVerifier({ ca: pki.ca });
    verifier.on('psd2-statement-ignored', () => {
      throw new Error('listener bug');
    });
    const warned = new Promise((resolve) => process.once('warning', resolve));
    expect((await verifier.verify(leaf.chain)).ok).toBe(true);
    expect(String(await warned)).toMatch(/psd2-statement-ignored/);
  });
});
