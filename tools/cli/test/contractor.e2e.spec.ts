// The promise behind `reelmesh contractor add`: in a copy of this repository, one command adds a
// contractor between two steps of the shipped film workflow, and then, with no hand edit, lint,
// typecheck, `gen --check`, the mesh's access matrix and a short film all pass, the film carrying
// the contractor's work; `contractor remove` then gives back the tree byte for byte.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handoffPath } from '@reelmesh/addressing';
import { ffmpegPath } from '@reelmesh/media';
import { REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';
import { unusedName } from '@reelmesh/plugin/testing';
import { lastJsonLine } from './helpers';
import type { VerifyReport } from '../src/verify-matrix';

const exec = promisify(execFile);
const NAME = unusedName('wm');
// A 48x48 black box in the bottom-right corner: 10-bit safe (geq), and black is far below MaxCLL.
const FILTER = "geq=lum='if(gt(X,W-49)*gt(Y,H-49),64,lum(X,Y))':cb='cb(X,Y)':cr='cr(X,Y)'";

/** path -> sha256 of every file under `root` but node_modules, .nx, dist and out. */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', '.nx', 'dist', 'out', '.git'].includes(entry.name) && dir === root) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(root, path), lstatSync(path).isSymbolicLink() ? 'link' : createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(root);
  return files;
}

function run(cwd: string, command: string, args: string[], timeoutMs = 600_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Mean 10-bit luma of a region of the first frame of a file, after converting it to yuv420p10le. */
async function regionLuma(file: string, crop: string): Promise<number> {
  const { stderr } = await exec(ffmpegPath(), ['-hide_banner', '-i', file, '-map', '0:v:0', '-frames:v', '1', '-vf', `format=yuv420p10le,crop=${crop},signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG`, '-f', 'null', '-']);
  const match = /lavfi\.signalstats\.YAVG=([\d.]+)/.exec(stderr);
  if (!match) throw new Error(`no luma measured in ${file}: ${stderr.slice(-400)}`);
  return Number(match[1]);
}

describe('reelmesh contractor add: a new contractor in one command, proven end to end in a copy of the repository', () => {
  // This test is about the shipped film workflow: the contractor goes between the step that hands
  // the final picture on and the sink (after HDR mastering, where the picture rules are strictest).
  const workflow = loadWorkflow();
  const sink = workflow.steps.find((s) => s.sink)!;
  const edge = workflow.edges.find((e) => e.to === sink.name && e.artifact === 'picture');
  const root = mkdtempSync(join(tmpdir(), 'reelmesh-contractor-'));
  const copy = join(root, 'repo');
  const out = join(root, 'out');
  const cli = (...args: string[]) => run(copy, process.execPath, [join(copy, 'tools/cli/bin/reelmesh.mjs'), ...args]);
  let before: Map<string, string>;
  let added: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    if (!edge) throw new Error(`the shipped workflow has no picture edge into its sink ${sink.name}: this test places the contractor there`);
    const { stdout } = await exec('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
    for (const file of stdout.split('\0').filter(Boolean)) {
      if (!existsSync(join(REPO_ROOT, file))) continue; // deleted in the working tree
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      cpSync(join(REPO_ROOT, file), join(copy, file), { verbatimSymlinks: true });
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'));
    before = snapshot(copy);
    added = await cli('contractor', 'add', NAME, '--after', edge.from, '--before', edge.to, '--artifact', edge.artifact, '--filter', FILTER);
  }, 300_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('adds the contractor: workflow entries, its app and every generated file', () => {
    expect(added.code, added.stderr).toBe(0);
    const after = loadWorkflow(join(copy, 'policies/workflow.yaml'));
    expect(after.agents.find((a) => a.name === NAME)).toMatchObject({ app: NAME });
    expect(after.edges).toContainEqual({ from: edge!.from, to: NAME, artifact: edge!.artifact });
    expect(after.edges).toContainEqual({ from: NAME, to: edge!.to, artifact: edge!.artifact });
    expect(after.edges).not.toContainEqual(edge);
    expect(after.jobs).toContainEqual({ name: NAME, filter: FILTER });
    for (const file of ['project.json', 'src/main.ts', 'src/index.ts', 'src/app.ts', 'src/app.spec.ts']) expect(existsSync(join(copy, 'apps', NAME, file)), file).toBe(true);
    expect(existsSync(join(copy, `docker/${NAME}.Dockerfile`))).toBe(true);
  });

  it('passes lint, typecheck and gen --check with no hand edit', async () => {
    const lint = await run(copy, 'npm', ['run', 'lint']);
    expect(lint.code, `${lint.stdout}\n${lint.stderr}`).toBe(0);
    const typecheck = await run(copy, process.execPath, [join(copy, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']);
    expect(typecheck.code, typecheck.stdout).toBe(0);
    const check = await cli('gen', '--check');
    expect(check.code, `${check.stdout}\n${check.stderr}`).toBe(0);
  }, 600_000);

  it('reelmesh verify: the new edges are allowed, the replaced edge is denied, nothing unexpected', async () => {
    const result = await cli('verify', '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = lastJsonLine<VerifyReport>(result.stdout);
    expect(report.unexpectedAllows).toBe(0);
    expect(report.unexpectedDenies).toBe(0);
    const agentOf = (step: string) => workflow.steps.find((s) => s.name === step)!.agent;
    const row = (source: string, destination: string, step: string) =>
      report.rows.find((r) => r.source === source && r.destination === destination && r.method === 'POST' && r.path === handoffPath({ workflowId: workflow.metadata.id, step, artifact: edge!.artifact, chunkIndex: 0 }));
    expect(row(agentOf(edge!.from), NAME, NAME)?.actual).toBe('allow');
    expect(row(NAME, agentOf(edge!.to), edge!.to)?.actual).toBe('allow');
    expect(row(agentOf(edge!.from), agentOf(edge!.to), edge!.to)).toMatchObject({ expected: 'deny', actual: 'deny' });
  }, 600_000);

  it('a short demo delivers the film with the contractor’s work in it', async () => {
    const result = await cli('demo', '--duration', '2', '--sample-size', '320x180', '--out', out, '--json', '--clean');
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const summary = lastJsonLine<{ deliverable: string; input: string; steps: Record<string, number> }>(result.stdout);
    expect(Object.keys(summary.steps)).toContain(NAME);
    // The box: black (10-bit code 64) in the deliverable, bright in the master; beside it, picture.
    expect(await regionLuma(summary.input, '48:48:272:132')).toBeGreaterThan(400);
    expect(await regionLuma(summary.deliverable, '40:40:276:136')).toBeLessThan(100);
    expect(await regionLuma(summary.deliverable, '48:48:208:132')).toBeGreaterThan(150);
    // The contractor's step is in the deliverable's signed provenance.
    const chunk = readFileSync(join(out, 'provenance', readdirSync(join(out, 'provenance')).sort()[0]), 'utf8');
    const payloads = [...chunk.matchAll(/"payload":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1], 'base64').toString('utf8'));
    expect(payloads.length).toBeGreaterThan(0);
    expect(payloads.some((payload) => new RegExp(`"step":\\s*"${NAME}"`).test(payload))).toBe(true);
  }, 600_000);

  it('reelmesh contractor remove gives back the tree byte for byte', async () => {
    const removed = await cli('contractor', 'remove', NAME);
    expect(removed.code, removed.stderr).toBe(0);
    const after = snapshot(copy);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((file) => before.get(file) !== after.get(file));
    expect(changed).toEqual([]);
  }, 300_000);
});
