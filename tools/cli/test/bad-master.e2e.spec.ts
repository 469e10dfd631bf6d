import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestJson, ResponseError } from '@reelmesh/http-kit';
import { ffmpegPath, ffprobePath, generateSample } from '@reelmesh/media';
import { startLocalRuntime, type LocalRuntime, type RunningAgent } from '@reelmesh/runtime';
import { loadWorkflow, ownerOf } from '@reelmesh/workflow';
import { listFiles } from './scan';

const run = promisify(execFile);

// A refused master costs nothing: one line naming the stream and the reason, nothing on any volume,
// and the mesh takes the next master as if nothing happened.
describe('a damaged master is refused before any work, and the mesh stays up for the next one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-bad-master-'));
  const ingest = join(dir, 'ingest');
  let runtime: LocalRuntime;
  let owner: RunningAgent;

  beforeAll(async () => {
    mkdirSync(ingest, { recursive: true });
    await generateSample({ durationSeconds: 6, outPath: join(ingest, 'good.mkv'), width: 320, height: 180 });
    await damage(join(ingest, 'good.mkv'), join(ingest, 'damaged.mkv'), 3);
    runtime = await startLocalRuntime({ dataRoot: join(dir, 'run', 'data'), stateDir: join(dir, 'run', 'state'), exportDir: join(dir, 'out'), ingestDir: ingest });
    owner = runtime.agents[ownerOf(loadWorkflow()).agent];
  }, 180_000);
  afterAll(async () => {
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 422 with one line naming the stream, the reason and the time', async () => {
    const refused = await requestJson(owner.url, '/v1/runs', { method: 'POST', headers: owner.headers, json: { input: 'damaged.mkv' } }).then(
      () => expect.fail('the damaged master was taken'),
      (err: ResponseError) => err,
    );
    expect(refused.status).toBe(422);
    expect(refused.code).toBe('MEDIA_DAMAGED');
    expect(refused.message).toMatch(/^damaged\.mkv: video stream #0: damaged at 00:00:0[2-4]\.\d{3}: /);
    expect(refused.message).not.toContain('\n');
  });

  it('left nothing on any volume', async () => {
    for (const agent of Object.values(runtime.agents)) expect(await listFiles(agent.dataDir), agent.agent).toEqual([]);
  });

  it('takes the next master and delivers it', async () => {
    await requestJson(owner.url, '/v1/runs', { method: 'POST', headers: owner.headers, json: { input: 'good.mkv' } });
    const deadline = Date.now() + 240_000;
    let state = '';
    while (Date.now() < deadline && state !== 'done' && state !== 'failed') {
      await new Promise((r) => setTimeout(r, 500));
      state = (await requestJson<{ state: string }>(owner.url, '/v1/runs/current', { headers: owner.headers })).state;
    }
    expect(state).toBe('done');
  }, 300_000);
});

/** A copy of `from` with 20 kB of noise over the video packets at about `seconds`. */
async function damage(from: string, to: string, seconds: number): Promise<void> {
  await run(ffmpegPath(), ['-v', 'error', '-y', '-i', from, '-map', '0', '-c', 'copy', to]);
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,pos', '-of', 'csv=p=0', to]);
  const [, pos] = stdout.trim().split('\n').map((line) => line.split(',').map(Number)).find(([pts]) => pts >= seconds)!;
  const file = await open(to, 'r+');
  try {
    await file.write(Buffer.alloc(20_000, 0x47), 0, 20_000, pos + 64);
  } finally {
    await file.close();
  }
}
