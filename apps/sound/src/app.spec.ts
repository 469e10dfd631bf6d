import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeChunks, runAppOnce } from '@reelmesh/agent-kit/testing';
import { measureLoudness } from '@reelmesh/media';
import { loadWorkflow } from '@reelmesh/workflow';
import { createApp } from './app';

const workflow = loadWorkflow();

describe('sound app', () => {
  it('masters each chunk to -23 LUFS with a -1 dBTP ceiling and hands it to the owner', async () => {
    const { sound } = await makeChunks(workflow);
    const before = await measureLoudness(() => Readable.from([sound]));
    const out = await runAppOnce({ workflow, agent: 'sound', step: 'sound-master', artifact: 'sound', input: sound, createApp });
    const after = await measureLoudness(() => Readable.from([out.owner]));
    expect(Math.abs(before.integratedLufs - -23)).toBeGreaterThan(2); // the sample is far from the target
    expect(after.integratedLufs).toBeGreaterThanOrEqual(-24);
    expect(after.integratedLufs).toBeLessThanOrEqual(-22);
    expect(after.truePeakDbtp).toBeLessThanOrEqual(-0.9);
  }, 60_000);
});
