import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReceivedChunk } from '@reelmesh/handoff';
import { createLogger, createStores, validateAgentConfig, type AgentConfig } from '@reelmesh/agent-kit';
import { makeChunks, manifestFor, runAppOnce, startReceiver } from '@reelmesh/agent-kit/testing';
import { cubeLines, ffmpegPath, grade, traceJob, type JobParameters } from '@reelmesh/media';
import {
  createDevCa,
  createSigner,
  parametersDigest,
  peekStatement,
  recordDigest,
  sha256Hex,
  signRecord,
  verifyHandoffProvenance,
  type DevCa,
  type ProvenanceRecord,
} from '@reelmesh/provenance';
import { buildGraph, loadWorkflow, spiffeId, type Edge, type Step } from '@reelmesh/workflow';
// The local KMS is the dev/test platform (the app itself never imports it): a real KMS for the sealed stores.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { generateAgentCredentials, provisionOptionsFor, provisionWorkflowKeys, startLocalKms, type LocalKms, type ProvisionedKeys } from '@reelmesh/kms-local';
import { createApp } from './app';

// The runtime's own trace of each job, i.e. the parameters its provenance record commits to. The
// wrapper only keeps a copy; the real traceJob runs.
const traces = vi.hoisted(() => [] as JobParameters[]);
vi.mock('@reelmesh/media', async (importOriginal) => {
  const media = await importOriginal<typeof import('@reelmesh/media')>();
  return {
    ...media,
    traceJob: async <T>(fn: () => Promise<T>) => {
      const traced = await media.traceJob(fn);
      traces.push(traced.parameters);
      return traced;
    },
  };
});

const workflow = loadWorkflow();
const graph = buildGraph(workflow);
const WORKFLOW_ID = workflow.metadata.id;

// Where the workflow runs this app's grade job (its first such step), the agent and actor that run
// it, the step and agent its picture goes to next and the steps upstream of it: all read from the
// workflow, so a contractor placed before or after color changes nothing here.
function gradeStep(): Step {
  const step = workflow.steps.find((s) => s.job === 'grade' && workflow.agents.find((a) => a.name === s.agent)?.app === 'color');
  if (!step) throw new Error('the workflow runs no grade step on an agent of the color app');
  return step;
}
const STEP = gradeStep();
const AGENT = STEP.agent;
const ACTOR = workflow.agents.find((a) => a.name === AGENT)!.actor;
const NEXT_STEPS = graph.outputsOf(STEP.name).filter((e) => e.artifact === 'picture').map((e) => e.to);
if (NEXT_STEPS.length !== 1) throw new Error(`step ${STEP.name} must hand its picture to exactly one next step, not [${NEXT_STEPS.join(', ')}]`);
const [NEXT_STEP] = NEXT_STEPS;
const NEXT_AGENT = graph.agentOf(NEXT_STEP)!;

// Where the color app keeps its LUT in the asset store (key and context as jobs/grade.ts names them).
const LUT_KEY = `lut/${basename(workflow.media.lut.ref)}`;
const LUT_CONTEXT = { workflowId: WORKFLOW_ID, step: 'grade', agent: AGENT };
// Not the repo's film look: an output graded with it can only have come from the sealed store.
const SPEC_LUT = Buffer.from([...cubeLines(9, ([r, g, b]) => [Math.min(1, r * 0.7 + 0.3), g, b * 0.6], 'color spec look')].join('\n') + '\n');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let kmsDir: string;
let kms: LocalKms;
let keys: ProvisionedKeys;
let credentials: ReturnType<typeof generateAgentCredentials>['byAgent'];
let ca: DevCa;

beforeAll(async () => {
  // As the runtime provisions it: the owner's workflow key, one asset key per contractor actor.
  kmsDir = await mkdtemp(join(tmpdir(), 'color-kms-'));
  const generated = generateAgentCredentials([...workflow.agents]);
  credentials = generated.byAgent;
  kms = await startLocalKms({ dataDir: kmsDir, principals: generated.principals });
  keys = await provisionWorkflowKeys(kms.admin, provisionOptionsFor(workflow));
  ca = await createDevCa();
});
afterAll(async () => {
  await kms?.stop();
  await rm(kmsDir, { recursive: true, force: true });
});

/** The color agent's sealed configuration, as the runtime's envFor gives it. */
function colorConfig(dataDir: string, peers: Record<string, string>, lutPath?: string): AgentConfig {
  const { accessKeyId, secretAccessKey } = credentials[AGENT];
  return validateAgentConfig({
    agent: AGENT, dataDir, listen: '127.0.0.1:0', peers, concurrency: 1, logLevel: 'silent', maxChunkBytes: 64 << 20,
    ...(lutPath ? { lutPath } : {}),
    kms: {
      endpoint: kms.endpoint, region: kms.region, accessKeyId, secretAccessKey,
      keyId: keys.workflowKey.alias,
      allowedKeyIds: [keys.workflowKey.arn, keys.assetKeys[ACTOR].arn],
      assetKeyId: keys.assetKeys[ACTOR].alias,
    },
  });
}

/**
 * The steps upstream of the grade, source first, each with the artifact it hands on and its agent
 * (with the shipped workflow: split -> demux -> picture-fx). Each must have one input.
 */
function upstreamLinks(): Array<readonly [step: string, artifact: string, agent: string]> {
  const links: Array<readonly [string, string, string]> = [];
  for (let edge: Edge | undefined = graph.inputsOf(STEP.name)[0]; edge; ) {
    links.unshift([edge.from, edge.artifact, graph.agentOf(edge.from)!]);
    const inputs = graph.inputsOf(edge.from);
    if (inputs.length > 1) throw new Error(`this spec signs a single upstream chain, but step ${edge.from} has ${inputs.length} inputs`);
    edge = inputs[0];
  }
  return links;
}

/** What the step before the grade hands over: a signed chain from the source step ending in these bytes. */
async function upstreamChain(picture: Buffer): Promise<ProvenanceRecord[]> {
  const links = upstreamLinks();
  const records: ProvenanceRecord[] = [];
  for (const [i, [step, artifact, agent]] of links.entries()) {
    const prev = i > 0 ? { link: links[i - 1], record: records[i - 1] } : undefined;
    const signer = createSigner(await ca.issue(spiffeId(workflow, agent)))();
    records.push(
      signRecord(signer, {
        workflowId: WORKFLOW_ID, step, artifact, chunkIndex: 0, chunkCount: 1,
        sha256: i === links.length - 1 ? sha256Hex(picture) : sha256Hex(`${step}/${artifact}`),
        inputs: prev ? [{ step: prev.link[0], artifact: prev.link[1], digest: { sha256: peekStatement(prev.record)!.subject[0].digest.sha256 }, record: { sha256: recordDigest(prev.record) } }] : [],
        parameters: { job: graph.step(step)!.job },
      }),
    );
  }
  return records;
}

interface SealedRun {
  dataDir: string;
  /** What the next agent received (bytes and manifest), or the job's failures. */
  out?: { bytes: Buffer; manifest: ReceivedChunk['manifest'] };
  failures: Array<{ step: string; message: string }>;
  health: number;
  trace?: JobParameters;
  /** Regular files under the data dir (temp dir included) after the job. */
  files: string[];
}

/**
 * Production wiring of the color agent: sealed stores from createStores (real local KMS), signed
 * provenance, the next hop a real receiver. The agent's temp dir is pointed into its data dir for
 * the run, so a plaintext temp copy of the LUT would be caught by the file scan too.
 */
async function runSealed(picture: Buffer, opts: { sealLut?: Buffer; lutPath?: string }, check: (run: SealedRun) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'color-sealed-'));
  const next = await startReceiver(workflow, NEXT_AGENT);
  const savedTmp = process.env.TMPDIR;
  const restoreTmp = () => (savedTmp === undefined ? delete process.env.TMPDIR : (process.env.TMPDIR = savedTmp));
  try {
    const config = colorConfig(dataDir, { [NEXT_AGENT]: next.url }, opts.lutPath);
    const stores = createStores(config);
    if (opts.sealLut) {
      // The colourist's LUT, already in its asset store (sealed under the color actor's key).
      const writer = await stores.assets!.createWriter(LUT_KEY, LUT_CONTEXT);
      await pipeline(Readable.from([opts.sealLut]), writer.stream);
      await writer.commit();
    }
    const provenance = { signer: createSigner(await ca.issue(spiffeId(workflow, AGENT))), caBundlePem: ca.bundlePem };
    const logger = createLogger(AGENT, 'silent');
    const { app } = createApp(config, { workflow, store: stores.data, assets: stores.assets, logger, provenance });
    await mkdir(join(dataDir, 'tmp'));
    process.env.TMPDIR = join(dataDir, 'tmp');
    traces.length = 0;
    const manifest = { ...manifestFor(workflow, STEP.name, 'picture', picture), provenance: { records: await upstreamChain(picture) } };
    const res = await request(app)
      .post(`/v1/handoffs/${WORKFLOW_ID}/${STEP.name}/picture/0`)
      .field('manifest', JSON.stringify(manifest))
      .attach('chunk', picture, { filename: 'chunk.mkv', contentType: 'video/x-matroska' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    let failures: SealedRun['failures'] = [];
    for (let i = 0; i < 1200 && next.received.length === 0 && failures.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      failures = (await request(app).get('/v1/status')).body.failures;
    }
    restoreTmp();
    const [chunk] = next.received;
    await check({
      dataDir,
      out: chunk && { bytes: await next.read(chunk), manifest: chunk.manifest },
      failures,
      health: (await request(app).get('/health')).status,
      trace: traces[0],
      files: await regularFiles(dataDir),
    });
  } finally {
    restoreTmp();
    await next.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function regularFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  const files: string[] = [];
  for (const name of names) if ((await lstat(join(dir, name))).isFile()) files.push(join(dir, name));
  return files;
}

/** md5 of every decoded picture (ffmpeg framemd5): equal lists = the same picture, whatever the muxer wrote. */
function frameHashes(mkv: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-map', '0:v:0', '-f', 'framemd5', '-'], { maxBuffer: 16 << 20 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').pop()!.trim())),
    );
    child.stdin!.end(mkv);
  });
}

/** The plain-file grade of the same LUT bytes (the reference picture and parameters). */
async function plainGrade(picture: Buffer, lut: Buffer): Promise<{ bytes: Buffer; parameters: JobParameters }> {
  const dir = await mkdtemp(join(tmpdir(), 'color-plain-'));
  try {
    await writeFile(join(dir, 'look.cube'), lut);
    const out = new PassThrough();
    const [{ parameters }, bytes] = await Promise.all([traceJob(() => grade(() => Readable.from([picture]), out, { lutPath: join(dir, 'look.cube'), intermediate: workflow.media.intermediate })), buffer(out)]);
    return { bytes, parameters };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('color app, sealed mode (KMS-sealed stores, as deployed)', () => {
  it('grades with the LUT opened from its sealed asset store through a FIFO: same picture as a plain-file grade, LUT digest and stable FIFO name in the signed record, no plaintext LUT on disk', async () => {
    const { picture } = await makeChunks(workflow);
    await runSealed(picture, { sealLut: SPEC_LUT }, async ({ out, failures, trace, files, dataDir }) => {
      expect(failures).toEqual([]);
      const reference = await plainGrade(picture, SPEC_LUT);
      traces.length = 0;

      // (a) Graded with the sealed LUT: the picture the plain-file grade of the same bytes gives, not the input.
      const frames = await frameHashes(out!.bytes);
      expect(frames).toHaveLength(50);
      expect(frames).toEqual(await frameHashes(reference.bytes));
      expect(frames).not.toEqual(await frameHashes(picture));

      // (b) The job's parameters name the LUT by its digest (computed here from the bytes) and the
      // FIFO by the stable name a plain file gets, so two runs of the same grade record the same thing.
      expect(trace!.assets).toEqual({ lut: { sha256: sha256(SPEC_LUT) } });
      expect(trace!.invocations.map((i) => i.name)).toEqual(['grade']);
      const { args } = trace!.invocations[0];
      expect(args[args.indexOf('-vf') + 1]).toMatch(/lut3d=file=(\\')?lut\.cube(\\')?:interp=tetrahedral,scale=out_color_matrix=bt709:out_range=tv:flags=[^,]+,format=yuv420p10le$/);
      expect(JSON.stringify(trace)).not.toMatch(/reelmesh-fifo-|grade\.cube|color-sealed-/);
      expect(trace).toEqual(reference.parameters);
      // ...and that is what color signed: its record (verified back to the owner's source step) commits to them.
      const chain = verifyHandoffProvenance(out!.manifest.provenance, { step: NEXT_STEP, artifact: 'picture', chunkIndex: 0, sha256: sha256(out!.bytes) }, workflow, ca.bundlePem);
      const gradeRecord = chain.records.find((r) => r.statement.predicate.step === STEP.name)!;
      expect(gradeRecord.signer).toBe(spiffeId(workflow, AGENT));
      expect(gradeRecord.statement.predicate.parameters.digest.sha256).toBe(parametersDigest({ job: 'grade', ...trace }));

      // (c) Nothing under the agent's data dir (its temp dir included) holds the LUT in clear; the
      // sealed LUT is there, and the FIFO's private dir is gone.
      const assetFiles = files.filter((f) => f.startsWith(join(dataDir, 'assets')));
      expect(assetFiles.map((f) => basename(f))).toEqual([basename(LUT_KEY)]);
      for (const file of files) expect((await readFile(file)).includes('LUT_3D_SIZE'), file).toBe(false);
      expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
    });
  }, 90_000);

  it('fails the job naming the path when the LUT is neither in the asset store nor at lutPath; seals nothing, keeps serving', async () => {
    const { picture } = await makeChunks(workflow);
    await runSealed(picture, { lutPath: '/nonexistent/look.cube' }, async ({ out, failures, health, files, dataDir }) => {
      expect(out).toBeUndefined(); // nothing handed on
      expect(health).toBe(200);
      expect(failures).toHaveLength(1);
      expect(failures[0].step).toBe(STEP.name);
      expect(failures[0].message).toMatch(/nonexistent\/look\.cube/);
      expect(files.filter((f) => f.startsWith(join(dataDir, 'assets')))).toEqual([]);
    });
  }, 90_000);
});

describe('color app, no asset store (runAppOnce: plain-file branch)', () => {
  it(`grades with the LUT file at lutPath and hands to the next agent (${NEXT_AGENT})`, async () => {
    const { picture } = await makeChunks(workflow);
    const dir = await mkdtemp(join(tmpdir(), 'color-lut-'));
    try {
      await writeFile(join(dir, 'look.cube'), SPEC_LUT);
      const out = await runAppOnce({ workflow, agent: AGENT, step: STEP.name, artifact: 'picture', input: picture, createApp, configure: (c) => (c.lutPath = join(dir, 'look.cube')) });
      expect(Object.keys(out), `what ${AGENT} handed on, by agent`).toEqual([NEXT_AGENT]);
      const reference = await plainGrade(picture, SPEC_LUT);
      expect(await frameHashes(out[NEXT_AGENT])).toEqual(await frameHashes(reference.bytes));
      expect(await frameHashes(out[NEXT_AGENT])).not.toEqual(await frameHashes(picture));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('fails the job clearly when the LUT file is missing, and keeps serving', async () => {
    const { picture } = await makeChunks(workflow);
    let seen: { failures: Array<{ step: string; message: string }>; health: number } | undefined;
    const out = await runAppOnce({
      workflow,
      agent: AGENT,
      step: STEP.name,
      artifact: 'picture',
      input: picture,
      createApp,
      configure: (c) => (c.lutPath = '/nonexistent/look.cube'),
      onFailure: (failures, health) => (seen = { failures, health }),
    });
    expect(out).toEqual({}); // nothing handed on
    expect(seen!.health).toBe(200);
    expect(seen!.failures[0].step).toBe(STEP.name);
    expect(seen!.failures[0].message).toMatch(/nonexistent\/look\.cube/);
  }, 90_000);
});
