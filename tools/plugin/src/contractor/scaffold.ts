// The files of a new contractor app, mirroring apps/hdr: an Nx project, the agent-kit entry points,
// a spec that follows the workflow, and (for --job) the job module built on the public media API.

export interface AppScaffold {
  /** The app (folder, Nx project `app-<app>`, image). */
  readonly app: string;
  readonly actor: string;
  /** The step the app runs and the artifact it takes and hands on. */
  readonly step: string;
  readonly artifact: string;
  /** The job module name (--job), or undefined for a filter job declared in the workflow. */
  readonly jobModule?: string;
}

export function appFiles(s: AppScaffold): Record<string, string> {
  const root = `apps/${s.app}`;
  const files: Record<string, string> = {
    [`${root}/project.json`]: projectJson(s),
    [`${root}/src/main.ts`]: MAIN_TS,
    [`${root}/src/index.ts`]: INDEX_TS,
    [`${root}/src/app.ts`]: s.jobModule ? moduleAppTs(s, s.jobModule) : filterAppTs(s),
    [`${root}/src/app.spec.ts`]: specTs(s),
  };
  if (s.jobModule) files[`${root}/src/jobs/${s.jobModule}.ts`] = jobModuleTs(s, s.jobModule);
  return files;
}

function projectJson({ app, actor }: AppScaffold): string {
  return `{
  "name": "app-${app}",
  "$schema": "../../node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "apps/${app}/src",
  "projectType": "application",
  "tags": ["scope:${actor}", "type:app"],
  "targets": {
    "test": { "executor": "nx:run-commands", "options": { "command": "vitest run apps/${app}", "cwd": "{workspaceRoot}" } },
    "lint": { "executor": "nx:run-commands", "options": { "command": "eslint apps/${app}", "cwd": "{workspaceRoot}" } },
    "build": { "executor": "nx:run-commands", "outputs": ["{workspaceRoot}/dist/apps/${app}"], "options": { "command": "node tools/cli/bin/reelmesh.mjs build ${app}", "cwd": "{workspaceRoot}" } },
    "docker-build": { "executor": "nx:run-commands", "dependsOn": ["build"], "options": { "command": "docker build -f docker/${app}.Dockerfile -t reelmesh/${app}:0.1.0 .", "cwd": "{workspaceRoot}" } }
  }
}
`;
}

const MAIN_TS = `import { serveAgent } from '@reelmesh/agent-kit';
import { createApp } from './app';

serveAgent({ createApp });
`;

const INDEX_TS = `export { createApp } from './app';
`;

function filterAppTs({ step }: AppScaffold): string {
  return `import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';

/**
 * Step \`${step}\` runs a filter job: its ffmpeg filter graph is declared in policies/workflow.yaml
 * (\`jobs:\`), and agent-kit runs the workflow's filter jobs itself, so this app adds no handler.
 * To write the job in code instead, see docs/contractors.md.
 */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  return createAgentApp({ config, deps, handlers: {} });
}
`;
}

/** A DNS-label name as an object key: bare when it is an identifier, quoted otherwise. */
function propertyKey(name: string): string {
  return /^[a-z][a-z0-9]*$/i.test(name) ? name : `'${name}'`;
}

function member(object: string, name: string): string {
  return /^[a-z][a-z0-9]*$/i.test(name) ? `${object}.${name}` : `${object}['${name}']`;
}

/** `subtitle-burn` -> `subtitleBurnJob`. */
export function jobFunctionName(module: string): string {
  return `${module.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())}Job`;
}

function moduleAppTs({ step }: AppScaffold, module: string): string {
  const fn = jobFunctionName(module);
  return `import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { ${fn} } from './jobs/${module}';

/** Step \`${step}\` runs the job module ./jobs/${module} (docs/contractors.md). */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  return createAgentApp({ config, deps, handlers: { ${propertyKey(module)}: ${fn}(deps) } });
}
`;
}

function jobModuleTs({ artifact }: AppScaffold, module: string): string {
  const silent = artifact === 'sound' ? 'anull' : 'null';
  return `import type { AgentDeps, JobHandler } from '@reelmesh/agent-kit';
import { filterJob } from '@reelmesh/media';

/**
 * The ffmpeg filter graph job \`${module}\` runs on every ${artifact} chunk. \`${silent}\` passes it through
 * unchanged: replace it with the contractor's work. filterJob re-encodes the output as the input
 * came (the mezzanine, or HDR10 HEVC after hdr) and refuses a picture that drops to 8 bits.
 * For more than one filter chain, build on runFfmpeg and the codec helpers of @reelmesh/media.
 */
export const FILTER = '${silent}';

export function ${jobFunctionName(module)}(deps: AgentDeps): JobHandler {
  return ({ inputs, outputs }) => filterJob(${member('inputs', artifact)}, ${member('outputs', artifact)}, { filter: FILTER, media: deps.workflow.media, name: '${module}' });
}
`;
}

function specTs({ app, step }: AppScaffold): string {
  return `import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runAppOnceFailFast, upstreamChunk } from '@reelmesh/agent-kit/testing';
import { frameCount, probe } from '@reelmesh/media';
import { buildGraph, loadWorkflow } from '@reelmesh/workflow';
import { createApp } from './app';

// Everything but the step's name comes from the workflow: who runs it, what it gets, where it hands on.
const STEP = '${step}';
const workflow = loadWorkflow();
const graph = buildGraph(workflow);
const agent = graph.agentOf(STEP)!;
const [input] = graph.inputsOf(STEP);
const next = graph.outputsOf(STEP).find((edge) => edge.artifact === input.artifact)!;
const dir = mkdtempSync(join(tmpdir(), '${app}-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('${app} app', () => {
  it(\`runs step \${STEP} on the \${input.artifact} chunk it gets from \${input.from} and hands the same kind of media on to \${next.to}, every frame kept\`, async () => {
    const chunk = await upstreamChunk(workflow, STEP, input.artifact);
    const out = await runAppOnceFailFast({ workflow, agent, step: STEP, artifact: input.artifact, input: chunk, createApp });
    const handedOn = out[graph.agentOf(next.to)!];
    expect(handedOn, \`nothing handed on to \${graph.agentOf(next.to)}\`).toBeDefined();

    const [before, after] = await Promise.all([probe(() => Readable.from([chunk])), probe(() => Readable.from([handedOn]))]);
    const streams = (info: typeof before) => info.streams.map(({ type, codec, pixFmt, width, height, sampleRate, channels }) => ({ type, codec, pixFmt, width, height, sampleRate, channels }));
    expect(streams(after)).toEqual(streams(before));
    if (before.streams.some((stream) => stream.type === 'video')) {
      writeFileSync(join(dir, 'in.mkv'), chunk);
      writeFileSync(join(dir, 'out.mkv'), handedOn);
      expect(await frameCount(join(dir, 'out.mkv'))).toBe(await frameCount(join(dir, 'in.mkv')));
    } else {
      expect(after.durationSeconds).toBeCloseTo(before.durationSeconds, 1);
    }
  }, 120_000);
});
`;
}
