export { createApp, DELIVERABLE_NAME } from './app';
export { Run, type RunState, type RunStatus } from './run-state';
