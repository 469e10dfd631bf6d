export { startLocalKms, type LocalKms, type LocalKmsOptions } from './server';
export type { KmsAdmin, KeyInfo } from './admin';
export type { PrincipalCredential, PrincipalMap } from './principals';
export {
  KEY_ACTIONS,
  agentOf,
  isAllowed,
  parseKeyPolicy,
  type KeyAction,
  type KeyPolicy,
  type PolicyStatement,
  type EncryptionContext,
} from './policy';
export {
  agentPrincipal,
  assetKeyAlias,
  assetKeyPolicy,
  generateAgentCredentials,
  provisionWorkflowKeys,
  workflowKeyAlias,
  workflowKeyPolicy,
  type AgentCredential,
  type ProvisionOptions,
  type ProvisionedKey,
  type ProvisionedKeys,
  type WorkflowAgentRef,
} from './provision';
export { provisionOptionsFor, readProvisionOptions, type ProvisionOverrides } from './workflow-agents';
// The service's configuration surface (flags and REELMESH_KMS_* variables); apps/kms-local runs it.
export { helpRequested, loadMainConfig, usage, type MainConfig } from './main-config';
export { KmsError, type KmsErrorType } from './errors';
export { MasterSecretError } from './master-secret';
export { SealedFileError } from './sealed-file';
