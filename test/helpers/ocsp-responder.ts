/**
 * OCSP responders for tests.
 * - The OpenSSL OCSP responder as a peer ({@link OcspPki}, {@link OcspResponder}): one PKI per test
 *   file, and a responder per test with a fixed behaviour.
 * - In-process answers ({@link makeInProcessOcspPki}, {@link serveOcsp}) for unit tests that freeze
 *   the clock and choose every time in an answer to the millisecond.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createHash, KeyObject, randomBytes, sign, webcrypto as nodeWebcrypto } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, Extension } from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  type CertID,
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
import { opensslOk, pemToDer, tempDir } from './oracle.js';

const run = promisify(execFile);
export const OCSP_PKI_SCRIPT = fileURLToPath(new URL('../fixtures/openssl-ocsp-pki.sh', import.meta.url));

export type OcspLeaf = 'good' | 'revoked' | 'unlisted' | 'noaia';
/**
 * Who signs responses: the CA, a delegated responder, a CA-issued certificate without
 * OCSPSigning, a look-alike CA with another key, or a self-signed certificate of an unrelated key
 * (made by {@link OcspPki.localSigner}: a responder trusted only by local configuration).
 */
export type OcspSigner = 'ca' | 'responder' | 'noeku' | 'impostor' | 'local';
export type ResponderMode = 'openssl' | 'slow' | 'garbage' | 'http-error';

/** How one test responder behaves, fixed when it is made. */
export interface ResponderConfig {
  /** 'openssl' answers; 'slow' never does; 'garbage' serves HTML; 'http-error' answers 500. Default 'openssl'. */
  readonly mode?: ResponderMode;
  /**
   * Who signs (default the CA). A list scripts it: the n-th request is signed by the n-th entry,
   * the last one repeating.
   */
  readonly signer?: OcspSigner | readonly OcspSigner[];
  /** Passed as `-nmin`: answers then carry a nextUpdate this many minutes ahead. */
  readonly nextUpdateMinutes?: number;
  /** 'refuse': GET requests are answered 405 (a responder or proxy that takes POST only). */
  readonly get?: 'answer' | 'refuse';
  /** Each answer waits this long first (benchmarks: a distant responder). */
  readonly delayMs?: number;
  /** The answer to request n (from 0) waits for the promise this returns, if any. */
  readonly holdAnswer?: (n: number) => Promise<unknown> | undefined;
}

/** The responder the certificates' Authority Information Access names; no test reconfigures it. */
const AIA_CONFIG: ResponderConfig = Object.freeze({ signer: 'ca', nextUpdateMinutes: 10 });

/**
 * The OpenSSL OCSP test PKI (test/fixtures/openssl-ocsp-pki.sh), built once per test file, and
 * the responder its certificates name. Tests that need another behaviour make their own
 * responder with {@link OcspPki.responder} and point `ocsp.urls` at it: nothing a test changes is
 * seen by another.
 */
export class OcspPki {
  private responders = 0;

  private constructor(
    readonly dir: string,
    /** The responder at the certificates' AIA URL: signed by the CA, nextUpdate 10 minutes ahead. */
    readonly aia: OcspResponder,
  ) {}

  /** Listens on a free port first, so the certificates' AIA can name it, then builds the PKI. */
  static async create(): Promise<OcspPki> {
    opensslOk(['version']); // fails early and clearly if openssl is missing
    const dir = tempDir('certgate-ocsp-');
    const aia = new OcspResponder(dir, 'aia', AIA_CONFIG);
    await aia.up();
    await run('bash', [OCSP_PKI_SCRIPT, dir, aia.url]);
    const pki = new OcspPki(dir, aia);
    // OpenSSL stamps answers with the current second: wait out the second the last certificate
    // was issued in, so that every answer is stamped strictly after every notBefore.
    const leaves = ['good', 'revoked', 'unlisted', 'noaia', 'responder', 'noeku'];
    const notBefore = Math.max(...leaves.map((name) => parseCertificate(pemToDer(pki.pem(name))).notBefore.getTime()));
    const wait = notBefore + 1000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return pki;
  }

  /**
   * The 'local' signer: a self-signed certificate (valid `days`) of a key unrelated to the CA,
   * made by the OpenSSL CLI; returns its PEM. Made once per PKI.
   */
  localSigner(days = 30): Buffer {
    if (!existsSync(this.file('local.pem'))) {
      const subj = ['-subj', '/CN=Locally trusted OCSP responder', '-days', String(days)];
      const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
      opensslOk(['req', '-x509', ...key, ...subj, '-keyout', 'local-key.pem', '-out', 'local.pem'], this.dir);
    }
    return this.pem('local');
  }

  /** A responder of its own (own port, index, request count and answer cache), listening. */
  async responder(config: ResponderConfig = {}): Promise<OcspResponder> {
    const responder = new OcspResponder(this.dir, String(++this.responders), Object.freeze({ ...config }));
    await responder.up();
    return responder;
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

  async close(): Promise<void> {
    await this.aia.close();
  }
}

/**
 * One OpenSSL OCSP responder: `openssl ocsp -index ... -CA ... -rsigner ...` answers each request.
 * `openssl ocsp -port` listens on all interfaces and cannot be bound to 127.0.0.1, so each request
 * is handed to the same responder code one at a time (`-reqin`/`-respout`) behind an HTTP server on
 * 127.0.0.1, which can also go down, answer slowly, serve garbage or refuse GET. A GET request is
 * decoded as `openssl ocsp -port` decodes it (RFC 6960 A.1: the path after the responder URL,
 * URL-decoded, then base64-decoded). Answers are cached per (request bytes, signer) until the
 * index changes: openssl runs once per distinct question.
 */
export class OcspResponder {
  /** The HTTP method of each request received, in order. */
  readonly methods: string[] = [];
  private served = 0;
  private runs = 0;
  private port = 0;
  private indexFile: string | undefined;
  private readonly answers = new Map<string, Promise<Buffer>>();
  private readonly server = http.createServer((req, res) => {
    const n = this.served++;
    this.methods.push(req.method ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'GET') return this.respond(n, Buffer.concat(chunks), res);
      if (this.config.get === 'refuse') {
        res.statusCode = 405;
        return void res.end();
      }
      const encoded = (req.url ?? '/').slice(1);
      this.respond(n, Buffer.from(decodeURIComponent(encoded), 'base64'), res);
    });
  });

  constructor(
    private readonly dir: string,
    private readonly name: string,
    readonly config: Readonly<ResponderConfig>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** HTTP requests received (each one an OCSP question), whether or not the answer was cached. */
  get requests(): number {
    return this.served;
  }

  /** How many times `openssl ocsp` ran to answer. */
  get opensslRuns(): number {
    return this.runs;
  }

  /** Listens (on the same port again after {@link down}). */
  async up(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening: connections are refused until {@link up}. */
  async down(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }

  /** Marks a valid certificate revoked in this responder's index (its next answer says so). */
  revoke(leaf: OcspLeaf): void {
    const revokedAt = new Date(Date.now() - 60_000).toISOString().replace(/^\d\d|[-T:]|\.\d+/g, '');
    const lines = readFileSync(this.index(), 'utf8')
      .split('\n')
      .map((line) => {
        if (!line.endsWith(`/CN=${leaf}`)) return line;
        return line.replace(/^V\t([^\t]*)\t\t/, `R\t$1\t${revokedAt},keyCompromise\t`);
      });
    writeFileSync(this.index(), lines.join('\n'));
    this.answers.clear();
  }

  private respond(n: number, request: Buffer, res: http.ServerResponse): void {
    const mode = this.config.mode ?? 'openssl';
    if (mode === 'slow') return; // never answers: the client's timeout must fire
    // No keep-alive: a pooled connection that the server closes while idle would turn a later
    // request into ECONNRESET, a "no answer" no test asked for.
    res.setHeader('connection', 'close');
    if (mode === 'garbage') return void res.end('<html>captive portal</html>');
    if (mode === 'http-error') {
      res.statusCode = 500;
      return void res.end();
    }
    const delay = this.config.delayMs ?? 0;
    const held = this.config.holdAnswer?.(n);
    const answered = Promise.all([held, delay > 0 ? new Promise((resolve) => setTimeout(resolve, delay)) : undefined]);
    answered
      .then(() => this.answer(request, this.signerFor(n)))
      .then(
        (der) => {
          res.setHeader('content-type', 'application/ocsp-response');
          res.end(der);
        },
        (err: Error) => {
          res.statusCode = 500;
          res.end(String(err.message));
        },
      );
  }

  private signerFor(n: number): OcspSigner {
    const signer = this.config.signer ?? 'ca';
    if (typeof signer === 'string') return signer;
    return signer[Math.min(n, signer.length - 1)] ?? 'ca';
  }

  /** This responder's own copy of the PKI's index, so that {@link revoke} concerns it alone. */
  private index(): string {
    if (!this.indexFile) {
      this.indexFile = join(this.dir, `index-${this.name}.txt`);
      copyFileSync(join(this.dir, 'index.txt'), this.indexFile);
    }
    return this.indexFile;
  }

  private answer(request: Buffer, signer: OcspSigner): Promise<Buffer> {
    const key = `${signer}:${createHash('sha256').update(request).digest('hex')}`;
    let answer = this.answers.get(key);
    if (!answer) {
      answer = this.runOpenssl(request, signer);
      answer.catch(() => this.answers.delete(key));
      this.answers.set(key, answer);
    }
    return answer;
  }

  private async runOpenssl(request: Buffer, signer: OcspSigner): Promise<Buffer> {
    const n = ++this.runs;
    const reqFile = join(this.dir, `req-${this.name}-${n}.der`);
    const respFile = join(this.dir, `resp-${this.name}-${n}.der`);
    writeFileSync(reqFile, request);
    const nmin = this.config.nextUpdateMinutes;
    await run('openssl', [
      'ocsp',
      '-index',
      this.index(),
      '-CA',
      join(this.dir, 'ca.pem'),
      '-rsigner',
      join(this.dir, `${signer}.pem`),
      '-rkey',
      join(this.dir, `${signer}-key.pem`),
      ...(nmin === undefined ? [] : ['-nmin', String(nmin)]),
      '-reqin',
      reqFile,
      '-respout',
      respFile,
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
export async function makeInProcessOcspPki(
  validity: Validity,
  responderValidity = validity,
): Promise<InProcessOcspPki> {
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
  // The CertID exactly as certgate asks for it.
  const request = AsnConvert.parse(encodeOcspRequest(leaf, ca), OCSPRequest);
  const certId = request.tbsRequest.requestList[0]?.reqCert as CertID;
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
      const attached = spec.signer === 'responder' ? [signer.keyed.cert] : [];
      const build = (padding?: number) => signedResponse(certId, spec, signer.parsed, signer.key, attached, padding);
      return spec.size === undefined ? build() : padded(build, spec.size);
    },
  };
}

/**
 * Adjusts the padding until the response is exactly `size` bytes. DER lengths shift as it grows,
 * and an ECDSA signature is 70 to 72 bytes from one signing to the next, so this signs again
 * until one lands exactly (each try does with a good chance once the padding is right).
 */
function padded(build: (padding: number) => Buffer, size: number): Buffer {
  let padding = 0;
  for (let attempt = 0; attempt < 100; attempt++) {
    const der = build(padding);
    if (der.length === size) return der;
    padding = Math.max(0, padding + size - der.length);
  }
  throw new Error(`cannot pad an OCSP response to exactly ${size} bytes`);
}

function certStatus(spec: AnswerSpec): CertStatus {
  if (spec.status === 'good') return new CertStatus({ good: null });
  if (spec.status === 'unknown') return new CertStatus({ unknown: null });
  const revocationTime = spec.revokedAt ?? new Date(spec.thisUpdate.getTime() - 3_600_000);
  const revoked = new RevokedInfo({ revocationTime });
  if (spec.reason !== undefined) revoked.revocationReason = new CRLReason(spec.reason);
  return new CertStatus({ revoked });
}

function signedResponse(
  certID: CertID,
  spec: AnswerSpec,
  signer: ParsedCertificate,
  key: KeyObject,
  certs: x509.X509Certificate[],
  padding: number | undefined,
): Buffer {
  const single = new SingleResponse({ certID, certStatus: certStatus(spec), thisUpdate: spec.thisUpdate });
  if (spec.nextUpdate) single.nextUpdate = spec.nextUpdate;
  const data = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(createHash('sha1').update(signer.publicKeyBits).digest()) }),
    producedAt: spec.thisUpdate,
    responses: [single],
  });
  if (padding !== undefined) {
    const filler = new OctetString(Buffer.alloc(padding));
    data.responseExtensions = [new Extension({ extnID: PADDING_OID, critical: false, extnValue: filler })];
  }
  const tbs = Buffer.from(AsnConvert.serialize(data));
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }),
    signature: new Uint8Array(sign('sha256', tbs, key)).buffer,
  });
  if (certs.length > 0) basic.certs = certs.map((c) => AsnConvert.parse(c.rawData, Certificate));
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({
      responseType: id_pkix_ocsp_basic,
      response: new OctetString(AsnConvert.serialize(basic)),
    }),
  });
  return Buffer.from(AsnConvert.serialize(response));
}

/**
 * An HTTP server on 127.0.0.1 that answers every request with what `respond` returns (bytes, or an
 * HTTP status; or a promise of these, to hold the answer back). `respond` runs when the request
 * has arrived, so a test can step its clock there; a GET request is decoded from its path.
 * `chunked`: no content-length, so a size cap must trip while the body streams.
 */
export async function serveOcsp(
  respond: (request: Buffer, method: string) => Buffer | number | Promise<Buffer | number>,
  options: { chunked?: boolean } = {},
): Promise<{ url: string; readonly requests: number; readonly methods: string[]; close(): Promise<void> }> {
  const state = { requests: 0, methods: [] as string[] };
  const server = http.createServer((req, res) => {
    state.requests++;
    const method = req.method ?? '';
    state.methods.push(method);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const get = Buffer.from(decodeURIComponent((req.url ?? '/').slice(1)), 'base64');
      const answer = await respond(method === 'GET' ? get : Buffer.concat(chunks), method);
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
    methods: state.methods,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
