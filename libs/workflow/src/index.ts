// @reelmesh/workflow: read the owner's workflow file and derive everything else from it.
export type {
  Actor,
  Agent,
  Edge,
  FilterJob,
  JobName,
  MediaSettings,
  MezzanineCodec,
  Step,
  Workflow,
  WorkflowIssue,
  WorkflowMetadata,
} from './types';
export { DEINTERLACERS, FRAME_RATE_METHODS, MEZZANINE_CODECS, PCM_INTERMEDIATES, SCALERS, X265_PRESETS } from './types';
export { WorkflowError, formatIssue } from './errors';
export { API_VERSION, KIND, WORKFLOW_SCHEMA } from './schema';
export { REPO_ROOT } from './repo-root';
export { DEFAULT_WORKFLOW_PATH, MAX_WORKFLOW_BYTES, loadWorkflow, parseWorkflow, validateWorkflow } from './load';
export { buildGraph, type WorkflowGraph } from './graph';
export { agentBySpiffeId, spiffeId } from './spiffe';
export { ownerOf, type Owner } from './owner';
export { accessMatrix, isAllowed, type AccessRule } from './matrix';
export { filterJobOf, jobModuleFile, moduleJobs } from './jobs';
