import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationPathOf, type AuditEntry } from '@reelmesh/provenance';
import { loadWorkflow } from '@reelmesh/workflow';
import { verifyRunLedger } from '../src/commands/provenance';
import { CHAOS_KINDS, type ChaosReport } from '../src/chaos';
import { ffprobeJson, lastJsonLine, processesUsing, reelmesh } from './helpers';
import { scanForPlaintext } from './scan';

// A run survives any crash (docs/crash-recovery.md): every process of the mesh killed -9 through
// the run, and the CLI itself killed and the run resumed, each against an undisturbed run of the
// same master in this file. Derived from the loaded workflow: no agent or edge is named here.

interface Summary {
  deliverable: string;
  input: string;
  chunks: number;
  dataRoot: string;
  runDir: string;
  caBundle: string;
  restarts: Record<string, number>;
  resumed: { done: number; resent: number; rescheduled: number; redispatched: number };
  chaos?: ChaosReport;
}

const DURATION = 7; // 4 chunks
const workflow = loadWorkflow();

/** Each chunk's attested outputs (edge -> sha256), in the attestation's order. */
async function attestedChunks(deliverable: string): Promise<Array<{ chunkIndex: number; outputs: Record<string, string> }>> {
  const line = JSON.parse((await readFile(attestationPathOf(deliverable), 'utf8')).trim()) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(line.dsseEnvelope.payload, 'base64').toString('utf8')) as {
    predicate: { chunks: Array<{ chunkIndex: number; records: Array<{ step: string; artifact: string; digest: { sha256: string } }> }> };
  };
  return statement.predicate.chunks.map((c) => ({ chunkIndex: c.chunkIndex, outputs: Object.fromEntries(c.records.map((r) => [`${r.step}/${r.artifact}`, r.digest.sha256])) }));
}

/** The checks every finished run must pass, however it got there. */
async function expectIntact(run: Summary, baseline: Summary): Promise<void> {
  // The deliverable is complete: every frame of the master.
  const count = async (file: string) => Number((await ffprobeJson(file, ['-count_frames', '-select_streams', 'v:0', '-show_streams'])).streams[0].nb_read_frames);
  expect(await count(run.deliverable)).toBe(await count(run.input));
  // Every chunk exactly once, in order, in the owner's attestation...
  const chunks = await attestedChunks(run.deliverable);
  expect(chunks.map((c) => c.chunkIndex)).toEqual(Array.from({ length: baseline.chunks }, (_, i) => i));
  // ...and checked by the tools a studio would run.
  const verify = await reelmesh(['verify', run.deliverable, '--ca', run.caBundle]);
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  const audit = await reelmesh(['audit', 'verify', run.runDir, '--ca', run.caBundle]);
  expect(audit.code, audit.stdout + audit.stderr).toBe(0);
  // In the ledger, every receipt of every chunk by every step exactly once (and none missing).
  const receipts = new Map<string, number>();
  const report = await verifyRunLedger(run.runDir, {
    workflow,
    caBundle: await readFile(run.caBundle, 'utf8'),
    onEntry: (entry: AuditEntry) => {
      const e = entry.event as { type?: string; step?: string; artifact?: string; chunk?: number };
      if (e.type === 'handoff-received') receipts.set(`${e.step}/${e.artifact}#${e.chunk}`, (receipts.get(`${e.step}/${e.artifact}#${e.chunk}`) ?? 0) + 1);
    },
  });
  expect(report.ok).toBe(true);
  const expected = workflow.edges.flatMap((edge) => Array.from({ length: baseline.chunks }, (_, i) => `${edge.to}/${edge.artifact}#${i}`)).sort();
  expect([...receipts.keys()].sort()).toEqual(expected);
  expect([...receipts.values()].every((n) => n === 1)).toBe(true);
  // Nothing in clear on any volume, whatever was interrupted.
  expect((await scanForPlaintext(run.dataRoot)).findings).toEqual([]);
}

describe('a run survives any crash', () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-crash-'));
  let baseline: Summary;

  beforeAll(async () => {
    const result = await reelmesh(['demo', '--duration', String(DURATION), '--out', join(out, 'baseline'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    baseline = lastJsonLine<Summary>(result.stdout);
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('kill -9 of a random process every few seconds (every kind at least once): the run delivers, intact', async () => {
    // A kill every 2 s hits the five kinds within 10 s of a run that lasts 15-30 s: every 4 s left
    // the apps unkilled on a machine that delivered the 4 chunks in 18 s.
    const result = await reelmesh(['demo', '--input', baseline.input, '--out', join(out, 'chaos'), '--chaos-every', '2', '--chaos-seed', '15', '--json']);
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const run = lastJsonLine<Summary>(result.stdout);
    // Every kind of process was killed, and every kill was survived by a restart.
    for (const kind of CHAOS_KINDS) expect(run.chaos!.byKind[kind], `${kind} never killed`).toBeGreaterThanOrEqual(1);
    for (const kill of run.chaos!.kills) expect(run.restarts[kill.name], `${kill.name} was killed, never restarted`).toBeGreaterThanOrEqual(1);
    expect(result.stderr).toMatch(/exited \(SIGKILL\): restarting it/);
    await expectIntact(run, baseline);
  }, 900_000);

  it('the CLI killed mid-run: --resume continues from the run folder, redoing nothing finished; same chunks as an undisturbed run', async () => {
    let stderr = '';
    let cli = 0;
    const first = reelmesh(['demo', '--input', baseline.input, '--out', join(out, 'resumed'), '--json'], {
      onSpawn: (pid) => (cli = pid),
      onStderr: (chunk) => (stderr += chunk),
    });
    // Kill the CLI once some step has finished a chunk, well before the deliverable.
    const bounded = Date.now() + 600_000;
    while (!/: [1-9]\d*\/\d+ chunks/.test(stderr) && Date.now() < bounded) await sleep(100);
    process.kill(cli, 'SIGKILL');
    await first;
    const runDir = /run folder: (\S+)/.exec(stderr)![1];
    // Its processes follow it: each sees its parent gone, drains (an outage is no longer waited
    // out: what it could not hand on is in its volume) and exits.
    const gone = Date.now() + 90_000;
    while (processesUsing(join(runDir, 'data')).length > 0 && Date.now() < gone) await sleep(200);
    expect(processesUsing(join(runDir, 'data'))).toEqual([]);

    const resumed = await reelmesh(['demo', '--resume', runDir, '--json']);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    const run = lastJsonLine<Summary>(resumed.stdout);
    expect(run.runDir).toBe(runDir);
    // Work finished before the kill was taken up, not done again.
    expect(run.resumed.done).toBeGreaterThan(0);
    await expectIntact(run, baseline);
    // Jobs run again where the first run stopped are the same jobs on the same inputs: every chunk
    // the owner assembled is the one an undisturbed run assembled.
    expect(await attestedChunks(run.deliverable)).toEqual(await attestedChunks(baseline.deliverable));
  }, 900_000);

  it('refuses to resume what is not a run of this workflow, in one line, touching nothing', async () => {
    const notARun = await reelmesh(['demo', '--resume', out]);
    expect(notARun.code).toBe(1);
    expect(notARun.stderr.trim()).toBe(`reelmesh: error: ${out} is not a ReelMesh run folder (no run.json); pass the folder a demo printed as its run folder`);

    const runDir = baseline.runDir;
    const manifest = join(runDir, 'run.json');
    const original = await readFile(manifest, 'utf8');
    await writeFile(manifest, original.replace(/"workflowDigest": "[0-9a-f]+"/, `"workflowDigest": "${'0'.repeat(64)}"`));
    const other = await reelmesh(['demo', '--resume', runDir]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/is a run of workflow \S+ \(sha256 000000000000…\), but the workflow now is \S+ \(sha256 [0-9a-f]{12}…\): resume it with the workflow file it was started with/);
    expect(processesUsing(baseline.dataRoot)).toEqual([]);
    await writeFile(manifest, original);
  });
});
