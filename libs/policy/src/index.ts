// @reelmesh/policy: the workflow policy (generated data + decision vectors), its TypeScript
// engine, and the OPA-shaped policy sidecar server (the process that runs it is apps/policy-sidecar).
// Handoff paths and the chunk-index rule live in @reelmesh/addressing.
export type { Decision, DecisionReason, DecisionVector, PolicyData, PolicyInput } from './types';
export { DECISION_REASONS } from './types';
export { CompiledPolicy, PolicyDataError, compilePolicy, type EdgeIndex } from './compile';
export { HANDOFF_METHOD, evaluate } from './evaluate';
export { buildPolicyInput, parsePathAndQuery, type RequestFacts } from './input';
export { GENERATED_MARKER, generateDecisionVectors, generatePolicyData, type PolicyDataOptions } from './generate';
export {
  DECISION_VECTORS_FILE,
  DECISION_VECTORS_README,
  DEFAULT_DECISION_VECTORS_PATH,
  DEFAULT_POLICY_DATA_PATH,
  POLICY_DATA_FILE,
  REPO_ROOT,
  loadDecisionVectors,
  loadPolicyData,
  policyDataJson,
  renderGeneratedPolicyFiles,
  stableJson,
  writeAtomically,
  writeGeneratedPolicyFiles,
  type GeneratedFile,
} from './files';
export { createDecisionLogger, summarizeInput, type DecisionLogEntry, type InputSummary } from './decision-log';
export {
  DECISION_PATHS,
  MAX_DATA_BYTES,
  MAX_INPUT_BYTES,
  POLICY_NOT_LOADED,
  parseCheckListenAddress,
  startPolicySidecar,
  type PolicySidecar,
  type PolicySidecarOptions,
} from './server';
export { benchPolicy, type BenchPolicyOptions, type BenchPolicyResult } from './bench';
export {
  CheckFrameError,
  FrameDecoder,
  MAX_CHECK_FRAME_BYTES,
  createCheckServer,
  encodeFrame,
  type CheckAnswer,
  type CheckRefusal,
  type CheckServer,
  type DecideCheck,
} from './check-protocol';
