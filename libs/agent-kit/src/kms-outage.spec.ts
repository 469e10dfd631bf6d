import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
// The local KMS is the dev/test platform: a real KMS server the AWS SDK talks to, stopped and started.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { startLocalKms, type LocalKms } from '@reelmesh/kms-local';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { validateAgentConfig } from './config';
import { createAgentApp } from './create-agent-app';
import { createLogger } from './logger';
import { createStores } from './stores';
import { manifestFor, startReceiver, type Receiver } from './testing';

// A KMS outage in the middle of a run (issue #15): the agent's jobs wait it out with backoff and
// deliver once the KMS is back on its address; past the deadline they fail naming the outage. In
// both cases nothing is written in clear: a write that cannot get a data key does not start.
const workflow = parseWorkflow(MINI);
const principals = { AKIDFX1: { secretAccessKey: 'fx-1-secret', principal: 'agent/fx-1' } };
const ALIAS = 'alias/outage-test';

describe('a KMS outage is waited out, up to a deadline', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(outageDeadlineMs: number) {
    const kmsDir = mkdtempSync(join(tmpdir(), 'outage-kms-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'outage-fx-1-'));
    cleanups.push(() => rmSync(kmsDir, { recursive: true, force: true }), () => rmSync(dataDir, { recursive: true, force: true }));
    let kms: LocalKms = await startLocalKms({ dataDir: kmsDir, principals });
    const { arn } = await kms.admin.createKey({
      alias: ALIAS,
      description: 'outage test',
      policy: { version: 1, statements: [{ principals: ['agent/*'], actions: ['GenerateDataKey', 'Decrypt'], contextEquals: { agent: '${agent}' } }] },
    });
    const port = Number(new URL(kms.endpoint).port);
    const control = {
      stop: () => kms.stop(),
      // Back on the same address, over the same key store (as the runtime restarts it).
      start: async () => void (kms = await startLocalKms({ dataDir: kmsDir, principals, listen: `127.0.0.1:${port}` })),
    };
    cleanups.push(() => kms.stop().catch(() => undefined));
    const owner: Receiver = await startReceiver(workflow, 'owner');
    cleanups.push(() => owner.close());
    const config = validateAgentConfig({
      agent: 'fx-1', dataDir, listen: '127.0.0.1:0', peers: { owner: owner.url }, concurrency: 1, logLevel: 'silent', maxChunkBytes: 1 << 20, outageDeadlineMs,
      kms: { endpoint: kms.endpoint, region: kms.region, accessKeyId: 'AKIDFX1', secretAccessKey: 'fx-1-secret', keyId: ALIAS, allowedKeyIds: [arn] },
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { app, runtime } = createAgentApp({
      config,
      deps: { workflow, store: createStores(config).data, logger: createLogger('fx-1', 'silent') },
      // The first job holds the queue until the test has stopped the KMS.
      handlers: { demux: async ({ inputs, outputs }) => (await gate, pipeline(await inputs.av(), outputs.picture)) },
    });
    cleanups.push(() => runtime.drain());
    const send = (chunkIndex: number, body: Buffer) =>
      request(app)
        .post(`/v1/handoffs/${workflow.metadata.id}/demux/av/${chunkIndex}`)
        .field('manifest', JSON.stringify(manifestFor(workflow, 'demux', 'av', body, chunkIndex, 2)))
        .attach('chunk', body, { filename: 'c.mkv', contentType: 'video/x-matroska' });
    return { control, owner, runtime, send, release, dataDir };
  }

  const chunks = [Buffer.from('chunk zero '.repeat(4000)), Buffer.from('chunk one '.repeat(4000))];

  /** No file of the volume holds either chunk's bytes in clear. */
  function expectNoPlaintext(dataDir: string): void {
    const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = readFileSync(join(file.parentPath, file.name));
      for (const chunk of chunks) expect(bytes.includes(chunk.subarray(0, 64)), `${file.name} holds plaintext`).toBe(false);
    }
  }

  it('jobs wait while the KMS is down and deliver once it is back', async () => {
    const { control, owner, runtime, send, release, dataDir } = await setUp(120_000);
    expect((await send(0, chunks[0])).status).toBe(201);
    expect((await send(1, chunks[1])).status).toBe(201);
    await control.stop();
    release();
    // Both jobs now need data keys the KMS cannot give: they wait (no failure recorded)...
    await new Promise((r) => setTimeout(r, 1500));
    expect(runtime.status().failures).toEqual([]);
    expect(owner.received).toHaveLength(0);
    // ...and go on once it is back.
    await control.start();
    const received = await owner.waitFor(2, 60_000);
    expect(runtime.status().failures).toEqual([]);
    const bodies = await Promise.all(received.sort((a, b) => a.chunkIndex - b.chunkIndex).map((c) => owner.read(c)));
    expect(bodies).toEqual(chunks);
    expectNoPlaintext(dataDir);
  });

  it('past the deadline the job fails naming the outage and the deadline; nothing left in clear, nothing sent', async () => {
    const { control, owner, runtime, send, release, dataDir } = await setUp(1_000);
    expect((await send(0, chunks[0])).status).toBe(201);
    await control.stop();
    release();
    const bounded = Date.now() + 60_000;
    while (runtime.status().failures.length === 0 && Date.now() < bounded) await new Promise((r) => setTimeout(r, 50));
    const [failure] = runtime.status().failures;
    expect(failure).toMatchObject({ step: 'demux', chunkIndex: 0 });
    expect(failure.message).toMatch(/^demux chunk 0: still failing after \d+ s of retries \(deadline 1 s, REELMESH_OUTAGE_DEADLINE_MS\): KMS/);
    expect(owner.received).toHaveLength(0);
    expectNoPlaintext(dataDir);
  });
});
