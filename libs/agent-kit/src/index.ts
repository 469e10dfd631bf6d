export { AgentRuntime, type ChunkHandler, type ChunkJob, type GatherHandler, type GatherJob, type Source, type StepHandlers } from './agent-runtime';
export { agentConfigFromEnv, validateAgentConfig, resolvePeer, ConfigError, type AgentConfig } from './config';
export { createAgentApp, type AgentApp, type AgentAppOptions, type AgentDeps } from './create-agent-app';
export { JobQueue } from './job-queue';
export { createLogger, httpLogger } from './logger';
export { serveAgent, type ServeOptions } from './serve';
export { StepStats, type StepSnapshot } from './step-stats';
export { createStores, type AgentStores } from './stores';
export type { KmsConfig } from './config';
