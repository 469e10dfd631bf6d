import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SealedObjectStore, StaticDataKeyProvider } from '@reelmesh/envelope';
import { FsObjectStore, type ObjectStore } from '@reelmesh/storage';
import { AuditLog, auditContext, chainHash, entryDigest, entryKey, type AuditEntry, type AuditLogNews } from './audit-log';
import { createDevCa, type DevCa } from './dev-ca';
import { readJsonObject, writeJsonObject } from './object-io';
import { createSigner, type Signer } from './signer';
import { verifyAuditLog } from './verify-audit-log';

const OWNER = 'spiffe://reelmesh.local/ns/owner/sa/owner';
const WF = 'feature-film';
let ca: DevCa;
let owner: () => Signer;
let dir: string;
let store: ObjectStore;

beforeAll(async () => {
  ca = await createDevCa();
  owner = createSigner(await ca.issue(OWNER));
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelmesh-audit-'));
  store = new FsObjectStore(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const ctx = auditContext(WF, 'owner');
const open = (s: ObjectStore = store, signer: (() => Signer) | undefined = owner) =>
  AuditLog.open({ store: s, name: 'owner', workflowId: WF, agent: 'owner', signer, checkpointEvery: 4 });
const verify = (s: ObjectStore = store) => verifyAuditLog({ store: s, name: 'owner', workflowId: WF, agent: 'owner', caBundle: ca.bundlePem, checkpointSigner: OWNER });

async function fill(count: number, s: ObjectStore = store): Promise<AuditLog> {
  const log = await open(s);
  for (let i = 0; i < count; i++) await log.append({ type: 'handoff', chunk: i, to: i % 2 ? 'vfx-1' : 'vfx-2' });
  return log;
}
const read = (seq: number) => readJsonObject(store, entryKey('owner', seq), ctx) as Promise<AuditEntry>;
async function put(seq: number, entry: AuditEntry): Promise<void> {
  await store.remove(entryKey('owner', seq));
  await writeJsonObject(store, entryKey('owner', seq), ctx, entry);
}
/** What a careful attacker does after tampering: recompute every hash from `from` on. */
async function rehashFrom(from: number, count: number): Promise<void> {
  let prev = from === 0 ? '0'.repeat(64) : (await read(from - 1)).hash;
  for (let seq = from; seq < count; seq++) {
    const e = await read(seq);
    e.prev = prev;
    e.hash = chainHash(prev, entryDigest(e));
    prev = e.hash;
    await put(seq, e);
  }
}
/** Shift entries [from, count) to seq+delta (renumbering after a removal/insertion). */
async function shift(from: number, count: number, delta: number): Promise<void> {
  const order = delta > 0 ? [...Array(count - from).keys()].reverse() : [...Array(count - from).keys()];
  for (const i of order) {
    const e = await read(from + i);
    await store.remove(entryKey('owner', from + i));
    await writeJsonObject(store, entryKey('owner', from + i + delta), ctx, { ...e, seq: from + i + delta });
  }
}

describe('AuditLog', () => {
  it('chains entries, signs checkpoints and verifies clean; resumes after reopening', async () => {
    const log = await fill(6);
    expect(log.size).toBe(6);
    const again = await open();
    expect(again.head).toBe(log.head);
    await again.append({ type: 'decision', allowed: false });
    await again.append({ type: 'decision', allowed: true });
    const report = await verify();
    expect(report).toEqual({ ok: true, entries: 8, checkpoints: 2, uncheckpointed: 0 });
    const e7 = await read(7);
    expect(e7.prev).toBe((await read(6)).hash);
  });

  it('tells its watchers of every stored entry and checkpoint, and signs a slow log within checkpointWithinMs', async () => {
    const log = await AuditLog.open({ store, name: 'owner', workflowId: WF, agent: 'owner', signer: owner, checkpointEvery: 64, checkpointWithinMs: 20 });
    const news: AuditLogNews[] = [];
    const signed = new Promise<void>((resolve) => log.watch((n) => (news.push(n), n.kind === 'checkpoint' && resolve())));
    await log.append({ type: 'handoff', chunk: 0 });
    await log.append({ type: 'handoff', chunk: 1 });
    // Two entries, far fewer than checkpointEvery: the deadline signs them anyway.
    await signed;
    expect(news.map((n) => n.kind)).toEqual(['entry', 'entry', 'checkpoint']);
    const checkpoint = news[2] as Extract<AuditLogNews, { kind: 'checkpoint' }>;
    expect(checkpoint.statement).toMatchObject({ index: 0, from: 0, to: 1, head: log.head });
    expect(checkpoint.signedBy).toBe(OWNER);
    expect(log.lastCheckpoint).toEqual({ statement: checkpoint.statement, signedBy: OWNER });
    expect(await verify()).toEqual({ ok: true, entries: 2, checkpoints: 1, uncheckpointed: 0 });
  });

  it('is sealed at rest when given a SealedObjectStore', async () => {
    const sealed = new SealedObjectStore({
      root: dir,
      provider: new StaticDataKeyProvider({ keyId: 'k', plaintextKey: randomBytes(32), wrappedKey: randomBytes(24) }),
    });
    const log = await open(sealed);
    await log.append({ type: 'handoff', secretMarker: 'PLAINTEXT-MARKER-123' });
    await log.checkpoint();
    const raw = await readFile(join(dir, entryKey('owner', 0)));
    expect(raw.includes('PLAINTEXT-MARKER-123')).toBe(false);
    expect((await verify(sealed)).ok).toBe(true);
  });
});

describe('verifyAuditLog pinpoints tampering', () => {
  it('altered entry (content edited, hash left)', async () => {
    await fill(10);
    const e = await read(5);
    e.event.to = 'attacker';
    await put(5, e);
    expect((await verify()).problem).toMatchObject({ kind: 'altered', seq: 5 });
  });

  it('altered entry with the whole chain re-hashed: the signed checkpoint still names it', async () => {
    await fill(10);
    const e = await read(2);
    e.event.chunk = 99;
    await put(2, e);
    await rehashFrom(2, 10);
    expect((await verify()).problem).toMatchObject({ kind: 'altered', seq: 2, message: expect.stringContaining('signed checkpoint') });
  });

  it('altered entry after the last checkpoint, re-hashed: the link from the next entry breaks', async () => {
    await fill(10); // checkpoints cover 0..7
    const e = await read(8);
    e.event.chunk = 42;
    e.hash = chainHash(e.prev, entryDigest(e));
    await put(8, e);
    expect((await verify()).problem).toMatchObject({ kind: 'altered', seq: 8 });
  });

  it('altered entry that no longer has a canonical form (1e400 reads as Infinity): reported, not thrown', async () => {
    await fill(10);
    const raw = JSON.stringify(await read(4)).replace('"chunk":4', '"chunk":1e400');
    await store.remove(entryKey('owner', 4));
    const writer = await store.createWriter(entryKey('owner', 4), ctx);
    writer.stream.end(Buffer.from(raw));
    await writer.commit();
    expect((await read(4)).event.chunk).toBe(Infinity);
    expect((await verify()).problem).toEqual({ kind: 'altered', seq: 4, message: 'entry 4 was altered (its fields no longer match its place in the log)' });
  });

  it('removed entry (object deleted)', async () => {
    await fill(10);
    await store.remove(entryKey('owner', 6));
    expect((await verify()).problem).toMatchObject({ kind: 'removed', seq: 6 });
  });

  it('removed entry, later entries renumbered and re-hashed', async () => {
    await fill(10);
    await store.remove(entryKey('owner', 3));
    await shift(4, 10, -1);
    await rehashFrom(3, 9);
    expect((await verify()).problem).toMatchObject({ kind: 'removed', seq: 3 });
  });

  it('inserted entry with renumbering (chain-only region)', async () => {
    await fill(10);
    await shift(9, 10, 1);
    const before = await read(8);
    const forged: AuditEntry = { seq: 9, time: new Date().toISOString(), event: { type: 'decision', allowed: true }, prev: before.hash, hash: '' };
    forged.hash = chainHash(forged.prev, entryDigest(forged));
    await writeJsonObject(store, entryKey('owner', 9), ctx, forged);
    expect((await verify()).problem).toMatchObject({ kind: 'inserted', seq: 9 });
  });

  it('inserted entry inside checkpointed history, chain re-hashed', async () => {
    await fill(10);
    await shift(1, 10, 1);
    await writeJsonObject(store, entryKey('owner', 1), ctx, { seq: 1, time: new Date().toISOString(), event: { type: 'forged' }, prev: '', hash: '' });
    await rehashFrom(1, 11);
    expect((await verify()).problem).toMatchObject({ kind: 'inserted', seq: 1 });
  });

  it('a checkpoint signed by someone other than the owner is refused', async () => {
    const rogue = createSigner(await ca.issue('spiffe://reelmesh.local/ns/vfx/sa/vfx-1'));
    const log = await open(store, rogue);
    for (let i = 0; i < 4; i++) await log.append({ i });
    expect((await verify()).problem).toMatchObject({ kind: 'checkpoint-invalid', seq: 0, message: expect.stringContaining('not the owner') });
  });

  it('a removed checkpoint is reported', async () => {
    await fill(12);
    await store.remove('audit/owner/checkpoints/00000001.json');
    expect((await verify()).problem).toMatchObject({ kind: 'checkpoint-removed', seq: 1 });
  });
});
