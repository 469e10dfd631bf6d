import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { makeChunks, manifestFor, startReceiver } from '@reelmesh/agent-kit/testing';
import { sendChunk } from '@reelmesh/handoff';
import { requestJson } from '@reelmesh/http-kit';
import { agentProgram, ProcessGroup } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';

const workflow = loadWorkflow();

describe('graceful shutdown: SIGTERM finishes the chunks in flight before the agent exits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-drain-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every accepted chunk is processed and handed on; the process exits 0', async () => {
    const { picture } = await makeChunks(workflow);
    const color = await startReceiver(workflow, 'color');
    const group = new ProcessGroup();
    try {
      const { process: vfx2, ready } = await group.spawn({
        name: 'vfx-2',
        entry: agentProgram('vfx').main,
        env: {
          REELMESH_AGENT: 'vfx-2',
          REELMESH_DATA_DIR: join(dir, 'vfx-2'),
          REELMESH_LISTEN: `unix:${join(dir, 'vfx-2.sock')}`,
          REELMESH_PEERS: JSON.stringify({ color: color.url }),
          REELMESH_CONCURRENCY: '1',
        },
        logFile: join(dir, 'vfx-2.log'),
      });
      const base = ready.endpoints.api;
      const chunks = 4;
      for (let i = 0; i < chunks; i++) {
        await sendChunk({
          baseUrl: base,
          manifest: manifestFor(workflow, 'picture-fx', 'picture', picture, i, chunks),
          open: async () => Readable.from([picture]),
        });
      }
      // Jobs are running or queued: now ask it to stop.
      const status = await requestJson<{ steps: Record<string, { received: number; completed: number }> }>(base, '/v1/status');
      expect(status.steps['picture-fx'].received).toBe(chunks);
      expect(status.steps['picture-fx'].completed).toBeLessThan(chunks);
      vfx2.child.kill('SIGTERM');
      expect(await vfx2.exited).toBe(0);
      expect((await color.waitFor(chunks, 5_000)).map((c) => c.chunkIndex).sort()).toEqual([0, 1, 2, 3]);
    } finally {
      await group.stop(2_000);
      await color.close();
    }
  }, 120_000);
});
