import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeChunks, runAppOnce } from '@reelmesh/agent-kit/testing';
import { probe } from '@reelmesh/media';
import { loadWorkflow } from '@reelmesh/workflow';
import { createApp } from './app';

const workflow = loadWorkflow();

describe('color app', () => {
  it("grades with the colourist's LUT (imported into its asset store, fed through a FIFO) and hands to hdr", async () => {
    const { picture } = await makeChunks(workflow);
    const out = await runAppOnce({ workflow, agent: 'color', step: 'grade', artifact: 'picture', input: picture, createApp });
    const info = await probe(() => Readable.from([out.hdr]));
    expect(info.streams[0]).toMatchObject({ type: 'video', codec: 'h264' });
    expect(out.hdr.equals(picture)).toBe(false);
  }, 60_000);

  it('fails the job clearly when the LUT is missing, and keeps serving', async () => {
    const { picture } = await makeChunks(workflow);
    let seen: { failures: Array<{ step: string; message: string }>; health: number } | undefined;
    const out = await runAppOnce({
      workflow,
      agent: 'color',
      step: 'grade',
      artifact: 'picture',
      input: picture,
      createApp,
      configure: (c) => (c.lutPath = '/nonexistent/look.cube'),
      onFailure: (failures, health) => (seen = { failures, health }),
    });
    expect(out).toEqual({}); // nothing handed on
    expect(seen!.health).toBe(200);
    expect(seen!.failures[0].step).toBe('grade');
    expect(seen!.failures[0].message).toMatch(/nonexistent\/look\.cube/);
  }, 90_000);
});
