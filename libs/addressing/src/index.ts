// @reelmesh/addressing: how things are named and reached — the name rule, the handoff address
// (path, chunk-index rule), workload identities (SPIFFE ids and the certificate's URI SAN), and
// the fixed ports of a pod with its own network.
export { NAME_PATTERN, NAME_HINT, TRUST_DOMAIN_PATTERN, TRUST_DOMAIN_HINT, isName, isTrustDomain, assertName } from './names';
export {
  HANDOFF_PREFIX,
  HANDOFF_ROUTE,
  CHUNK_PLACEHOLDER,
  CHUNK_INDEX_PATTERN,
  parseChunkIndex,
  handoffPath,
  handoffPattern,
  handoffSubject,
  splitHandoffPath,
  checkHandoffPath,
  parseHandoffPath,
  type HandoffAddress,
  type HandoffSegments,
  type HandoffPathCheck,
} from './handoff-address';
export { formatSpiffeId, spiffeTrustDomainId, spiffeTrustDomainPrefix, parseSpiffeId, readSpiffeId, isSpiffeId, spiffeIdOfCertificate, type WorkloadId } from './spiffe';
export { POD_PORTS } from './pod-ports';
export { POLICY_STATUS } from './policy-status';
export { normalizeRequestPath, PATH_NOT_NORMALIZABLE, type RequestPathResult } from './request-path';
