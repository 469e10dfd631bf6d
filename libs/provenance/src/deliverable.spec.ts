import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildGraph, ownerOf, spiffeId } from '@reelmesh/workflow';
import { createFixture, fakeDigest, honestChain, type Fixture } from './chain-fixture.test-util';
import { createDevCa } from './dev-ca';
import {
  attestDeliverable,
  attestationPathOf,
  chunkProvenanceFile,
  PROVENANCE_DIR,
  verifyDeliverable,
  writeChunkProvenance,
  type FinalRecord,
} from './deliverable';
import { recordDigest, type ProvenanceRecord } from './record';
import { createSigner, type Signer } from './signer';

// Everything derives from the loaded workflow: its sink step, the edges into it, its owner.
let fx: Fixture;
let sink: string;
let owner: Signer;
let dir: string;
const CHUNKS = 4;
beforeAll(async () => {
  fx = await createFixture();
  const graph = buildGraph(fx.workflow);
  sink = graph.sinkSteps[0];
  owner = fx.signers.get(ownerOf(fx.workflow).agent)!;
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelmesh-deliverable-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A finished run in `out`: every chunk's records, a deliverable, and the owner's attestation of it. */
async function finishedRun(out: string, opts: { signer?: Signer; bytes?: Buffer } = {}) {
  const chains = Array.from({ length: CHUNKS }, (_, i) => honestChain(fx, i));
  for (const [i, chain] of chains.entries()) {
    await writeChunkProvenance(out, { workflowId: fx.workflow.metadata.id, chunkIndex: i, chunkCount: CHUNKS, records: [...chain.values()] });
  }
  const edges = buildGraph(fx.workflow).inputsOf(sink);
  const finals: FinalRecord[][] = chains.map((chain, i) =>
    edges.map((e) => ({ step: e.from, artifact: e.artifact, digest: { sha256: fakeDigest(e.from, e.artifact, i) }, record: { sha256: recordDigest(chain.get(`${e.from}/${e.artifact}`)!) } })),
  );
  const file = join(out, 'deliverable.mp4');
  await mkdir(out, { recursive: true });
  await writeFile(file, opts.bytes ?? randomBytes(64 * 1024));
  const attested = await attestDeliverable(opts.signer ?? owner, {
    file,
    workflow: fx.workflow,
    step: sink,
    chunks: finals,
    policy: { revision: '1764496800000', signed: true, digest: { sha256: 'ab'.repeat(32) } },
    parameters: { job: 'assemble', invocations: [] },
    ffmpeg: { version: '5.1.6-0+deb12u1', source: 'system' },
  });
  return { file, chains, ...attested };
}

const verify = (target: string) => verifyDeliverable(target, fx.workflow, fx.ca.bundlePem);

describe("the owner's deliverable attestation", () => {
  it('binds the file: accepted as the file, its .intoto.jsonl or the output folder', async () => {
    const { file, sha256, path } = await finishedRun(dir);
    expect(path).toBe(`${file}.intoto.jsonl`);
    expect((await stat(path)).mode & 0o777).toBe(0o644 & ~process.umask());
    for (const target of [file, path, dir]) {
      const report = await verify(target);
      expect(report).toMatchObject({ ok: true, deliverable: file, sha256, bytes: 64 * 1024, chunkCount: CHUNKS, signer: spiffeId(fx.workflow, ownerOf(fx.workflow).agent) });
      expect(report.policy).toEqual({ revision: '1764496800000', signed: true, digest: { sha256: 'ab'.repeat(32) } });
      expect(report.chunks.every((c) => c.ok)).toBe(true);
    }
  });

  it('is one in-toto Statement in a DSSE envelope, naming workflow, policy, every chunk in order, assembly and ffmpeg', async () => {
    const { path, chains } = await finishedRun(dir);
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]) as ProvenanceRecord;
    const statement = JSON.parse(Buffer.from(record.dsseEnvelope.payload, 'base64').toString('utf8'));
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'deliverable.mp4' }],
      predicateType: 'https://reelmesh.io/provenance/deliverable/v1',
      predicate: { workflow: { id: fx.workflow.metadata.id }, step: sink, chunkCount: CHUNKS, assembly: { ffmpeg: { version: '5.1.6-0+deb12u1', source: 'system' } } },
    });
    expect(statement.predicate.chunks.map((c: { chunkIndex: number }) => c.chunkIndex)).toEqual([0, 1, 2, 3]);
    const edge = buildGraph(fx.workflow).inputsOf(sink)[0];
    expect(statement.predicate.chunks[2].records[0].record.sha256).toBe(recordDigest(chains[2].get(`${edge.from}/${edge.artifact}`)!));
  });

  it('refuses a flipped byte in the middle of the file', async () => {
    const { file } = await finishedRun(dir);
    const bytes = await readFile(file);
    bytes[bytes.length >> 1] ^= 0x01;
    await writeFile(file, bytes);
    const report = await verify(file);
    expect(report).toMatchObject({ ok: false, failure: 'digest' });
    expect(report.error).toMatch(/deliverable\.mp4 has sha256 .* the owner attested .*: the file was altered or swapped after the owner signed it/);
  });

  it('refuses a truncated file', async () => {
    const { file } = await finishedRun(dir);
    await truncate(file, 1000);
    const report = await verify(dir);
    expect(report).toMatchObject({ ok: false, failure: 'truncated', error: `deliverable.mp4 is truncated: 1000 bytes, the owner attested ${64 * 1024}` });
  });

  it("refuses the file swapped for an older run's deliverable", async () => {
    const older = await finishedRun(join(dir, 'older'));
    const { file } = await finishedRun(join(dir, 'now'));
    await copyFile(older.file, file);
    expect(await verify(file)).toMatchObject({ ok: false, failure: 'digest' });
    // ...and the older run's attestation with it: its chunk records are not this run's.
    await copyFile(older.path, attestationPathOf(file));
    const report = await verify(file);
    expect(report).toMatchObject({ ok: false, failure: 'chunks' });
    expect(report.error).toMatch(/^4 of 4 chunks refused; first: chunk 0: the chain's record of .* the owner attested .*: not the records the deliverable was assembled from/);
  });

  it('refuses an attestation re-signed by a non-owner, inside the mesh or outside it', async () => {
    const contractor = fx.workflow.agents.find((a) => a.name !== ownerOf(fx.workflow).agent)!;
    await finishedRun(dir, { signer: fx.signers.get(contractor.name)! });
    const report = await verify(dir);
    expect(report).toMatchObject({ ok: false, failure: 'not-owner' });
    expect(report.error).toContain(`attestation signed by ${spiffeId(fx.workflow, contractor.name)}, not by the owner`);

    // The owner's SPIFFE id, but from a CA that is not the mesh's.
    const rogue = await createDevCa('rogue CA');
    await finishedRun(dir, { signer: createSigner(await rogue.issue(spiffeId(fx.workflow, ownerOf(fx.workflow).agent)))() });
    expect(await verify(dir)).toMatchObject({ ok: false, failure: 'certificate', error: expect.stringContaining("attestation's signing certificate rejected") });
  });

  it('refuses an attestation whose statement was edited after signing', async () => {
    const { path } = await finishedRun(dir);
    const record = JSON.parse(await readFile(path, 'utf8')) as ProvenanceRecord;
    const statement = JSON.parse(Buffer.from(record.dsseEnvelope.payload, 'base64').toString('utf8'));
    statement.predicate.deliverable.bytes += 1;
    record.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await writeFile(path, `${JSON.stringify(record)}\n`);
    expect(await verify(dir)).toMatchObject({ ok: false, failure: 'signature' });
  });

  it('refuses a run with a chunk record removed, or a chunk file removed', async () => {
    await finishedRun(dir);
    const name = join(dir, PROVENANCE_DIR, chunkProvenanceFile(1));
    const file = JSON.parse(await readFile(name, 'utf8'));
    file.records.splice(1, 1);
    await writeFile(name, JSON.stringify(file));
    await unlink(join(dir, PROVENANCE_DIR, chunkProvenanceFile(3)));
    const report = await verify(dir);
    expect(report).toMatchObject({ ok: false, failure: 'chunks' });
    expect(report.chunks.map((c) => c.ok)).toEqual([true, false, true, false]);
    expect(report.chunks[1].link?.kind).toBe('missing-record');
    expect(report.chunks[3].error).toBe('no provenance file provenance/chunk-00003.json, though the owner attested chunk 3');
    expect(report.error).toMatch(/^2 of 4 chunks refused; first: chunk 1: missing record/);
  });

  it('refuses a deliverable with no attestation, and verification under another workflow', async () => {
    const { file, path } = await finishedRun(dir);
    const other = { ...fx.workflow, metadata: { ...fx.workflow.metadata, description: 'edited' } };
    expect(await verifyDeliverable(file, other, fx.ca.bundlePem)).toMatchObject({ ok: false, failure: 'wrong-workflow' });
    await unlink(path);
    expect(await verify(file)).toMatchObject({ ok: false, failure: 'attestation-missing', error: expect.stringContaining('the deliverable is not attested by the owner') });
    await expect(verify(dir)).rejects.toThrow(/no deliverable attestation .* in .*: the records in provenance\/ are not bound to any deliverable/);
  });

  it('writes each chunk file whole, readable by whoever checks the run (0644), with no partial file left', async () => {
    const records = [...honestChain(fx, 0).values()];
    const path = await writeChunkProvenance(dir, { workflowId: fx.workflow.metadata.id, chunkIndex: 0, chunkCount: 4, records });
    expect(path).toBe(join(dir, PROVENANCE_DIR, 'chunk-00000.json'));
    expect(await readdir(join(dir, PROVENANCE_DIR))).toEqual(['chunk-00000.json']);
    expect((await stat(path)).mode & 0o777).toBe(0o644 & ~process.umask());
  });
});
