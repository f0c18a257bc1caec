/** The public library API. No side effects on import. */
export { PkiError, PkiErrors, EXIT_CODES, exitCodeFor } from './errors.js';
export type { Deps, Store, CaRecord, CertificateRecord, NewCertificate } from './ports.js';
export type {
  StoreFactory,
  StoreConnection,
  CaRepository,
  CertificateRepository,
  BatchRepository,
  RevocationRepository,
  CrlRepository,
  CrlTransaction,
  AuditRepository,
  PublishingRepository,
  LeaseRepository,
  RotationRepository,
  ImportRepository,
  TransactionRepository,
  StoreTransaction,
} from './ports.js';
export { run } from './cli/run.js';
export { initPki, createCa, createCaCsr, importCa, listCas, exportCa } from './app/ca/index.js';
export { issueCertificate, issueBatch } from './app/issue.js';
export { revokeCertificate } from './app/revoke.js';
export { listCertificates, showCertificate } from './app/query.js';
export { SqliteStore } from './adapters/store/sqlite.js';
export { MemoryStore, MemoryDatabase } from './adapters/store/memory.js';
export { parseProfile, loadProfile } from './profile/load.js';
export { readCsr } from './x509/csr.js';
export { parseCertificate, readCertificate } from './x509/certificate.js';
export { anchorBundle, pushAnchor, anchorStatus, publishCrls } from './app/publish.js';
export { planRotation, startRotation, switchRotation, rotationStatus, finishRotation, abortRotation } from './app/rotation/index.js';
export type { RotationRecord, RotationPhase } from './ports.js';
export type { JsonError, JsonResult, ResultData, ResultKind } from './cli/results.js';
export { JSON_CONTRACT_VERSION } from './cli/results.js';
export { signSessionRequest, serialToDecimal, canonicalRequest, stringToSign } from './adapters/aws/x509-signer.js';
export { credentialProcess } from './adapters/aws/create-session.js';
export { previewSession, DEFAULT_MAPPINGS } from './domain/session.js';
export { previewCertificate } from './app/preview.js';
export { verifyCertificate } from './app/verify.js';
export { lintFile } from './app/lint.js';
export { inspectFile } from './app/inspect.js';
export { documentOf, type InputDocument, type AnyDocument, type CrlDocument } from './app/documents.js';
export { startEmulator } from './emulator/server.js';
export { fromRolesAnywhere, CredentialRefresher, type FromRolesAnywhereOptions, type RolesAnywhereCredentials } from './adapters/aws/provider.js';
