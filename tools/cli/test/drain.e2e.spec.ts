import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { makeChunks, manifestFor, startReceiver } from '@reelmesh/agent-kit/testing';
import { sendChunk } from '@reelmesh/handoff';
import { requestJson } from '@reelmesh/http-kit';
import { agentProgram, ProcessGroup } from '@reelmesh/runtime';
import { buildGraph, loadWorkflow } from '@reelmesh/workflow';

const workflow = loadWorkflow();
const graph = buildGraph(workflow);
// The vfx app's picture-fx step, its agent and the one agent it hands the picture to: read from the
// workflow, so a contractor placed after it changes nothing here.
const step = workflow.steps.find((s) => s.job === 'picture-fx' && workflow.agents.find((a) => a.name === s.agent)?.app === 'vfx');
if (!step) throw new Error('the workflow runs no picture-fx step on an agent of the vfx app');
const agent = step.agent;
const nextAgents = graph.outputsOf(step.name).map((e) => graph.agentOf(e.to)!);
if (nextAgents.length !== 1) throw new Error(`step ${step.name} must hand on to exactly one agent, not [${nextAgents.join(', ')}]`);
const [nextAgent] = nextAgents;

describe('graceful shutdown: SIGTERM finishes the chunks in flight before the agent exits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-drain-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every accepted chunk is processed and handed on; the process exits 0', async () => {
    const { picture } = await makeChunks(workflow);
    const next = await startReceiver(workflow, nextAgent);
    const group = new ProcessGroup();
    try {
      const { process: agentProcess, ready } = await group.spawn({
        name: agent,
        entry: agentProgram('vfx').main,
        env: {
          REELMESH_AGENT: agent,
          REELMESH_DATA_DIR: join(dir, agent),
          REELMESH_LISTEN: `unix:${join(dir, `${agent}.sock`)}`,
          REELMESH_PEERS: JSON.stringify({ [nextAgent]: next.url }),
          REELMESH_CONCURRENCY: '1',
        },
        logFile: join(dir, `${agent}.log`),
      });
      const base = ready.endpoints.api;
      const chunks = 4;
      for (let i = 0; i < chunks; i++) {
        await sendChunk({
          baseUrl: base,
          manifest: manifestFor(workflow, step.name, 'picture', picture, i, chunks),
          open: async () => Readable.from([picture]),
        });
      }
      // Jobs are running or queued: now ask it to stop.
      const status = await requestJson<{ steps: Record<string, { received: number; completed: number }> }>(base, '/v1/status');
      expect(status.steps[step.name].received).toBe(chunks);
      expect(status.steps[step.name].completed).toBeLessThan(chunks);
      agentProcess.child.kill('SIGTERM');
      expect(await agentProcess.exited).toBe(0);
      expect((await next.waitFor(chunks, 5_000)).map((c) => c.chunkIndex).sort()).toEqual([0, 1, 2, 3]);
    } finally {
      await group.stop(2_000);
      await next.close();
    }
  }, 120_000);
});
