import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeChunks, runAppOnce } from '@reelmesh/agent-kit/testing';
import { probe, probeFrameSideData } from '@reelmesh/media';
import { loadWorkflow } from '@reelmesh/workflow';
import { createApp } from './app';

const workflow = loadWorkflow();

describe('hdr app', () => {
  it('converts SDR to HDR10 (HEVC Main 10, BT.2020, PQ, mastering metadata) and hands it to the owner', async () => {
    const { picture } = await makeChunks(workflow);
    const out = await runAppOnce({ workflow, agent: 'hdr', step: 'hdr-master', artifact: 'picture', input: picture, createApp });
    const info = await probe(() => Readable.from([out.owner]));
    expect(info.streams[0]).toMatchObject({ codec: 'hevc', profile: 'Main 10', pixFmt: 'yuv420p10le', colorPrimaries: 'bt2020', colorTransfer: 'smpte2084' });
    const sideData = await probeFrameSideData(() => Readable.from([out.owner]));
    expect(sideData).toContain('Mastering display metadata');
  }, 90_000);
});
