import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeChunks, runAppOnce } from '@reelmesh/agent-kit/testing';
import { measureLoudness } from '@reelmesh/media';
import { buildGraph, loadWorkflow } from '@reelmesh/workflow';
import { createApp } from './app';

const workflow = loadWorkflow();
const graph = buildGraph(workflow);

// Where the workflow runs this app's loudness job (its first such step) and the agent its sound goes
// to next: read from the workflow, so a contractor placed after sound changes nothing here.
const step = workflow.steps.find((s) => s.job === 'loudness' && workflow.agents.find((a) => a.name === s.agent)?.app === 'sound');
if (!step) throw new Error('the workflow runs no loudness step on an agent of the sound app');
const [next, ...more] = graph.outputsOf(step.name).filter((e) => e.artifact === 'sound').map((e) => graph.agentOf(e.to)!);
if (!next || more.length > 0) throw new Error(`step ${step.name} must hand its sound to exactly one next agent, not [${[next, ...more].join(', ')}]`);

const { integratedLufs, truePeakDbtp } = workflow.media.loudness;

describe('sound app', () => {
  it(`masters each chunk to the workflow's ${integratedLufs} LUFS with a ${truePeakDbtp} dBTP ceiling in step ${step.name} and hands it to the next agent (${next})`, async () => {
    const { sound } = await makeChunks(workflow);
    const before = await measureLoudness(() => Readable.from([sound]));
    const out = await runAppOnce({ workflow, agent: step.agent, step: step.name, artifact: 'sound', input: sound, createApp });
    expect(Object.keys(out), `what ${step.agent} handed on, by agent`).toEqual([next]);
    const after = await measureLoudness(() => Readable.from([out[next]]));
    expect(Math.abs(before.integratedLufs - integratedLufs)).toBeGreaterThan(2); // the sample is far from the target
    expect(after.integratedLufs).toBeGreaterThanOrEqual(integratedLufs - 1);
    expect(after.integratedLufs).toBeLessThanOrEqual(integratedLufs + 1);
    expect(after.truePeakDbtp).toBeLessThanOrEqual(truePeakDbtp + 0.1);
  }, 60_000);
});
