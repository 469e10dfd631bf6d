import { beforeAll, describe, expect, it } from 'vitest';
import { makeChunks, runAppOnce, type TestChunks } from '@reelmesh/agent-kit/testing';
import { probe } from '@reelmesh/media';
import { buildGraph, loadWorkflow, type Step } from '@reelmesh/workflow';
import { Readable } from 'node:stream';
import { createApp } from './app';

const workflow = loadWorkflow();
const graph = buildGraph(workflow);
const probeBuffer = (b: Buffer) => probe(() => Readable.from([b]));

// Where the workflow runs each of this app's jobs (the first such step) and the agent each artifact
// goes to next: read from the workflow, so contractors placed around vfx change nothing here.
function stepOf(job: string): Step {
  const step = workflow.steps.find((s) => s.job === job && workflow.agents.find((a) => a.name === s.agent)?.app === 'vfx');
  if (!step) throw new Error(`the workflow runs no ${job} step on an agent of the vfx app`);
  return step;
}
function nextAgent(step: Step, artifact: string): string {
  const [next, ...more] = graph.outputsOf(step.name).filter((e) => e.artifact === artifact).map((e) => graph.agentOf(e.to)!);
  if (!next || more.length > 0) throw new Error(`step ${step.name} must hand its ${artifact} to exactly one next agent, not [${[next, ...more].join(', ')}]`);
  return next;
}
const demux = stepOf('demux');
const [demuxPicture, demuxSound] = [nextAgent(demux, 'picture'), nextAgent(demux, 'sound')];
if (demuxPicture === demuxSound) throw new Error(`this spec tells picture from sound by the agent they go to, but ${demux.name} sends both to ${demuxPicture}`);
const pictureFx = stepOf('picture-fx');
const pictureFxNext = nextAgent(pictureFx, 'picture');
const soundFx = stepOf('sound-fx');
const soundFxNext = nextAgent(soundFx, 'sound');

describe('vfx app: three agents by role', () => {
  let chunks: TestChunks;
  beforeAll(async () => {
    chunks = await makeChunks(workflow);
  }, 60_000);

  it(`${demux.agent} demuxes each chunk into picture (to ${demuxPicture}) and sound (to ${demuxSound})`, async () => {
    const out = await runAppOnce({ workflow, agent: demux.agent, step: demux.name, artifact: 'av', input: chunks.av, createApp });
    expect(Object.keys(out).sort()).toEqual([demuxPicture, demuxSound].sort());
    expect((await probeBuffer(out[demuxPicture])).streams.map((s) => s.type)).toEqual(['video']);
    expect((await probeBuffer(out[demuxSound])).streams.map((s) => s.type)).toEqual(['audio']);
  });

  it(`${pictureFx.agent} applies the picture effects and hands H.264 to ${pictureFxNext}`, async () => {
    const out = await runAppOnce({ workflow, agent: pictureFx.agent, step: pictureFx.name, artifact: 'picture', input: chunks.picture, createApp });
    expect(Object.keys(out), `what ${pictureFx.agent} handed on, by agent`).toEqual([pictureFxNext]);
    const info = await probeBuffer(out[pictureFxNext]);
    expect(info.streams[0]).toMatchObject({ type: 'video', codec: 'h264' });
    expect(out[pictureFxNext].equals(chunks.picture)).toBe(false);
    expect(Math.abs(info.durationSeconds - 2)).toBeLessThan(0.1);
  });

  it(`${soundFx.agent} applies the sound effects and hands PCM to ${soundFxNext}`, async () => {
    const out = await runAppOnce({ workflow, agent: soundFx.agent, step: soundFx.name, artifact: 'sound', input: chunks.sound, createApp });
    expect(Object.keys(out), `what ${soundFx.agent} handed on, by agent`).toEqual([soundFxNext]);
    const info = await probeBuffer(out[soundFxNext]);
    expect(info.streams[0]).toMatchObject({ type: 'audio', codec: 'pcm_s24le', sampleRate: 48000, channels: 2 });
    expect(Math.abs(info.durationSeconds - 2)).toBeLessThan(0.05);
  });
});
