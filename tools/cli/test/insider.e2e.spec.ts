import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handoffPath } from '@reelmesh/addressing';
import { agentConfigFromEnv, createStores, POD_TOKEN_HEADER } from '@reelmesh/agent-kit';
import { sealedStore } from '@reelmesh/envelope';
import { HandoffError, sendChunk } from '@reelmesh/handoff';
import { request, requestJson, ResponseError } from '@reelmesh/http-kit';
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
import { buildGraph, loadWorkflow, ownerOf, spiffeId, type Step } from '@reelmesh/workflow';
import { ControlPlaneClient } from '@reelmesh/workload-identity';
import { runWorkflow, type RunWorkflowResult } from '../src/run-workflow';
import { ledgerAccess } from '../src/commands/provenance';
import { lastJsonLine, reelmesh } from './helpers';
import { listFiles } from './scan';

// The roles, read from the workflow so contractors placed around them change nothing here (with the
// shipped workflow: insider vfx-2 running picture-fx, victim color running grade, beyond it hdr
// running hdr-master, and upstream split -> demux).
const workflow = loadWorkflow();
const graph = buildGraph(workflow);
const WF = workflow.metadata.id;
function nextOf(step: Step): Step {
  const next = graph.outputsOf(step.name).filter((e) => e.artifact === 'picture').map((e) => graph.step(e.to)!);
  if (next.length !== 1) throw new Error(`this spec follows the picture from ${step.name} to exactly one step, not [${next.map((n) => n.name).join(', ')}]`);
  return next[0];
}
function insiderStep(): Step {
  const step = workflow.steps.find((s) => s.job === 'picture-fx' && workflow.agents.find((a) => a.name === s.agent)?.app === 'vfx');
  if (!step) throw new Error('the workflow runs no picture-fx step on an agent of the vfx app: this spec needs one as its insider');
  return step;
}
const INSIDER_STEP = insiderStep();
const VICTIM_STEP = nextOf(INSIDER_STEP);
const BEYOND_STEP = nextOf(VICTIM_STEP);
const [INSIDER, VICTIM, BEYOND] = [INSIDER_STEP.agent, VICTIM_STEP.agent, BEYOND_STEP.agent];
/** The steps upstream of the insider's, source first, each with the artifact it hands on (one input each). */
const UPSTREAM: Array<{ step: string; artifact: string; agent: string }> = [];
for (let edges = graph.inputsOf(INSIDER_STEP.name); edges.length > 0; edges = graph.inputsOf(edges[0].from)) {
  if (edges.length > 1) throw new Error(`this spec follows one chain upstream, but step ${edges[0].to} has ${edges.length} inputs`);
  UPSTREAM.unshift({ step: edges[0].from, artifact: edges[0].artifact, agent: graph.agentOf(edges[0].from)! });
}
const FEEDER = UPSTREAM[UPSTREAM.length - 1];
if (new Set([INSIDER, VICTIM, BEYOND, FEEDER.agent]).size !== 4) throw new Error(`this spec needs four different agents: insider ${INSIDER}, victim ${VICTIM}, beyond ${BEYOND}, feeder ${FEEDER.agent}`);
const link = (l: { step: string; artifact: string }) => `${l.step}/${l.artifact}`;

/**
 * A compromised contractor on a real secure run: the vfx-2 pod is taken over and, using its own
 * identity (its outbound sidecar, its SVID key, its volume), tries to push forged chunks to color.
 * Color must refuse each with 422 naming the broken link, keep nothing, hand nothing to hdr, and
 * the refusals must be in the owner's audit ledger. It also goes around the sidecars (in the local
 * mode every pod's sockets are in its reach): straight to color's app socket, and out through
 * color's outbound socket as color; without color's pod token both refuse it before looking at its body.
 */
describe(`insider attacks on a running mesh (a compromised ${INSIDER} pushing to ${VICTIM})`, () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-insider-'));
  let result: RunWorkflowResult;
  const outcomes: Record<string, { error?: HandoffError; colorStored: string[]; hdrStored: string[]; colorReceived: number }> = {};
  /** The same insider going around the sidecars: straight to color's app socket, or out through color's outbound socket. */
  const bypass = {} as {
    agents: LocalRuntime['agents'];
    app: Array<HandoffError | undefined>;
    status: ResponseError | undefined;
    health: number;
    outbound: Array<HandoffError | undefined>;
    colorFiles: [string[], string[]];
    hdrFiles: [string[], string[]];
  };

  async function attacks(runtime: LocalRuntime, res: RunWorkflowResult): Promise<void> {
    const vfx2 = runtime.agents[INSIDER];
    const storesOf = (agent: string) =>
      createStores(agentConfigFromEnv({ ...runtime.kms!.envFor(agent), REELMESH_AGENT: agent, REELMESH_DATA_DIR: runtime.agents[agent].dataDir }));
    // What the insider holds: vfx-2's own SVID (through its bootstrap token), its pod token and its own volume.
    const insider = new ControlPlaneClient({ url: vfx2.pod!.identity.controlPlane, token: vfx2.pod!.identity.bootstrapToken });
    const signer = createSigner(await insider.fetchSvid())();
    insider.close();
    const ctx = { workflowId: WF, step: INSIDER_STEP.name, agent: INSIDER, recipients: [VICTIM] };
    const bytes = await buffer(await storesOf(INSIDER).data.createReadStream(`${WF}/${INSIDER_STEP.name}/out/picture/00000.mkv`, ctx));
    // The honest chain of chunk 0 as it reached color (owner's split, vfx-1's demux, vfx-2's picture-fx).
    const all = JSON.parse(await readFile(join(dirname(res.deliverable), 'provenance', 'chunk-00000.json'), 'utf8')).records as ProvenanceRecord[];
    const honest = all.filter((r) => [...UPSTREAM.map((l) => l.step), INSIDER_STEP.name].includes(peekStatement(r)!.predicate.step));
    const of = (step: string) => honest.find((r) => peekStatement(r)!.predicate.step === step)!;
    const color = runtime.agents[VICTIM];
    const colorReceived = async () =>
      (await requestJson<{ steps: Record<string, { received: number }> }>(color.url, '/v1/status', { headers: color.headers })).steps[VICTIM_STEP.name].received;
    const before = await colorReceived();

    /** A chunk handed over by hand (default: vfx-2's picture to color): the HandoffError it ends in (undefined if taken). */
    const handOver = (
      via: { baseUrl: string; hostHeader?: string; headers: Record<string, string> },
      chunkIndex: number,
      records: ProvenanceRecord[],
      { step = VICTIM_STEP.name, producer = { agent: INSIDER, step: INSIDER_STEP.name } } = {},
    ) =>
      sendChunk({
        ...via,
        manifest: {
          version: 1, workflowId: WF, step, artifact: 'picture', chunkIndex, chunkCount: 8,
          sha256: sha256Hex(bytes), byteLength: bytes.length, media: { container: 'matroska' }, producer,
          provenance: { records },
        },
        open: async () => Readable.from([bytes]),
        retry: { attempts: 1 },
      }).then(
        () => undefined,
        (e: unknown) => e as HandoffError,
      );
    // The taken-over pod's own app seat: its token opens vfx-2's outbound sidecar.
    const viaOwnSidecar = { baseUrl: vfx2.pod!.outboundUrl, hostHeader: VICTIM, headers: vfx2.headers };

    const push = async (name: string, chunkIndex: number, records: ProvenanceRecord[]) => {
      const error = await handOver(viaOwnSidecar, chunkIndex, records);
      const list = async (agent: string, prefix: string) => (await storesOf(agent).data.list(prefix)).filter((k) => /0000[2-7]/.test(k));
      outcomes[name] = {
        error,
        colorStored: await list(VICTIM, `${WF}/${VICTIM_STEP.name}`),
        hdrStored: await list(BEYOND, WF),
        colorReceived: (await colorReceived()) - before,
      };
    };

    // 1. Replay: chunk 0's bytes and honest chain, delivered again as chunk 2.
    await push('replayed', 2, honest);
    // 2. Wrong signer: vfx-2 signs a record for a step the workflow gives to vfx-1.
    const forgedDemux = signRecord(signer, {
      workflowId: WF, step: FEEDER.step, artifact: FEEDER.artifact, chunkIndex: 3, chunkCount: 8,
      sha256: sha256Hex('whatever'), inputs: [], parameters: {},
    });
    await push('wrong-signer', 3, [forgedDemux, of(INSIDER_STEP.name)]);
    // 3. Skipped steps: vfx-2 signs "its" picture-fx of chunk 4 from a demux output nobody vouches for.
    const fabricated = signRecord(signer, {
      workflowId: WF, step: INSIDER_STEP.name, artifact: 'picture', chunkIndex: 4, chunkCount: 8, sha256: sha256Hex(bytes),
      inputs: [{ step: FEEDER.step, artifact: FEEDER.artifact, digest: { sha256: sha256Hex('unseen') }, record: { sha256: recordDigest(of(FEEDER.step)) } }],
      parameters: {},
    });
    await push('skipped', 4, [fabricated]);
    // 4. Swapped bytes: vfx-2's record of chunk 5 vouches for other bytes than the ones it sends.
    const swapped = signRecord(signer, {
      workflowId: WF, step: INSIDER_STEP.name, artifact: 'picture', chunkIndex: 5, chunkCount: 8, sha256: sha256Hex('the graded original'),
      inputs: [], parameters: {},
    });
    await push('swapped', 5, [swapped]);

    // 5. Around the sidecars. On the shared loopback every pod's Unix sockets are in reach of the
    // insider's uid, so it skips color's proxy and policy: straight to color's app with a forged
    // peer claim (no pod token, a made-up one, its own), and out through color's outbound socket as
    // color to hdr (no token, its own). Each is refused on the pod token before anything is read.
    const hdr = runtime.agents[BEYOND];
    const [colorFiles, hdrFiles] = [await listFiles(color.dataDir), await listFiles(hdr.dataDir)];
    const forgedPeer = { 'x-reelmesh-peer': spiffeId(workflow, INSIDER) };
    const tokens = [{}, { [POD_TOKEN_HEADER]: randomBytes(32).toString('base64url') }, vfx2.headers];
    bypass.app = [];
    for (const token of tokens) bypass.app.push(await handOver({ baseUrl: color.url, headers: { ...forgedPeer, ...token } }, 6, honest));
    bypass.status = await requestJson(color.url, '/v1/status').then(() => undefined, (e: ResponseError) => e);
    bypass.health = (await request(color.url, '/health')).status;
    bypass.outbound = [];
    for (const token of [{}, vfx2.headers]) {
      bypass.outbound.push(await handOver({ baseUrl: color.pod!.outboundUrl, hostHeader: BEYOND, headers: token }, 6, honest, { step: BEYOND_STEP.name, producer: { agent: VICTIM, step: VICTIM_STEP.name } }));
    }
    bypass.colorFiles = [colorFiles, await listFiles(color.dataDir)];
    bypass.hdrFiles = [hdrFiles, await listFiles(hdr.dataDir)];
    bypass.agents = runtime.agents;
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
    expect(refused('replayed')).toContain(`replayed chunk: record ${link(UPSTREAM[0])} is about chunk 0, expected chunk 2`);
  });

  it("refuses a record signed by the wrong agent, naming signer and the step's agent", () => {
    expect(refused('wrong-signer')).toContain(
      `record ${link(FEEDER)} of chunk 3: signed by ${spiffeId(workflow, INSIDER)}, but the workflow assigns step ${FEEDER.step} to ${FEEDER.agent}`,
    );
  });

  it('refuses a chain that skips the steps before it', () => {
    const upstream = UPSTREAM.map((l) => link(l).replace(/[-/]/g, '\\$&')).join('|');
    expect(refused('skipped')).toMatch(new RegExp(`missing record (${upstream}) of chunk 4`));
  });

  it('refuses bytes other than the ones the record vouches for', () => {
    expect(refused('swapped')).toContain(`swapped digest on ${INSIDER_STEP.name}`);
  });

  it("refuses a handoff straight to color's app socket (forged peer; no pod token, a wrong one) before storing anything, and logs it", async () => {
    expect(bypass.agents[VICTIM].url.endsWith(`/${VICTIM}/app.sock`), bypass.agents[VICTIM].url).toBe(true);
    for (const error of bypass.app) {
      expect(error).toBeInstanceOf(HandoffError);
      expect({ status: error!.status, code: error!.code }).toEqual({ status: 403, code: 'POD_PRIVATE' });
    }
    expect(bypass.colorFiles[1]).toEqual(bypass.colorFiles[0]);
    const log = await readFile(bypass.agents[VICTIM].logFile, 'utf8');
    const refusals = log.split('\n').filter((l) => l.includes("did not come through the pod's proxy")).map((l) => JSON.parse(l));
    const path = handoffPath({ workflowId: WF, step: VICTIM_STEP.name, artifact: 'picture', chunkIndex: 6 });
    expect(refusals.map((r) => [r.level, r.method, r.path, r.claimedPeer])).toEqual([
      ...bypass.app.map(() => [40, 'POST', path, spiffeId(workflow, INSIDER)]),
      [40, 'GET', '/v1/status', undefined],
    ]);
    for (const agent of Object.values(bypass.agents)) expect(log).not.toContain(agent.headers[POD_TOKEN_HEADER]);
  });

  it("answers the insider's GET /health on color's app socket, and no /v1/status without color's pod token", () => {
    expect(bypass.health).toBe(200);
    expect({ status: bypass.status?.status, code: bypass.status?.code }).toEqual({ status: 403, code: 'POD_PRIVATE' });
  });

  it("refuses a handoff out through color's outbound socket without color's pod token; nothing reaches hdr", async () => {
    for (const error of bypass.outbound) expect({ status: error?.status, code: error?.code }).toEqual({ status: 403, code: 'POD_PRIVATE' });
    const path = handoffPath({ workflowId: WF, step: BEYOND_STEP.name, artifact: 'picture', chunkIndex: 6 });
    const entries = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.path === path);
    expect(await entries(bypass.agents[VICTIM].pod!.accessLog)).toEqual(
      bypass.outbound.map(() => expect.objectContaining({ direction: 'outbound', destination: BEYOND, decision: 'deny', status: 403, reason: 'missing or wrong pod token' })),
    );
    expect(await entries(bypass.agents[BEYOND].pod!.accessLog)).toEqual([]);
    expect(bypass.hdrFiles[1]).toEqual(bypass.hdrFiles[0]);
  });

  it("every refusal is in the owner's audit ledger, reported by color with the reason", async () => {
    const runDir = dirname(result.dataRoot);
    const verify = await reelmesh(['audit', 'verify', runDir, '--ca', result.caBundle!, '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const report = lastJsonLine<{ ok: boolean; events: Record<string, number> }>(verify.stdout);
    expect(report.ok).toBe(true);
    expect(report.events['handoff-refused']).toBe(4);
    // The entries themselves: reported by color's pod, each with the refusal's reason.
    const access = await ledgerAccess({}, join(runDir, 'state', 'kms'), ownerOf(workflow).actor);
    const refusals: Array<Record<string, unknown>> = [];
    try {
      await verifyAuditLog({
        store: sealedStore(join(runDir, 'state', 'audit'), access.kms).store, name: LEDGER_LOG, workflowId: WF, agent: LEDGER_AGENT,
        caBundle: await readFile(result.caBundle!, 'utf8'), checkpointSigner: `spiffe://${workflow.metadata.trustDomain}/ns/${ownerOf(workflow).actor}/sa/audit-ledger`,
        onEntry: (e) => void (e.event.type === 'handoff-refused' && refusals.push(e.event)),
      });
    } finally {
      await access.stop();
    }
    expect(refusals.map((e) => [(e.by as { spiffeId: string }).spiffeId, e.chunk])).toEqual([2, 3, 4, 5].map((c) => [spiffeId(workflow, VICTIM), c]));
    expect(refusals.map((e) => e.from)).toEqual([INSIDER, INSIDER, INSIDER, INSIDER]);
    expect(String(refusals[0].reason)).toContain('replayed chunk');
    expect(String(refusals[1].reason)).toContain(`assigns step ${FEEDER.step} to ${FEEDER.agent}`);
  });
});
