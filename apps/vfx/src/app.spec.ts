import { beforeAll, describe, expect, it } from 'vitest';
import { makeChunks, runAppOnce, type TestChunks } from '@reelmesh/agent-kit/testing';
import { probe } from '@reelmesh/media';
import { loadWorkflow } from '@reelmesh/workflow';
import { Readable } from 'node:stream';
import { createApp } from './app';

const workflow = loadWorkflow();
const probeBuffer = (b: Buffer) => probe(() => Readable.from([b]));

describe('vfx app: three agents by role', () => {
  let chunks: TestChunks;
  beforeAll(async () => {
    chunks = await makeChunks(workflow);
  }, 60_000);

  it('vfx-1 demuxes each chunk into picture (to vfx-2) and sound (to vfx-3)', async () => {
    const out = await runAppOnce({ workflow, agent: 'vfx-1', step: 'demux', artifact: 'av', input: chunks.av, createApp });
    expect(Object.keys(out).sort()).toEqual(['vfx-2', 'vfx-3']);
    expect((await probeBuffer(out['vfx-2'])).streams.map((s) => s.type)).toEqual(['video']);
    expect((await probeBuffer(out['vfx-3'])).streams.map((s) => s.type)).toEqual(['audio']);
  });

  it('vfx-2 applies the picture effects and hands H.264 to color', async () => {
    const out = await runAppOnce({ workflow, agent: 'vfx-2', step: 'picture-fx', artifact: 'picture', input: chunks.picture, createApp });
    const info = await probeBuffer(out.color);
    expect(info.streams[0]).toMatchObject({ type: 'video', codec: 'h264' });
    expect(out.color.equals(chunks.picture)).toBe(false);
    expect(Math.abs(info.durationSeconds - 2)).toBeLessThan(0.1);
  });

  it('vfx-3 applies the sound effects and hands PCM to sound', async () => {
    const out = await runAppOnce({ workflow, agent: 'vfx-3', step: 'sound-fx', artifact: 'sound', input: chunks.sound, createApp });
    const info = await probeBuffer(out.sound);
    expect(info.streams[0]).toMatchObject({ type: 'audio', codec: 'pcm_s24le', sampleRate: 48000, channels: 2 });
    expect(Math.abs(info.durationSeconds - 2)).toBeLessThan(0.05);
  });
});
