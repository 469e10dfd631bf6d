// @reelmesh/provenance: integrity against insiders. Signed provenance for every chunk (in-toto
// statements in DSSE envelopes, chained back to the owner's original), a tamper-evident audit log
// with owner-signed checkpoints, and signed policy bundles in OPA's format.
export { canonicalJson, sha256Hex } from './canonical-json';
export { ProvenanceError, isProvenanceError, type BrokenLink, type BrokenLinkKind } from './provenance-error';
export { pae, signEnvelope, verifyEnvelope, type DsseEnvelope, type DsseSignature } from './dsse';
export { createSigner, type Signer, type SigningMaterial } from './signer';
export { parseTrustBundle, splitPem, verifyCertificateChain, type VerifiedSigner } from './certificates';
export { createDevCa, type DevCa } from './dev-ca';
export {
  CHUNK_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  STATEMENT_TYPE,
  subjectName,
  type ChunkInput,
  type ChunkPredicate,
  type ChunkStatement,
  type DigestSet,
} from './statement';
export {
  RECORD_MEDIA_TYPE,
  parametersDigest,
  peekStatement,
  recordDigest,
  signRecord,
  verifyRecord,
  type ProvenanceRecord,
  type RecordInput,
  type VerifiedRecord,
} from './record';
export { verifyChain, type ChainTarget, type VerifiedChain, type VerifyChainOptions } from './verify-chain';
export { headOf, labelOf, mergeRecords, verifyHandoffProvenance, type HandoffProvenance, type ReceivedSlot } from './handoff-provenance';
export {
  AuditLog,
  CHECKPOINT_PAYLOAD_TYPE,
  DEFAULT_CHECKPOINT_EVERY,
  GENESIS_HASH,
  auditContext,
  chainHash,
  checkpointKey,
  entryDigest,
  entryKey,
  type AuditEntry,
  type AuditLogNews,
  type AuditLogOptions,
  type CheckpointStatement,
  type SignedCheckpoint,
} from './audit-log';
export { AuditShipper, type AuditShipperOptions, type ShipperStats } from './audit-shipper';
export { AuditLedger, AuditLedgerError, LEDGER_AGENT, LEDGER_LOG, type AuditComponent, type AuditLedgerOptions, type Submitter } from './audit-ledger';
export { verifyAuditLog, type AuditProblem, type AuditProblemKind, type AuditReport, type VerifyAuditLogOptions } from './verify-audit-log';
export { BundleError, type BundleErrorCode } from './bundle/bundle-error';
export {
  MANIFEST_FILE,
  SIGNATURES_FILE,
  buildPolicyBundle,
  packBundle,
  signBundle,
  unpackBundle,
  verifyBundle,
  type BundleManifest,
  type PolicyBundleInput,
  type SignBundleOptions,
  type VerifiedBundle,
  type VerifyBundleOptions,
} from './bundle/bundle';
export type { BundleFiles } from './bundle/tar';
export { opaFileHash } from './bundle/opa-hash';
export {
  benchDeliverableAttestation,
  benchProvenance,
  type AttestationBenchOptions,
  type AttestationBenchResult,
  type ProvenanceBenchOptions,
  type ProvenanceBenchResult,
} from './bench';
export {
  ATTESTATION_SUFFIX,
  DELIVERABLE_PREDICATE_TYPE,
  PROVENANCE_DIR,
  attestDeliverable,
  attestationPathOf,
  chunkProvenanceFile,
  fileDigest,
  verifyDeliverable,
  workflowDigest,
  writeChunkProvenance,
  type AttestDeliverableInput,
  type ChunkProvenanceFile,
  type ChunkVerdict,
  type DeliverableFailure,
  type DeliverablePredicate,
  type DeliverableReport,
  type DeliverableStatement,
  type FinalRecord,
  type PolicyInForce,
} from './deliverable';
export { OWNER_BUNDLE_KEY_ID, signPolicyDirectory, type SignPolicyDirectoryOptions } from './bundle/policy-dir';
export { readJsonObject, writeJsonObject } from './object-io';
