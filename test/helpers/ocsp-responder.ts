/**
 * The OpenSSL OCSP responder as a peer: `openssl ocsp -index ... -CA ... -rsigner ...` answers
 * every request. `openssl ocsp -port` listens on all interfaces and cannot be bound to 127.0.0.1,
 * so each POST is handed to the same responder code one request at a time (`-reqin`/`-respout`)
 * behind an HTTP server on 127.0.0.1, which can also go down, answer slowly or serve garbage.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createHash, KeyObject, randomBytes, sign, webcrypto as nodeWebcrypto } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, Extension } from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  id_pkix_ocsp_basic,
  KeyHash,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { parseCertificate, type ParsedCertificate } from '../../src/x509/certificate.js';
import { encodeOcspRequest, type OcspCertStatus } from '../../src/revocation/ocsp.js';
import { opensslOk, tempDir } from './oracle.js';

const run = promisify(execFile);
export const OCSP_PKI_SCRIPT = fileURLToPath(new URL('../fixtures/openssl-ocsp-pki.sh', import.meta.url));

export type OcspLeaf = 'good' | 'revoked' | 'unlisted' | 'noaia';
/** Who signs responses: the CA, a delegated responder, a CA-issued certificate without OCSPSigning, or a look-alike CA with another key. */
export type OcspSigner = 'ca' | 'responder' | 'noeku' | 'impostor';

export class OpensslOcspResponder {
  mode: 'openssl' | 'slow' | 'garbage' | 'http-error' = 'openssl';
  signer: OcspSigner = 'ca';
  /** Passed as `-nmin`: answers then carry a nextUpdate this many minutes ahead. */
  nextUpdateMinutes: number | undefined;
  /** Requests received (each one an OCSP question). */
  requests = 0;
  port = 0;
  dir = '';
  private seq = 0;
  private readonly server = http.createServer((req, res) => {
    this.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.mode === 'slow') return; // never answers: the client's timeout must fire
      if (this.mode === 'garbage') return void res.end('<html>captive portal</html>');
      if (this.mode === 'http-error') {
        res.statusCode = 500;
        return void res.end();
      }
      this.answer(Buffer.concat(chunks)).then(
        (der) => {
          res.setHeader('content-type', 'application/ocsp-response');
          res.end(der);
        },
        (err: Error) => {
          res.statusCode = 500;
          res.end(String(err.message));
        },
      );
    });
  });

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Listens on a free port first, so the certificates' AIA can name it, then builds the PKI. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.dir = tempDir('certgate-ocsp-');
    opensslOk(['version']); // fails early and clearly if openssl is missing
    await run('bash', [OCSP_PKI_SCRIPT, this.dir, this.url]);
  }

  /** Stops listening (connections are refused) until {@link up}. */
  async down(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async up(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  pem(name: string): Buffer {
    return readFileSync(this.file(`${name}.pem`));
  }

  client(name: OcspLeaf | 'noeku'): { cert: Buffer; key: Buffer } {
    return { cert: this.pem(name), key: this.pem(`${name}-key`) };
  }

  /** Marks a valid certificate revoked in the responder's index (the next answer says so). */
  revoke(name: OcspLeaf): void {
    const index = this.file('index.txt');
    const revokedAt = new Date(Date.now() - 60_000).toISOString().replace(/^\d\d|[-T:]|\.\d+/g, '');
    const lines = readFileSync(index, 'utf8')
      .split('\n')
      .map((line) => (line.endsWith(`/CN=${name}`) ? line.replace(/^V\t([^\t]*)\t\t/, `R\t$1\t${revokedAt},keyCompromise\t`) : line));
    writeFileSync(index, lines.join('\n'));
  }

  private async answer(request: Buffer): Promise<Buffer> {
    const n = ++this.seq;
    const reqFile = this.file(`req-${n}.der`);
    const respFile = this.file(`resp-${n}.der`);
    writeFileSync(reqFile, request);
    const signer = this.signer;
    await run('openssl', [
      'ocsp',
      '-index', this.file('index.txt'),
      '-CA', this.file('ca.pem'),
      '-rsigner', this.file(`${signer}.pem`),
      '-rkey', this.file(`${signer}-key.pem`),
      ...(this.nextUpdateMinutes === undefined ? [] : ['-nmin', String(this.nextUpdateMinutes)]),
      '-reqin', reqFile,
      '-respout', respFile,
    ]);
    return readFileSync(respFile);
  }
}

/*
 * In-process OCSP answers, for unit tests that freeze the clock: a small CA and leaf made with
 * @peculiar/x509, responses built with @peculiar/asn1-ocsp and signed with node:crypto, so a test
 * chooses every time in the answer to the millisecond and no process is spawned.
 */

const webcrypto = nodeWebcrypto as unknown as Crypto;
x509.cryptoProvider.set(webcrypto);
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as unknown as EcKeyGenParams & EcdsaParams;
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
/** An extension OID under the documentation arc, used only to pad responses to an exact size. */
const PADDING_OID = '1.3.6.1.4.1.32473.1';

export interface AnswerSpec {
  status: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate?: Date;
  revokedAt?: Date;
  /** CRLReason code of a revoked answer. */
  reason?: number;
  /** Who signs: the CA itself (default) or its delegated responder, attached to the response. */
  signer?: 'ca' | 'responder';
  /** Pads the response (a non-critical response extension) to exactly this many bytes. */
  size?: number;
}

export interface InProcessOcspPki {
  caPem: string;
  leafPem: string;
  ca: ParsedCertificate;
  leaf: ParsedCertificate;
  /** The delegated responder: id-kp-OCSPSigning, valid from `responderValidity.notBefore` to `notAfter`. */
  responder: ParsedCertificate;
  /** A DER OCSPResponse about the leaf. */
  answer(spec: AnswerSpec): Buffer;
}

interface KeyedCert {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  keyId: string;
}

async function ecKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function issued(parent: KeyedCert, subject: string, eku: string, validity: Validity): Promise<KeyedCert> {
  const keys = await ecKeys();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex').replace(/^./, '2'),
    subject,
    issuer: parent.cert.subjectName,
    ...validity,
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([eku]),
      ski,
      new x509.AuthorityKeyIdentifierExtension(parent.keyId),
    ],
  });
  return { cert, keys, keyId: ski.keyId };
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/**
 * A CA valid `validity`, a client leaf, and a delegated responder valid `responderValidity`
 * (default: as the CA). Certificate times are whole seconds, as X.509 encodes them.
 */
export async function makeInProcessOcspPki(validity: Validity, responderValidity = validity): Promise<InProcessOcspPki> {
  const caKeys = await ecKeys();
  const caSki = await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
    name: 'CN=In-process OCSP CA',
    ...validity,
    keys: caKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      caSki,
    ],
  });
  const caKeyed: KeyedCert = { cert: caCert, keys: caKeys, keyId: caSki.keyId };
  const leafKeyed = await issued(caKeyed, 'CN=leaf', x509.ExtendedKeyUsage.clientAuth, validity);
  const responderKeyed = await issued(caKeyed, 'CN=responder', x509.ExtendedKeyUsage.ocspSigning, responderValidity);
  const parse = (k: KeyedCert) => parseCertificate(Buffer.from(k.cert.rawData));
  const [ca, leaf, responder] = [parse(caKeyed), parse(leafKeyed), parse(responderKeyed)];
  const certId = AsnConvert.parse(encodeOcspRequest(leaf, ca), OCSPRequest).tbsRequest.requestList[0]?.reqCert as CertID;
  const signers = {
    ca: { keyed: caKeyed, parsed: ca, key: KeyObject.from(caKeys.privateKey) },
    responder: { keyed: responderKeyed, parsed: responder, key: KeyObject.from(responderKeyed.keys.privateKey) },
  };
  return {
    caPem: caCert.toString('pem'),
    leafPem: leafKeyed.cert.toString('pem'),
    ca,
    leaf,
    responder,
    answer(spec) {
      const signer = signers[spec.signer ?? 'ca'];
      const build = (padding: number) =>
        signedResponse(certId, spec, signer.parsed, signer.key, spec.signer === 'responder' ? [signer.keyed.cert] : [], padding);
      return spec.size === undefined ? build(-1) : padded(build, spec.size);
    },
  };
}

/** Grows the padding until the response is exactly `size` bytes (DER lengths shift as it grows). */
function padded(build: (padding: number) => Buffer, size: number): Buffer {
  let padding = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const der = build(padding);
    if (der.length === size) return der;
    padding += size - der.length;
    if (padding < 0) break;
  }
  throw new Error(`cannot pad an OCSP response to exactly ${size} bytes`);
}

function signedResponse(certId: CertID, spec: AnswerSpec, signer: ParsedCertificate, key: KeyObject, certs: x509.X509Certificate[], padding: number): Buffer {
  const certStatus =
    spec.status === 'good'
      ? new CertStatus({ good: null })
      : spec.status === 'unknown'
        ? new CertStatus({ unknown: null })
        : new CertStatus({
            revoked: new RevokedInfo({
              revocationTime: spec.revokedAt ?? new Date(spec.thisUpdate.getTime() - 3_600_000),
              ...(spec.reason === undefined ? {} : { revocationReason: new CRLReason(spec.reason) }),
            }),
          });
  const single = new SingleResponse({ certID: certId, certStatus, thisUpdate: spec.thisUpdate, ...(spec.nextUpdate ? { nextUpdate: spec.nextUpdate } : {}) });
  const data = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(createHash('sha1').update(signer.publicKeyBits).digest()) }),
    producedAt: spec.thisUpdate,
    responses: [single],
    ...(padding < 0 ? {} : { responseExtensions: [new Extension({ extnID: PADDING_OID, critical: false, extnValue: new OctetString(Buffer.alloc(padding)) })] }),
  });
  const tbs = Buffer.from(AsnConvert.serialize(data));
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }),
    signature: new Uint8Array(sign('sha256', tbs, key)).buffer,
    ...(certs.length > 0 ? { certs: certs.map((c) => AsnConvert.parse(c.rawData, Certificate)) } : {}),
  });
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
  });
  return Buffer.from(AsnConvert.serialize(response));
}

/**
 * An HTTP server on 127.0.0.1 that answers every request with what `respond` returns (bytes, or an
 * HTTP status). `respond` runs when the request has arrived, so a test can step its clock there.
 * `chunked`: no content-length, so a size cap must trip while the body streams.
 */
export async function serveOcsp(
  respond: (request: Buffer) => Buffer | number,
  options: { chunked?: boolean } = {},
): Promise<{ url: string; readonly requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = respond(Buffer.concat(chunks));
      if (typeof answer === 'number') {
        res.statusCode = answer;
        return void res.end();
      }
      res.setHeader('content-type', 'application/ocsp-response');
      // A write before end() makes Node send the body chunked, without a content-length.
      if (options.chunked) res.write(answer);
      res.end(options.chunked ? undefined : answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    get requests() {
      return state.requests;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
