import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfigFromEnv, createStores } from '@reelmesh/agent-kit';
import { sealedStore } from '@reelmesh/envelope';
import { HandoffError, sendChunk } from '@reelmesh/handoff';
import { requestJson } from '@reelmesh/http-kit';
import {
  createSigner,
  LEDGER_AGENT,
  LEDGER_LOG,
  peekStatement,
  recordDigest,
  sha256Hex,
  signRecord,
  type ProvenanceRecord,
  verifyAuditLog,
} from '@reelmesh/provenance';
import type { LocalRuntime } from '@reelmesh/runtime';
import { ControlPlaneClient } from '@reelmesh/workload-identity';
import { runWorkflow, type RunWorkflowResult } from '../src/run-workflow';
import { ledgerAccess } from '../src/commands/provenance';
import { lastJsonLine, reelmesh } from './helpers';

/**
 * A compromised contractor on a real secure run: the vfx-2 pod is taken over and, using its own
 * identity (its outbound sidecar, its SVID key, its volume), tries to push forged chunks to color.
 * Color must refuse each with 422 naming the broken link, keep nothing, hand nothing to hdr, and
 * the refusals must be in the owner's audit ledger.
 */
describe('insider attacks on a running mesh (a compromised vfx-2 pushing to color)', () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-insider-'));
  let result: RunWorkflowResult;
  const outcomes: Record<string, { error?: HandoffError; colorStored: string[]; hdrStored: string[]; colorReceived: number }> = {};

  async function attacks(runtime: LocalRuntime, res: RunWorkflowResult): Promise<void> {
    const vfx2 = runtime.agents['vfx-2'];
    const storesOf = (agent: string) =>
      createStores(agentConfigFromEnv({ ...runtime.kms!.envFor(agent), REELMESH_AGENT: agent, REELMESH_DATA_DIR: runtime.agents[agent].dataDir }));
    // What the insider holds: vfx-2's own SVID (through its pod token) and vfx-2's own volume.
    const insider = new ControlPlaneClient({ url: vfx2.pod!.identity.controlPlane, token: vfx2.pod!.identity.bootstrapToken });
    const signer = createSigner(await insider.fetchSvid())();
    insider.close();
    const ctx = { workflowId: 'feature-film', step: 'picture-fx', agent: 'vfx-2', recipients: ['color'] };
    const bytes = await buffer(await storesOf('vfx-2').data.createReadStream('feature-film/picture-fx/out/picture/00000.mkv', ctx));
    // The honest chain of chunk 0 as it reached color (owner's split, vfx-1's demux, vfx-2's picture-fx).
    const all = JSON.parse(await readFile(join(dirname(res.deliverable), 'provenance', 'chunk-00000.json'), 'utf8')).records as ProvenanceRecord[];
    const honest = all.filter((r) => ['split', 'demux', 'picture-fx'].includes(peekStatement(r)!.predicate.step));
    const of = (step: string) => honest.find((r) => peekStatement(r)!.predicate.step === step)!;
    const colorReceived = async () => (await requestJson<{ steps: { grade: { received: number } } }>(runtime.agents.color.url, '/v1/status')).steps.grade.received;
    const before = await colorReceived();

    const push = async (name: string, chunkIndex: number, records: ProvenanceRecord[]) => {
      const error = await sendChunk({
        baseUrl: vfx2.pod!.outboundUrl,
        hostHeader: 'color',
        manifest: {
          version: 1, workflowId: 'feature-film', step: 'grade', artifact: 'picture', chunkIndex, chunkCount: 8,
          sha256: sha256Hex(bytes), byteLength: bytes.length, media: { container: 'matroska' }, producer: { agent: 'vfx-2', step: 'picture-fx' },
          provenance: { records },
        },
        open: async () => Readable.from([bytes]),
        retry: { attempts: 1 },
      }).then(
        () => undefined,
        (e: unknown) => e as HandoffError,
      );
      const list = async (agent: string, prefix: string) => (await storesOf(agent).data.list(prefix)).filter((k) => /0000[2-7]/.test(k));
      outcomes[name] = {
        error,
        colorStored: await list('color', 'feature-film/grade'),
        hdrStored: await list('hdr', 'feature-film'),
        colorReceived: (await colorReceived()) - before,
      };
    };

    // 1. Replay: chunk 0's bytes and honest chain, delivered again as chunk 2.
    await push('replayed', 2, honest);
    // 2. Wrong signer: vfx-2 signs a record for a step the workflow gives to vfx-1.
    const forgedDemux = signRecord(signer, {
      workflowId: 'feature-film', step: 'demux', artifact: 'picture', chunkIndex: 3, chunkCount: 8,
      sha256: sha256Hex('whatever'), inputs: [], parameters: {},
    });
    await push('wrong-signer', 3, [forgedDemux, of('picture-fx')]);
    // 3. Skipped steps: vfx-2 signs "its" picture-fx of chunk 4 from a demux output nobody vouches for.
    const fabricated = signRecord(signer, {
      workflowId: 'feature-film', step: 'picture-fx', artifact: 'picture', chunkIndex: 4, chunkCount: 8, sha256: sha256Hex(bytes),
      inputs: [{ step: 'demux', artifact: 'picture', digest: { sha256: sha256Hex('unseen') }, record: { sha256: recordDigest(of('demux')) } }],
      parameters: {},
    });
    await push('skipped', 4, [fabricated]);
    // 4. Swapped bytes: vfx-2's record of chunk 5 vouches for other bytes than the ones it sends.
    const swapped = signRecord(signer, {
      workflowId: 'feature-film', step: 'picture-fx', artifact: 'picture', chunkIndex: 5, chunkCount: 8, sha256: sha256Hex('the graded original'),
      inputs: [], parameters: {},
    });
    await push('swapped', 5, [swapped]);
  }

  beforeAll(async () => {
    result = await runWorkflow({ durationSeconds: 3, outDir: out, beforeStop: attacks });
  }, 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  const refused = (name: string) => {
    const o = outcomes[name];
    expect(o.error, name).toBeInstanceOf(HandoffError);
    expect(o.error!.status).toBe(422);
    expect(o.error!.code).toBe('PROVENANCE_INVALID');
    // Nothing kept by color, nothing reached hdr, and color's runtime never saw it.
    expect(o.colorStored).toEqual([]);
    expect(o.hdrStored).toEqual([]);
    expect(o.colorReceived).toBe(0);
    return o.error!.message;
  };

  it('ran the honest workflow first (mesh, sealed volumes, provenance)', () => {
    expect(result.security).toEqual({ mesh: true, encryption: true });
    expect(result.chunks).toBe(2);
  });

  it('refuses a replayed chunk, naming the record and both chunk numbers', () => {
    expect(refused('replayed')).toContain('replayed chunk: record split/av is about chunk 0, expected chunk 2');
  });

  it("refuses a record signed by the wrong agent, naming signer and the step's agent", () => {
    expect(refused('wrong-signer')).toContain(
      'record demux/picture of chunk 3: signed by spiffe://reelmesh.local/ns/vfx/sa/vfx-2, but the workflow assigns step demux to vfx-1',
    );
  });

  it('refuses a chain that skips the steps before it', () => {
    expect(refused('skipped')).toMatch(/missing record (split\/av|demux\/picture) of chunk 4/);
  });

  it('refuses bytes other than the ones the record vouches for', () => {
    expect(refused('swapped')).toContain('swapped digest on picture-fx');
  });

  it("every refusal is in the owner's audit ledger, reported by color with the reason", async () => {
    const runDir = dirname(result.dataRoot);
    const verify = await reelmesh(['audit', 'verify', runDir, '--ca', result.caBundle!, '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const report = lastJsonLine<{ ok: boolean; events: Record<string, number> }>(verify.stdout);
    expect(report.ok).toBe(true);
    expect(report.events['handoff-refused']).toBe(4);
    // The entries themselves: reported by color's pod, each with the refusal's reason.
    const access = await ledgerAccess({}, join(runDir, 'state', 'kms'), 'owner');
    const refusals: Array<Record<string, unknown>> = [];
    try {
      await verifyAuditLog({
        store: sealedStore(join(runDir, 'state', 'audit'), access.kms).store, name: LEDGER_LOG, workflowId: 'feature-film', agent: LEDGER_AGENT,
        caBundle: await readFile(result.caBundle!, 'utf8'), checkpointSigner: 'spiffe://reelmesh.local/ns/owner/sa/audit-ledger',
        onEntry: (e) => void (e.event.type === 'handoff-refused' && refusals.push(e.event)),
      });
    } finally {
      await access.stop();
    }
    expect(refusals.map((e) => [(e.by as { spiffeId: string }).spiffeId, e.chunk])).toEqual([2, 3, 4, 5].map((c) => ['spiffe://reelmesh.local/ns/color/sa/color', c]));
    expect(refusals.map((e) => e.from)).toEqual(['vfx-2', 'vfx-2', 'vfx-2', 'vfx-2']);
    expect(String(refusals[0].reason)).toContain('replayed chunk');
    expect(String(refusals[1].reason)).toContain('assigns step demux to vfx-1');
  });
});
