import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendChunk, SlotIndex } from '@reelmesh/handoff';
import { AuditLedger, createDevCa, createSigner, verifyDeliverable, type DevCa } from '@reelmesh/provenance';
import { FsObjectStore } from '@reelmesh/storage';
import { parseWorkflow, spiffeId } from '@reelmesh/workflow';
import { MINI as MINI_WORKFLOW_YAML } from '@reelmesh/workflow/testing';
import type { AgentRuntime } from './agent-runtime';
import { AuditTrail } from './audit-trail';
import { validateAgentConfig } from './config';
import { createAgentApp } from './create-agent-app';

// What an agent keeps in memory per chunk must not grow with the run: once a chunk's outputs are
// handed on and acknowledged (the sink: once the deliverable is made) the runtime lets it go, and
// what must outlive that (is it acknowledged? its provenance chain) is a bit, or in the volume.
// Two real agents on loopback (owner: split + assemble, fx-1: demux), signed provenance, audit.
const MINI = parseWorkflow(MINI_WORKFLOW_YAML);
const CHUNKS = 24;
const WAVE = 8;

let dir: string;
let ca: DevCa;
let ledgerServer: Server;
let runtimes: Record<string, AgentRuntime>;
let servers: Server[];
let urls: Record<string, string>;
let stores: Record<string, FsObjectStore>;
let assembled: boolean;
let demuxRuns: number;
/** Set by a test: demux waits for it before making its output. */
let demuxGate: Promise<void> | undefined;

async function start(name: string, handlers: Parameters<typeof createAgentApp>[0]['handlers'], ledgerUrl: string, peers: Record<string, string>): Promise<void> {
  const store = new FsObjectStore(join(dir, name));
  const config = validateAgentConfig({
    agent: name, dataDir: join(dir, name), listen: '127.0.0.1:0', peers, concurrency: 2, logLevel: 'silent', maxChunkBytes: 1 << 20,
    ...(name === 'owner' ? { exportDir: join(dir, 'out') } : {}),
  });
  const provenance = { signer: createSigner(await ca.issue(spiffeId(MINI, name))), caBundlePem: ca.bundlePem };
  const audit = new AuditTrail({ url: ledgerUrl, token: name, flushIntervalMs: 5 });
  const { app, runtime, started } = createAgentApp({ config, deps: { workflow: MINI, store, logger: pino({ level: 'silent' }), provenance, audit }, handlers });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  await started;
  peers[name] = urls[name] = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  runtimes[name] = runtime;
  servers.push(server);
  stores[name] = store;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelmesh-bookkeeping-'));
  ca = await createDevCa();
  const ledger = await AuditLedger.open({ store: new FsObjectStore(join(dir, 'ledger')), workflowId: 'mini', signer: createSigner(await ca.issue('spiffe://test.local/ns/owner/sa/audit-ledger')) });
  ledgerServer = createServer((req, res) => {
    const agent = (req.headers.authorization ?? '').replace('Bearer ', '');
    void ledger.ingestRequest({ spiffeId: spiffeId(MINI, agent), agent, component: 'app' }, req).then(
      (r) => res.end(JSON.stringify(r)),
      (e: Error) => res.writeHead(503).end(JSON.stringify({ error: { code: 'AUDIT_UNAVAILABLE', message: e.message } })),
    );
  });
  await new Promise<void>((r) => ledgerServer.listen(0, '127.0.0.1', r));
  const ledgerUrl = `http://127.0.0.1:${(ledgerServer.address() as { port: number }).port}/v1/audit/events`;
  runtimes = {};
  servers = [];
  urls = {};
  stores = {};
  assembled = false;
  demuxRuns = 0;
  demuxGate = undefined;
  const peers: Record<string, string> = {};
  await start('owner', {
    split: async ({ chunkIndex, outputs }) => {
      outputs.av.end(Buffer.from(`original chunk ${chunkIndex}`));
    },
    assemble: {
      gather: async ({ inputs, attest }) => {
        const parts: string[] = [];
        for (const open of inputs.picture) for await (const part of await open()) parts.push(String(part));
        await writeFile(join(dir, 'out', 'deliverable.txt'), parts.join('\n'));
        await attest(join(dir, 'out', 'deliverable.txt'));
        assembled = true;
      },
    },
  }, ledgerUrl, peers);
  await start('fx-1', {
    demux: async ({ inputs, outputs }) => {
      demuxRuns++;
      await demuxGate;
      await pipeline(await inputs.av(), outputs.picture);
    },
  }, ledgerUrl, peers);
});

afterEach(async () => {
  await Promise.all(Object.values(runtimes).map((r) => r.drain()));
  for (const s of servers) s.close();
  await new Promise((r) => ledgerServer.close(r));
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});

async function until(check: () => boolean): Promise<void> {
  while (!check()) {
    const failures = Object.values(runtimes).flatMap((r) => r.status().failures);
    if (failures.length > 0) throw new Error(`a job failed: ${JSON.stringify(failures)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('per-chunk bookkeeping is bounded by the work in progress, not the run', () => {
  it('drops every chunk once it is handed on and acknowledged, and still recognises a re-sent chunk as a duplicate', async () => {
    const fx = runtimes['fx-1'];
    const owner = runtimes.owner;
    const afterWave: Array<ReturnType<AgentRuntime['bookkeeping']>> = [];
    for (let from = 0; from < CHUNKS; from += WAVE) {
      await Promise.all(Array.from({ length: WAVE }, (_, i) => owner.produce('split', from + i, CHUNKS)));
      await until(() => fx.status().progress.demux === from + WAVE);
      afterWave.push(fx.bookkeeping());
      // The sink holds the chunks' whereabouts until it assembles (just the keys, no chains).
      if (from + WAVE < CHUNKS) expect(owner.bookkeeping()).toMatchObject({ held: from + WAVE, scheduled: 0, unsent: 0 });
    }
    // fx-1 holds nothing per chunk after 8 chunks, nor after 24: only the acknowledged bits (16 bytes here).
    for (const held of afterWave) expect(held).toEqual({ held: 0, scheduled: 0, unsent: 0, provenanceHeld: 0, acknowledgedBytes: 16 });
    // Gathered: the deliverable is made, attested and recorded in the volume.
    await until(() => assembled && owner.hasGathered('assemble'));
    expect(owner.bookkeeping()).toEqual({ held: 0, scheduled: 0, unsent: 0, provenanceHeld: 0, acknowledgedBytes: 16 });
    // The chains were read back from the volume to sign on and to verify at the sink: the
    // deliverable's provenance is whole.
    expect(await verifyDeliverable(join(dir, 'out'), MINI, ca.bundlePem)).toMatchObject({ ok: true, chunkCount: CHUNKS });

    // A chunk re-sent (a restarted sender) is still a duplicate: recognised by its slot record in
    // the volume, not by anything kept in memory; the nudge re-sends fx-1's stored output, never re-makes it.
    const record = await new SlotIndex(stores['fx-1']).read({ workflowId: 'mini', step: 'demux', artifact: 'av', chunkIndex: 3 }, { workflowId: 'mini', step: 'demux', agent: 'fx-1' });
    const bytes = Buffer.from('original chunk 3');
    const resent = await sendChunk({ baseUrl: urls['fx-1'], manifest: record!.manifest!, open: async () => Readable.from([bytes]), retry: { attempts: 1 } });
    expect(resent.status).toBe('duplicate');
    // Let the nudge's re-send (off the job queue) settle before looking.
    await new Promise((r) => setTimeout(r, 200));
    expect(demuxRuns).toBe(CHUNKS);
    expect(fx.bookkeeping()).toEqual({ held: 0, scheduled: 0, unsent: 0, provenanceHeld: 0, acknowledgedBytes: 16 });
  });

  it('signs on only with the chain verified at receipt: a chain changed in the volume meanwhile is refused', async () => {
    let open!: () => void;
    demuxGate = new Promise((resolve) => (open = resolve));
    await Promise.all([0, 1].map((i) => runtimes.owner.produce('split', i, 2)));
    await until(() => demuxRuns === 2);
    // While the jobs run, chunk 0's slot record is given chunk 1's (validly signed) chain.
    const slots = new SlotIndex(stores['fx-1']);
    const context = { workflowId: 'mini', step: 'demux', agent: 'fx-1' };
    const slot = (chunkIndex: number) => ({ workflowId: 'mini', step: 'demux', artifact: 'av', chunkIndex });
    const [zero, one] = await Promise.all([slots.read(slot(0), context), slots.read(slot(1), context)]);
    await slots.write(slot(0), context, { ...zero!, manifest: { ...zero!.manifest!, provenance: one!.manifest!.provenance } });
    open();
    const fx = runtimes['fx-1'];
    while (fx.status().failures.length === 0 || fx.status().progress.demux < 1) await new Promise((r) => setTimeout(r, 20));
    expect(fx.status().failures).toEqual([expect.objectContaining({ step: 'demux', chunkIndex: 0, message: expect.stringMatching(/chain of demux\/av chunk 0 in the volume is not the one verified at receipt/) })]);
    expect(fx.status().progress.demux).toBe(1);
  });
});
