export { createVerifier } from './verifier/verifier.js';
export type {
  Verifier,
  VerifierEvents,
  VerifyResult,
  VerifySuccess,
  VerifyFailure,
  VerifyOptions,
} from './verifier/verifier.js';
export type { VerifierOptions, CrlOptions, OcspOptions, PoliciesOption, Purpose } from './verifier/options.js';
export { CertgateError, REASON_CODES, statusFor } from './errors.js';
export type { ProblemBody, ReasonCode, VerifyFailureCode } from './errors.js';
export type { CertificateInfo, Psd2Info, Psd2Role, SubjectAltNames } from './x509/certificate.js';
export type { NameObject } from './x509/name.js';
export type { PemOrDer, PemOrDerInput } from './x509/pem.js';
export {
  byCommonName,
  bySubjectDN,
  byEmail,
  byUri,
  byFingerprint,
  byPsd2,
  defaultIdentify,
} from './identity/identity.js';
export type {
  ByEmailOptions,
  Identity,
  IdentifyByCertificate,
  IdentifyFunction,
  IdentityEntry,
  IdentityTable,
  VerifiedPath,
} from './identity/identity.js';
export { clientCertGuard } from './guard/guard.js';
export type { ClientCertGuard, GuardOptions, ClientCert, GuardOutcome, CertificateOrigin } from './guard/guard.js';
export type { ProxyFormat, ProxyHeaderIgnored, ProxyOptions, ProxyTrust } from './guard/guard.js';
export type { RequestLike } from './sources/source.js';
export type { Clock } from './time/clock.js';
export { tlsOptions } from './tls/server-options.js';
export type { MutualTlsServerOptions, TlsOptionsInput, TlsPemInput } from './tls/server-options.js';
export type { NegotiatedTls, TlsRuleOptions, TlsVersionFloor } from './tls/rule.js';
