import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from '@reelmesh/http-kit';
import { FsObjectStore } from '@reelmesh/storage';
import { auditContext, entryKey, type AuditEntry } from './audit-log';
import { AuditLedger, LEDGER_AGENT, LEDGER_LOG, type Submitter } from './audit-ledger';
import { AuditShipper } from './audit-shipper';
import { createDevCa, type DevCa } from './dev-ca';
import { readJsonObject } from './object-io';
import { createSigner } from './signer';
import { verifyAuditLog } from './verify-audit-log';

const WF = 'feature-film';
const LEDGER_ID = 'spiffe://reelmesh.local/ns/owner/sa/audit-ledger';
const VFX: Submitter = { spiffeId: 'spiffe://reelmesh.local/ns/vfx/sa/vfx-1', agent: 'vfx-1', component: 'app' };
const VFX_POLICY: Submitter = { ...VFX, component: 'policy' };

let ca: DevCa;
let dir: string;
let store: FsObjectStore;
let ledger: AuditLedger;

beforeAll(async () => {
  ca = await createDevCa();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelmesh-ledger-'));
  store = new FsObjectStore(dir);
  ledger = await AuditLedger.open({ store, workflowId: WF, signer: createSigner(await ca.issue(LEDGER_ID)), checkpointEvery: 8 });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const entries = async (): Promise<AuditEntry[]> => {
  const out: AuditEntry[] = [];
  for (let seq = 0; seq < ledger.size; seq++) out.push((await readJsonObject(store, entryKey(LEDGER_LOG, seq), auditContext(WF, LEDGER_AGENT))) as AuditEntry);
  return out;
};
const verify = () => verifyAuditLog({ store, name: LEDGER_LOG, workflowId: WF, agent: LEDGER_AGENT, caBundle: ca.bundlePem, checkpointSigner: LEDGER_ID });
const decision = (n: number) => ({ decision_id: `d-${n}`, timestamp: new Date().toISOString(), path: 'reelmesh/authz/allow', input: { path: '/x' }, result: n % 2 === 0 });

describe('AuditLedger', () => {
  it('appends handoffs and decisions in order, stamping who sent them; chain and checkpoints verify', async () => {
    await ledger.ingest(VFX, [{ type: 'handoff-sent', chunk: 0 }, { type: 'handoff-received', chunk: 1 }]);
    await ledger.ingest(VFX_POLICY, [decision(1), decision(2)]);
    await ledger.checkpoint();
    const all = await entries();
    expect(all.map((e) => e.event.type)).toEqual(['handoff-sent', 'handoff-received', 'decision', 'decision']);
    expect(all[0].event.by).toEqual({ spiffeId: VFX.spiffeId, agent: 'vfx-1', component: 'app' });
    expect(all[2].event).toMatchObject({ by: { component: 'policy' }, decision: { decision_id: 'd-1', result: false } });
    expect(await verify()).toMatchObject({ ok: true, entries: 4, checkpoints: 1, uncheckpointed: 0 });
  });

  it('refuses a whole batch with one bad event, appending nothing', async () => {
    const bad = async (by: Submitter, events: unknown[]) => ledger.ingest(by, events).catch((e: unknown) => e as HttpError);
    const first = await bad(VFX, [{ type: 'handoff-sent' }, { type: 'drop-table' }]);
    expect(first).toBeInstanceOf(HttpError);
    expect(first).toMatchObject({ status: 400, code: 'BAD_EVENT', message: expect.stringContaining('event 1: type must be') });
    expect(await bad(VFX, [{ type: 'handoff-sent', by: { agent: 'owner' } }])).toMatchObject({ message: expect.stringContaining('"by" is set by the ledger') });
    expect(await bad(VFX_POLICY, [{ result: true }])).toMatchObject({ message: expect.stringContaining('a decision needs decision_id') });
    expect(await bad(VFX, [{ type: 'handoff-sent', pad: 'x'.repeat(20_000) }])).toMatchObject({ code: 'BAD_EVENT' });
    expect(await bad(VFX, 'nope' as unknown as unknown[])).toMatchObject({ code: 'BAD_BATCH' });
    // Events are hashed in canonical JSON: one without a canonical form is the submitter's error.
    expect(await bad(VFX, [JSON.parse('{"type":"handoff-sent","chunk":1e400}')])).toMatchObject({
      status: 400,
      code: 'BAD_EVENT',
      message: 'event 0: canonicalJson: $.chunk is Infinity, not JSON',
    });
    expect(await bad(VFX, [JSON.parse('{"type":"handoff-sent","note":"\\ud800"}')])).toMatchObject({
      code: 'BAD_EVENT',
      message: 'event 0: canonicalJson: $.note is a string holding a lone UTF-16 surrogate, not JSON',
    });
    expect(ledger.size).toBe(0);
    expect(await store.list('audit')).toEqual([]);
  });

  it('resumes after a restart: new entries extend the same chain', async () => {
    await ledger.ingest(VFX, [{ type: 'handoff-sent', chunk: 0 }]);
    await ledger.checkpoint();
    const again = await AuditLedger.open({ store, workflowId: WF, signer: createSigner(await ca.issue(LEDGER_ID)) });
    await again.ingest(VFX, [{ type: 'handoff-sent', chunk: 1 }]);
    await again.checkpoint();
    expect(await verify()).toMatchObject({ ok: true, entries: 2, checkpoints: 2 });
  });
});

describe('AuditLedger: an event re-sent after a crash is kept once', () => {
  const received = (chunk: number) => ({ id: `received/grade/picture/${chunk}/${'ab'.repeat(32)}`, type: 'handoff-received', chunk });
  const COLOR: Submitter = { spiffeId: 'spiffe://reelmesh.local/ns/color/sa/color', agent: 'color', component: 'app' };

  it('appends an (submitter, component, id) once, within a batch and across batches; events without id always', async () => {
    expect(await ledger.ingest(VFX, [received(0), received(1)])).toMatchObject({ accepted: 2, duplicates: 0, size: 2 });
    expect(await ledger.ingest(VFX, [received(1), received(2), received(2), { type: 'handoff-sent', chunk: 9 }, { type: 'handoff-sent', chunk: 9 }])).toMatchObject({
      accepted: 3,
      duplicates: 2,
      size: 5,
    });
    // The same id from another pod, or from the same pod's policy sidecar as a decision id, is another event.
    expect(await ledger.ingest(COLOR, [received(0)])).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await ledger.ingest(VFX_POLICY, [{ ...decision(1), decision_id: received(0).id }, decision(1)])).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await ledger.ingest(VFX_POLICY, [decision(1)])).toMatchObject({ accepted: 0, duplicates: 1, size: 8 });
    // Concurrent re-sends (a shipper's retry racing its first attempt) still append once.
    const racing = await Promise.all([ledger.ingest(VFX, [received(3)]), ledger.ingest(VFX, [received(3)])]);
    expect(racing.map((r) => r.duplicates).sort()).toEqual([0, 1]);
    await ledger.checkpoint();
    expect((await entries()).map((e) => e.event.chunk ?? (e.event.decision as { decision_id: string }).decision_id)).toEqual([0, 1, 2, 9, 9, 0, received(0).id, 'd-1', 3]);
    expect(await verify()).toMatchObject({ ok: true, entries: 9 });
  });

  it('still knows every id after the ledger is closed and opened again on the same store', async () => {
    await ledger.ingest(VFX, [received(0), received(1)]);
    await ledger.ingest(VFX_POLICY, [decision(1)]);
    // Covered by a checkpoint or not: open rebuilds the ids from every entry.
    await ledger.checkpoint();
    await ledger.ingest(VFX, [received(2)]);
    const reopened = await AuditLedger.open({ store, workflowId: WF, signer: createSigner(await ca.issue(LEDGER_ID)), checkpointEvery: 8 });
    expect(await reopened.ingest(VFX, [received(0), received(1), received(2), received(3)])).toMatchObject({ accepted: 1, duplicates: 3, size: 5 });
    expect(await reopened.ingest(VFX_POLICY, [decision(1), decision(2)])).toMatchObject({ accepted: 1, duplicates: 1, size: 6 });
    await reopened.checkpoint();
    expect(await verify()).toMatchObject({ ok: true, entries: 6, checkpoints: 2, uncheckpointed: 0 });
  });

  it('refuses an id that is not a string of 1 to 256 characters, appending nothing of the batch', async () => {
    for (const id of ['', 'x'.repeat(257), 7, null]) {
      await expect(ledger.ingest(VFX, [received(0), { type: 'handoff-sent', id }])).rejects.toMatchObject({
        status: 400,
        code: 'BAD_EVENT',
        message: 'event 1: id must be a string of 1 to 256 characters',
      });
    }
    await expect(ledger.ingest(VFX_POLICY, [{ ...decision(1), decision_id: '' }])).rejects.toMatchObject({ message: 'event 0: decision_id must be 1 to 256 characters' });
    expect(await ledger.ingest(VFX, [{ type: 'handoff-sent', id: 'x'.repeat(256) }])).toMatchObject({ accepted: 1 });
    expect(ledger.size).toBe(1);
  });
});

describe('AuditShipper -> ledger over HTTP', () => {
  let server: Server;
  let url: string;
  let down = false;
  let posts = 0;

  beforeEach(async () => {
    down = false;
    posts = 0;
    server = createServer((req, res) => {
      posts++;
      if (down) return void res.writeHead(503).end('{"code":"DOWN"}');
      ledger.ingestRequest(VFX, req).then(
        (r) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(r)),
        (e: HttpError) => res.writeHead(e.status ?? 500).end(JSON.stringify({ code: e.code, message: e.message })),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/audit/events`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it('delivers every event once, in order, in gzipped batches', async () => {
    const shipper = new AuditShipper({ url, token: 't', flushIntervalMs: 10, maxBatch: 40 });
    for (let i = 0; i < 100; i++) shipper.record({ type: 'handoff-sent', chunk: i });
    const stats = await shipper.close();
    expect(stats).toMatchObject({ delivered: 100, queued: 0, overflowed: 0 });
    expect(posts).toBeGreaterThanOrEqual(3); // batches of at most 40
    expect((await entries()).map((e) => e.event.chunk)).toEqual([...Array(100).keys()]);
  });

  it('keeps events while the ledger is down and delivers them when it is back; reports full so callers fail closed', async () => {
    down = true;
    const shipper = new AuditShipper({ url, token: 't', flushIntervalMs: 5, maxBatch: 10, maxQueued: 20 });
    for (let i = 0; i < 20; i++) shipper.record({ type: 'handoff-sent', chunk: i });
    expect(shipper.accepting()).toBe(false);
    await new Promise((r) => setTimeout(r, 150));
    expect(shipper.stats().failures).toBeGreaterThan(0);
    expect(ledger.size).toBe(0);
    down = false;
    const stats = await shipper.close();
    expect(stats).toMatchObject({ delivered: 20, queued: 0 });
    expect(shipper.accepting()).toBe(true);
    expect((await entries()).map((e) => e.event.chunk)).toEqual([...Array(20).keys()]);
  });

  it('caps the batch on the wire and once inflated (a small gzip bomb stops at the limit)', async () => {
    const small = await AuditLedger.open({ store, workflowId: WF, signer: createSigner(await ca.issue(LEDGER_ID)), maxBodyBytes: 1024 });
    server.removeAllListeners('request');
    server.on('request', (req, res) =>
      small.ingestRequest(VFX, req).then(
        (r) => res.writeHead(200).end(JSON.stringify(r)),
        (e: HttpError) => res.writeHead(e.status).end(JSON.stringify({ code: e.code, message: e.message })),
      ),
    );
    const events = JSON.stringify(Array.from({ length: 100 }, (_, chunk) => ({ type: 'handoff-sent', chunk })));
    const plain = await fetch(url, { method: 'POST', body: events });
    expect([plain.status, await plain.json()]).toEqual([413, { code: 'BODY_TOO_LARGE', message: 'audit batch body is larger than 1024 bytes' }]);
    const bomb = gzipSync(events);
    expect(bomb.length).toBeLessThan(1024);
    const zipped = await fetch(url, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: bomb });
    expect([zipped.status, await zipped.json()]).toEqual([413, { code: 'BODY_TOO_LARGE', message: 'audit batch body is larger than 1024 bytes once decompressed' }]);
    expect(small.size).toBe(0);
  });

  it('a batch the ledger calls malformed is reported and dropped (it would block the queue); plain and gzip bodies both parse', async () => {
    const plain = await fetch(url, { method: 'POST', body: JSON.stringify([{ type: 'handoff-received', chunk: 7 }]) });
    expect(plain.status).toBe(200);
    const zipped = await fetch(url, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: gzipSync('[{"type":"handoff-sent","chunk":8}]') });
    expect(zipped.status).toBe(200);
    const garbage = await fetch(url, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: 'not gzip' });
    expect(garbage.status).toBe(400);
    expect(await fetch(url, { method: 'POST', headers: { 'content-encoding': 'br' }, body: '[]' }).then((r) => r.status)).toBe(415);
    const errors: string[] = [];
    const shipper = new AuditShipper({ url, token: 't', flushIntervalMs: 5, onError: (e) => errors.push(e.message) });
    shipper.record({ type: 'not-a-handoff' });
    shipper.record({ type: 'handoff-sent', chunk: 9 });
    // The good event batched with the bad one still arrives: a refused batch is resent one by one.
    expect(await shipper.close(2_000)).toMatchObject({ rejected: 1, delivered: 1, queued: 0 });
    expect(errors).toEqual([expect.stringMatching(/refused a batch of 2: HTTP 400/), expect.stringMatching(/refused a batch of 1: HTTP 400.*event 0: type must be/)]);
    expect((await entries()).map((e) => e.event.chunk)).toEqual([7, 8, 9]);
  });
});
