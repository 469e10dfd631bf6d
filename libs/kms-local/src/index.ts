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
export { readWorkflowAgents } from './workflow-agents';
export { KmsError, type KmsErrorType } from './errors';
export { MasterSecretError } from './master-secret';
export { SealedFileError } from './sealed-file';
