// @reelmesh/plugin: the Nx local plugin (generators `contractor` and `contractor-remove`) and the
// contractor core they share with `reelmesh contractor add|remove` (tools/cli).
export {
  ContractorError,
  describePlan,
  formatEdge,
  planAddContractor,
  planRemoveContractor,
  TSCONFIG_FILE,
  WORKFLOW_FILE,
  type AddContractorOptions,
  type ContractorPlan,
} from './contractor/plan';
export { applyChanges, diskFiles, type FileChange, type RepoFiles } from './contractor/repo-files';
export { JOBS_COMMENT } from './contractor/workflow-edit';
