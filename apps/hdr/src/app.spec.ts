import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeChunks, runAppOnce } from '@reelmesh/agent-kit/testing';
import { probe, probeFrameSideData } from '@reelmesh/media';
import { buildGraph, loadWorkflow } from '@reelmesh/workflow';
import { createApp } from './app';

const workflow = loadWorkflow();
const graph = buildGraph(workflow);

// Where the workflow runs this app's hdr10 job (its first such step) and the agent its picture goes
// to next: read from the workflow, so a contractor placed after hdr changes nothing here.
const step = workflow.steps.find((s) => s.job === 'hdr10' && workflow.agents.find((a) => a.name === s.agent)?.app === 'hdr');
if (!step) throw new Error('the workflow runs no hdr10 step on an agent of the hdr app');
const [next, ...more] = graph.outputsOf(step.name).filter((e) => e.artifact === 'picture').map((e) => graph.agentOf(e.to)!);
if (!next || more.length > 0) throw new Error(`step ${step.name} must hand its picture to exactly one next agent, not [${[next, ...more].join(', ')}]`);

describe('hdr app', () => {
  it(`converts SDR to HDR10 (HEVC Main 10, BT.2020, PQ, mastering metadata) in step ${step.name} and hands it to the next agent (${next})`, async () => {
    const { picture } = await makeChunks(workflow);
    const out = await runAppOnce({ workflow, agent: step.agent, step: step.name, artifact: 'picture', input: picture, createApp });
    expect(Object.keys(out), `what ${step.agent} handed on, by agent`).toEqual([next]);
    const info = await probe(() => Readable.from([out[next]]));
    expect(info.streams[0]).toMatchObject({ codec: 'hevc', profile: 'Main 10', pixFmt: 'yuv420p10le', colorPrimaries: 'bt2020', colorTransfer: 'smpte2084' });
    const sideData = await probeFrameSideData(() => Readable.from([out[next]]));
    expect(sideData).toContain('Mastering display metadata');
  }, 90_000);
});
