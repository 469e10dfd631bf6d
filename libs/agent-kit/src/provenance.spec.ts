import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HandoffError, sendChunk } from '@reelmesh/handoff';
import {
  createDevCa,
  createSigner,
  AuditLedger,
  LEDGER_AGENT,
  LEDGER_LOG,
  parametersDigest,
  peekStatement,
  sha256Hex,
  signRecord,
  verifyAuditLog,
  verifyDeliverable,
  type AuditEntry,
  type DevCa,
  type ProvenanceRecord,
} from '@reelmesh/provenance';
import { FsObjectStore } from '@reelmesh/storage';
import { parseWorkflow, spiffeId, type Workflow } from '@reelmesh/workflow';
import type { AgentRuntime } from './agent-runtime';
import type { ProvenanceIdentity } from './chunk-provenance';
import { validateAgentConfig, type AgentConfig } from './config';
import { createAgentApp } from './create-agent-app';
import { AuditTrail } from './audit-trail';
import { MINI as MINI_WORKFLOW_YAML } from '@reelmesh/workflow/testing';
import { noteAsset } from '@reelmesh/media';

// Two real agents on loopback (owner: split + assemble, fx-1: demux) with pass-through jobs:
// provenance is signed, carried in manifests, verified on receipt and at the sink.
const MINI = parseWorkflow(MINI_WORKFLOW_YAML);

interface Agent {
  runtime: AgentRuntime;
  server: Server;
  store: FsObjectStore;
  url: string;
}

let dir: string;
let ca: DevCa;
let identities: Record<string, ProvenanceIdentity>;
let peers: Record<string, string>;
let agents: Record<string, Agent>;
let assembled: string[] | undefined;
let demuxRuns: number;
let ledger: AuditLedger;
let ledgerStore: FsObjectStore;
let ledgerServer: Server;
let ledgerUrl: string;
const LEDGER_ID = 'spiffe://test.local/ns/owner/sa/audit-ledger';

async function start(
  workflow: Workflow,
  name: string,
  handlers: Parameters<typeof createAgentApp>[0]['handlers'],
  audit = new AuditTrail({ url: ledgerUrl, token: name, flushIntervalMs: 5 }),
  extra: Partial<AgentConfig> = {},
): Promise<Agent> {
  const store = new FsObjectStore(join(dir, name));
  const config: AgentConfig = validateAgentConfig({
    agent: name, dataDir: join(dir, name), listen: '127.0.0.1:0', peers, concurrency: 2, logLevel: 'silent', maxChunkBytes: 1 << 20,
    ...(name === 'owner' ? { exportDir: join(dir, 'out') } : {}),
    ...extra,
  });
  const { app, runtime } = createAgentApp({ config, deps: { workflow, store, logger: pino({ level: 'silent' }), provenance: identities[name], audit }, handlers });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  peers[name] = url;
  return { runtime, server, store, url };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelmesh-agent-prov-'));
  ca = await createDevCa();
  // The owner's audit ledger (the control plane hosts it in the mesh); the token names the pod.
  ledgerStore = new FsObjectStore(join(dir, 'ledger'));
  ledger = await AuditLedger.open({ store: ledgerStore, workflowId: 'mini', signer: createSigner(await ca.issue(LEDGER_ID)) });
  ledgerServer = createServer((req, res) => {
    const agent = (req.headers.authorization ?? '').replace('Bearer ', '');
    void ledger.ingestRequest({ spiffeId: spiffeId(MINI, agent), agent, component: 'app' }, req).then(
      (r) => res.end(JSON.stringify(r)),
      (e: Error) => res.writeHead(503).end(JSON.stringify({ error: { code: 'AUDIT_UNAVAILABLE', message: e.message } })),
    );
  });
  await new Promise<void>((r) => ledgerServer.listen(0, '127.0.0.1', r));
  ledgerUrl = `http://127.0.0.1:${(ledgerServer.address() as { port: number }).port}/v1/audit/events`;
  identities = {};
  for (const agent of ['owner', 'fx-1']) identities[agent] = { signer: createSigner(await ca.issue(spiffeId(MINI, agent))), caBundlePem: ca.bundlePem };
  peers = {};
  assembled = undefined;
  demuxRuns = 0;
  agents = {
    owner: await start(MINI, 'owner', {
      split: async ({ chunkIndex, outputs }) => {
        outputs.av.end(Buffer.from(`original chunk ${chunkIndex}`));
      },
      assemble: {
        gather: async ({ inputs, attest }) => {
          const parts: string[] = [];
          for (const open of inputs.picture) for await (const part of await open()) parts.push(String(part));
          await writeFile(join(dir, 'out', 'deliverable.txt'), parts.join('\n'));
          await attest(join(dir, 'out', 'deliverable.txt'));
          assembled = parts;
        },
      },
    }),
    'fx-1': await start(MINI, 'fx-1', {
      demux: async ({ inputs, outputs }) => {
        demuxRuns++;
        noteAsset('preset', 'ab'.repeat(32)); // what a real job's trace holds besides its tool runs
        await pipeline(await inputs.av(), outputs.picture);
      },
    }),
  };
});
afterEach(async () => {
  // Drain first: each agent flushes its audit events into the ledger before the folder goes.
  await Promise.all(Object.values(agents).map((a) => a.runtime.drain()));
  for (const a of Object.values(agents)) a.server.close();
  await new Promise((r) => ledgerServer.close(r));
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});

/** Every entry of the owner's ledger, after checking its chain and checkpoints. */
async function ledgerEvents(): Promise<Array<Record<string, unknown>>> {
  await ledger.checkpoint();
  const events: Array<Record<string, unknown>> = [];
  const report = await verifyAuditLog({
    store: ledgerStore, name: LEDGER_LOG, workflowId: 'mini', agent: LEDGER_AGENT, caBundle: ca.bundlePem,
    checkpointSigner: LEDGER_ID, onEntry: (e: AuditEntry) => events.push(e.event),
  });
  expect(report.ok).toBe(true);
  return events;
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

/** What a malicious insider would send straight to fx-1: chosen bytes with a chosen record chain. */
function attack(bytes: Buffer, records: ProvenanceRecord[] | undefined, chunkIndex = 0) {
  return sendChunk({
    baseUrl: agents['fx-1'].url,
    manifest: {
      version: 1, workflowId: 'mini', step: 'demux', artifact: 'av', chunkIndex, chunkCount: 2,
      sha256: sha256Hex(bytes), byteLength: bytes.length, media: { container: 'matroska' }, producer: { agent: 'owner', step: 'split' },
      ...(records ? { provenance: { records } } : {}),
    },
    open: async () => Readable.from([bytes]),
    retry: { attempts: 1 },
  }).then(
    () => undefined,
    (error: unknown) => error as HandoffError,
  );
}

const forgedSplit = (signerAgent: string, bytes: Buffer, chunkIndex = 0) =>
  signRecord(identities[signerAgent].signer(), { workflowId: 'mini', step: 'split', artifact: 'av', chunkIndex, chunkCount: 2, sha256: sha256Hex(bytes), inputs: [], parameters: {} });

describe('signed provenance through real agents', () => {
  it('an honest run is signed at every step, verified at every hop, and written beside the deliverable', async () => {
    await Promise.all([0, 1].map((i) => agents.owner.runtime.produce('split', i, 2)));
    await until(() => assembled !== undefined || agents.owner.runtime.status().failures.length > 0);
    expect(agents.owner.runtime.status().failures).toEqual([]);
    expect(assembled).toEqual(['original chunk 0', 'original chunk 1']);
    const report = await verifyDeliverable(join(dir, 'out'), MINI, ca.bundlePem);
    expect(report).toMatchObject({ ok: true, chunkCount: 2, signer: spiffeId(MINI, 'owner'), deliverable: join(dir, 'out', 'deliverable.txt') });
    expect(report.chunks.map((c) => c.records)).toEqual([2, 2]);
    // The owner's attestation binds the file itself: one byte more and it is refused.
    await appendFile(join(dir, 'out', 'deliverable.txt'), 'x');
    expect(await verifyDeliverable(join(dir, 'out', 'deliverable.txt'), MINI, ca.bundlePem)).toMatchObject({ ok: false, failure: 'size' });
    // Each record commits to its job's traced parameters (job name, tool runs, asset digests).
    const file = JSON.parse(await readFile(join(dir, 'out', 'provenance', 'chunk-00000.json'), 'utf8')) as { records: ProvenanceRecord[] };
    const digests = Object.fromEntries(
      file.records.map((r) => [peekStatement(r)!.predicate.step, peekStatement(r)!.predicate.parameters.digest.sha256]),
    );
    expect(digests).toEqual({
      split: parametersDigest({ job: 'split', invocations: [], assets: {} }),
      demux: parametersDigest({ job: 'demux', invocations: [], assets: { preset: { sha256: 'ab'.repeat(32) } } }),
    });

    // The owner's ledger has every handoff from both sides, each stamped with who reported it.
    await Promise.all(Object.values(agents).map((a) => a.runtime.drain()));
    const events = await ledgerEvents();
    const handoffs = events.filter((e) => e.type !== 'deliverable-attested');
    const seen = handoffs.map((e) => `${(e.by as { agent: string }).agent} ${e.type} ${e.step}#${e.chunk}`).sort();
    expect(seen).toEqual([
      'fx-1 handoff-received demux#0', 'fx-1 handoff-received demux#1', 'fx-1 handoff-sent assemble#0', 'fx-1 handoff-sent assemble#1',
      'owner handoff-received assemble#0', 'owner handoff-received assemble#1', 'owner handoff-sent demux#0', 'owner handoff-sent demux#1',
    ]);
    // ...and the deliverable the owner attested, by its digest.
    expect(events.filter((e) => e.type === 'deliverable-attested')).toEqual([
      expect.objectContaining({ step: 'assemble', file: 'deliverable.txt', sha256: report.sha256, bytes: report.bytes, chunks: 2, attestation: 'deliverable.txt.intoto.jsonl' }),
    ]);
  });

  it('the owner refuses a chunk whose chain skips a step, and the refusal is in the audit ledger', async () => {
    const bytes = Buffer.from('ungraded');
    const split = forgedSplit('owner', bytes);
    const error = await sendChunk({
      baseUrl: agents.owner.url,
      manifest: {
        version: 1, workflowId: 'mini', step: 'assemble', artifact: 'picture', chunkIndex: 0, chunkCount: 2,
        sha256: sha256Hex(bytes), byteLength: bytes.length, media: { container: 'matroska' }, producer: { agent: 'owner', step: 'split' },
        provenance: { records: [split] },
      },
      open: async () => Readable.from([bytes]),
      retry: { attempts: 1 },
    }).catch((e: unknown) => e as HandoffError);
    expect(error).toMatchObject({ status: 422, code: 'PROVENANCE_INVALID' });
    expect((error as HandoffError).message).toContain('missing record demux/picture of chunk 0');
    await agents.owner.runtime.drain();
    const [entry] = await ledgerEvents();
    expect(entry).toMatchObject({ type: 'handoff-refused', by: { agent: 'owner' }, step: 'assemble', artifact: 'picture', chunk: 0, reason: expect.stringContaining('missing record demux/picture') });
  });

  it('refuses a chunk signed by the wrong agent with 422 naming the link; nothing is kept or run', async () => {
    const bytes = Buffer.from('evil chunk');
    const error = await attack(bytes, [forgedSplit('fx-1', bytes)]);
    expect(error).toBeInstanceOf(HandoffError);
    expect(error).toMatchObject({ status: 422, code: 'PROVENANCE_INVALID' });
    expect(error!.message).toContain('record split/av of chunk 0: signed by spiffe://test.local/ns/fx/sa/fx-1, but the workflow assigns step split to owner');
    expect(await agents['fx-1'].store.list('mini')).toEqual([]);
    expect(agents['fx-1'].runtime.status().steps.demux.received).toBe(0);
    expect(demuxRuns).toBe(0);
  });

  it('refuses swapped bytes under an honest record, a replayed chunk index, and a chunk without provenance', async () => {
    const honest = Buffer.from('original chunk 0');
    const swapped = await attack(Buffer.from('swapped!'), [forgedSplit('owner', honest)]);
    expect(swapped).toMatchObject({ status: 422, code: 'PROVENANCE_INVALID' });
    expect(swapped!.message).toContain('swapped digest on split');
    const replayed = await attack(honest, [forgedSplit('owner', honest, 0)], 1);
    expect(replayed!.message).toContain('replayed chunk: record split/av is about chunk 0, expected chunk 1');
    const bare = await attack(honest, undefined);
    expect(bare!.message).toContain('carries no provenance records');
    expect(await agents['fx-1'].store.list('mini')).toEqual([]);
    expect(demuxRuns).toBe(0);
  });

  it('fails closed: with the ledger unreachable and the audit queue full, a chunk is refused (503) before anything is stored', async () => {
    const deaf = new AuditTrail({ url: 'http://127.0.0.1:9/v1/audit/events', token: 'fx-1', maxQueued: 1, closeTimeoutMs: 100 });
    deaf.record({ type: 'handoff-sent', chunk: 99 });
    agents['fx-1'].server.close();
    agents['fx-1'] = await start(MINI, 'fx-1', { demux: async () => void demuxRuns++ }, deaf);
    const honest = Buffer.from('original chunk 0');
    const error = await attack(honest, [forgedSplit('owner', honest)]);
    expect(error).toMatchObject({ status: 503, code: 'RETRIES_EXHAUSTED', message: expect.stringContaining('AUDIT_UNAVAILABLE: the audit ledger is unreachable') });
    expect(await agents['fx-1'].store.list('mini')).toEqual([]);
    expect(demuxRuns).toBe(0);
  });
});

/** A crash of one agent, in process: it stops answering and its runtime is abandoned mid-work. */
function crash(agent: Agent): void {
  agent.server.close();
  agent.server.closeAllConnections();
}

/** The same agent's server (a stopped owner) listening again on its old port. */
async function reopen(agent: Agent): Promise<void> {
  const port = Number(new URL(agent.url).port);
  await new Promise<void>((resolve) => agent.server.listen(port, '127.0.0.1', resolve));
}

describe('a restarted agent takes up its volume: nothing lost, nothing made twice, every event once', () => {
  const demux = (gate?: Promise<void>) => async ({ inputs, outputs }: { inputs: Record<string, () => Promise<NodeJS.ReadableStream>>; outputs: Record<string, NodeJS.WritableStream> }) => {
    demuxRuns++;
    await gate;
    await pipeline((await inputs.av()) as Readable, outputs.picture);
  };

  it('outputs stored but never acknowledged are re-sent from the volume, not made again', async () => {
    // fx-1 makes its outputs while the owner is down, and dies before the owner is back.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    crash(agents['fx-1']);
    agents['fx-1'] = await start(MINI, 'fx-1', { demux: demux(gate) as never });
    await Promise.all([0, 1].map((i) => agents.owner.runtime.produce('split', i, 2)));
    await until(() => demuxRuns === 2);
    crash(agents.owner);
    open();
    await until(() => agents['fx-1'].runtime.status().steps.demux.failed === 0 && existsSyncAll(agents['fx-1'].store, 2));
    crash(agents['fx-1']);
    await reopen(agents.owner);

    const restarted = await start(MINI, 'fx-1', { demux: demux() as never });
    agents['fx-1'] = restarted;
    const summary = restarted.runtime.status().resume ?? (await until(() => restarted.runtime.status().resume !== undefined), restarted.runtime.status().resume);
    expect(summary).toMatchObject({ chunksFound: 2, done: 0, resent: 2, rescheduled: 0 });
    await until(() => assembled !== undefined || agents.owner.runtime.status().failures.length > 0);
    expect(agents.owner.runtime.status().failures).toEqual([]);
    expect(assembled).toEqual(['original chunk 0', 'original chunk 1']);
    expect(demuxRuns).toBe(2); // made once per chunk, by the first process only
    expect((await verifyDeliverable(join(dir, 'out'), MINI, ca.bundlePem)).ok).toBe(true);

    // Both processes reported the receipts; the ledger holds each once.
    await Promise.all(Object.values(agents).map((a) => a.runtime.drain()));
    const seen = (await ledgerEvents()).filter((e) => e.type !== 'deliverable-attested').map((e) => `${(e.by as { agent: string }).agent} ${e.type} ${e.step}#${e.chunk}`).sort();
    expect(seen).toEqual([
      'fx-1 handoff-received demux#0', 'fx-1 handoff-received demux#1', 'fx-1 handoff-sent assemble#0', 'fx-1 handoff-sent assemble#1',
      'owner handoff-received assemble#0', 'owner handoff-received assemble#1', 'owner handoff-sent demux#0', 'owner handoff-sent demux#1',
    ]);
  });

  it('a job that had not finished runs again; one that was acknowledged is counted, not redone', async () => {
    // Chunk 0 goes through; chunk 1's job hangs when fx-1 dies.
    let calls = 0;
    const hangSecond = async (job: Parameters<ReturnType<typeof demux>>[0]) => {
      calls++;
      if (calls === 2) return new Promise<void>(() => undefined);
      return demux()(job);
    };
    crash(agents['fx-1']);
    agents['fx-1'] = await start(MINI, 'fx-1', { demux: hangSecond as never });
    await agents.owner.runtime.produce('split', 0, 2);
    await until(() => agents['fx-1'].runtime.status().progress.demux === 1);
    await agents.owner.runtime.produce('split', 1, 2);
    await until(() => calls === 2);
    crash(agents['fx-1']);

    const restarted = await start(MINI, 'fx-1', { demux: demux() as never });
    agents['fx-1'] = restarted;
    await until(() => assembled !== undefined || agents.owner.runtime.status().failures.length > 0);
    expect(assembled).toEqual(['original chunk 0', 'original chunk 1']);
    expect(restarted.runtime.status().resume).toMatchObject({ chunksFound: 2, done: 1, resent: 0, rescheduled: 1 });
    expect(restarted.runtime.status().progress.demux).toBe(2);
    expect(demuxRuns).toBe(2); // chunk 0 once (first process), chunk 1 once (the second: the first never finished it)
  });

  it('the owner re-dispatches a chunk missing at the sink; the hop that failed it runs it again', async () => {
    // fx-1 fails chunk 1 for good the first time (a verdict, not an outage): nothing retries it by itself.
    let failedOnce = false;
    const flaky = async (job: Parameters<ReturnType<typeof demux>>[0] & { chunkIndex: number }) => {
      if (job.chunkIndex === 1 && !failedOnce) {
        failedOnce = true;
        throw new Error('one bad run');
      }
      return demux()(job);
    };
    crash(agents['fx-1']);
    crash(agents.owner);
    agents['fx-1'] = await start(MINI, 'fx-1', { demux: flaky as never });
    agents.owner = await start(MINI, 'owner', {
      split: async ({ chunkIndex, outputs }) => void outputs.av.end(Buffer.from(`original chunk ${chunkIndex}`)),
      assemble: {
        gather: async ({ inputs }) => {
          const parts: string[] = [];
          for (const open of inputs.picture) for await (const part of await open()) parts.push(String(part));
          assembled = parts;
        },
      },
    }, undefined, { redispatchAfterMs: 300 });
    await Promise.all([0, 1].map((i) => agents.owner.runtime.produce('split', i, 2)));
    await until(() => assembled !== undefined);
    expect(assembled).toEqual(['original chunk 0', 'original chunk 1']);
    expect(failedOnce).toBe(true);
    expect(agents.owner.runtime.status().redispatched).toBeGreaterThanOrEqual(1);
    expect(agents['fx-1'].runtime.status().failures).toEqual([expect.objectContaining({ step: 'demux', chunkIndex: 1, message: 'one bad run' })]);
  });

  it('the owner does not re-dispatch while pictures keep arriving at the sink, though no chunk is complete there (its sound comes from a step that waits for all)', async () => {
    // MINI with a second input at the sink from a step that holds every chunk until the test lets
    // it go, as the loudness pass holds the sound until it has analysed the whole film.
    const wf = parseWorkflow(
      MINI_WORKFLOW_YAML.replace('  - { name: assemble,', '  - { name: late, agent: fx-1, job: late }\n  - { name: assemble,') +
        '  - { from: split, to: late, artifact: av }\n  - { from: late, to: assemble, artifact: sound }\n',
    );
    for (const agent of ['owner', 'fx-1']) identities[agent] = { signer: createSigner(await ca.issue(spiffeId(wf, agent))), caBundlePem: ca.bundlePem };
    // Pictures 200 ms apart against a 1.6 s watchdog: a margin of 8x, so a loaded machine (a
    // picture's handoff held up for a second) does not look like a stalled sink.
    const chunks = 25;
    let pictureGate = 0; // demux may run chunks below this index
    let soundReleased = false;
    let gathered: { picture: number; sound: number } | undefined;
    const waitFor = async (check: () => boolean) => {
      while (!check()) await new Promise((r) => setTimeout(r, 10));
    };
    crash(agents['fx-1']);
    crash(agents.owner);
    agents['fx-1'] = await start(wf, 'fx-1', {
      demux: async ({ chunkIndex, inputs, outputs }) => {
        await waitFor(() => chunkIndex < pictureGate);
        await pipeline(await inputs.av(), outputs.picture);
      },
      late: async ({ inputs, outputs }) => {
        await waitFor(() => soundReleased);
        await pipeline(await inputs.av(), outputs.sound);
      },
      // Room for every held chunk at once: a held one must not keep a picture from running.
    }, undefined, { concurrency: 2 * chunks + 2 });
    agents.owner = await start(wf, 'owner', {
      split: async ({ chunkIndex, outputs }) => void outputs.av.end(Buffer.from(`original chunk ${chunkIndex}`)),
      assemble: { gather: async ({ inputs }) => void (gathered = { picture: inputs.picture.length, sound: inputs.sound.length }) },
    }, undefined, { redispatchAfterMs: 1600 });
    await Promise.all(Array.from({ length: chunks }, (_, i) => agents.owner.runtime.produce('split', i, chunks)));
    // One picture every 200 ms, for three watchdog periods and more: inputs keep arriving at the
    // sink while no chunk there is complete.
    for (let i = 1; i <= chunks; i++) {
      pictureGate = i;
      await new Promise((r) => setTimeout(r, 200));
    }
    soundReleased = true;
    await until(() => gathered !== undefined || agents.owner.runtime.status().failures.length > 0);
    expect(gathered).toEqual({ picture: chunks, sound: chunks });
    expect(agents.owner.runtime.status().redispatched).toBe(0);
  });

  it('refuses to resume from a slot record that does not read back, naming it, and deletes nothing', async () => {
    await Promise.all([0, 1].map((i) => agents.owner.runtime.produce('split', i, 2)));
    await until(() => assembled !== undefined);
    crash(agents['fx-1']);
    const key = 'handoff-slots/mini/demux/av/00001.json';
    await writeFile(join(dir, 'fx-1', key), '{"version":1,"sha256":"not a digest"}');
    const restarted = await start(MINI, 'fx-1', { demux: demux() as never });
    agents['fx-1'] = restarted;
    const ready = await until200(`${restarted.url}/ready`);
    expect(ready).toMatchObject({ status: 503, body: { ready: false, reason: expect.stringContaining(`cannot resume from ${key}`) } });
    expect(await readFile(join(dir, 'fx-1', key), 'utf8')).toContain('not a digest');
    const refused = await attack(Buffer.from('original chunk 0'), [forgedSplit('owner', Buffer.from('original chunk 0'))]);
    // New chunks are refused 503 (retry later), naming why: nothing is taken in over a broken volume.
    expect(refused).toMatchObject({ status: 503, message: expect.stringContaining(`RESUME_FAILED: this agent cannot resume from its volume: cannot resume from ${key}`) });
  });
});

function existsSyncAll(store: FsObjectStore, n: number): boolean {
  return [0, 1].slice(0, n).every((i) => existsSync(join(store.root, `job-state/mini/demux/0000${i}.outputs.json`)));
}

/** GET a URL once the server answers at all (its status and JSON body). */
async function until200(url: string): Promise<{ status: number; body: unknown }> {
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    if (res) {
      const body = (await res.json()) as { reason?: string };
      if (res.status === 200 || body.reason?.startsWith('cannot resume')) return { status: res.status, body };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
