// Smoke test of `reelmesh bench --quick`: the real CLI runs every suite and writes a well-formed
// report. It checks shape, never timings (figures on a shared CI box mean nothing).
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJsonLine, reelmesh, type CliResult } from './helpers';

interface Summary {
  mode: string;
  startup: { withPolicyMs: number; withoutPolicyMs: number; overheadPct: number; p: number };
  request: { levels: Array<{ level: string; n: number; p50Ms: number; p95Ms: number; p99Ms: number }>; anova: { F: number; p: number; etaSq: number } };
  security: { ratio: number; ciLow: number; ciHigh: number };
  provenance: { signMsPerRecord: number; verifyChainMsPerChunk: number; totalMsPerChunk: number; ratio: number; ciLow: number; ciHigh: number; inRunSharePct: number; baselineRecordsSigned: number };
  workflow: { wallSeconds: number; pipelineRatio: number; rssRatio: number; steps: Record<string, number>; ffmpeg: { path: string; version: string } };
  envelope: { sealMBps: number; openMBps: number; rawSealMBps: number; rawOpenMBps: number; rss: { ratio: number }; kmsCallsPerChunk: number };
  mesh: { throughputRatio: number };
  targets: Array<{ name: string; met: boolean | null }>;
}

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

describe('reelmesh bench --quick', () => {
  let out: string;
  let result: CliResult;
  let summary: Summary;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'reelmesh-bench-smoke-'));
    result = await reelmesh(['bench', '--quick', '--json', '--out', out]);
    if (result.code !== 0) throw new Error(`bench exited ${result.code}:\n${result.stderr}`);
    summary = lastJsonLine<Summary>(result.stdout);
  }, 600_000); // the quick bench itself takes ~2 min alone; CI runs it beside other test files on 2 cores

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('prints the summary with every required figure as the last stdout line', () => {
    expect(summary.mode).toBe('quick');
    for (const k of ['withPolicyMs', 'withoutPolicyMs', 'overheadPct', 'p'] as const) expect(finite(summary.startup[k]), `startup.${k}`).toBe(true);
    expect(summary.request.levels.map((l) => l.level)).toEqual(['direct', 'pair', 'allow-all', 'minimal', '+100', '+1000', '+10000']);
    for (const l of summary.request.levels) {
      expect(l.n).toBeGreaterThan(0);
      expect(l.p50Ms).toBeGreaterThan(0);
      expect(l.p95Ms).toBeGreaterThanOrEqual(l.p50Ms);
      expect(l.p99Ms).toBeGreaterThanOrEqual(l.p95Ms);
    }
    for (const k of ['F', 'p', 'etaSq'] as const) expect(finite(summary.request.anova[k]), `anova.${k}`).toBe(true);
    expect(summary.security.ciLow).toBeLessThanOrEqual(summary.security.ratio);
    expect(summary.security.ciHigh).toBeGreaterThanOrEqual(summary.security.ratio);
    for (const k of ['signMsPerRecord', 'verifyChainMsPerChunk', 'totalMsPerChunk', 'ratio'] as const) expect(summary.provenance[k], `provenance.${k}`).toBeGreaterThan(0);
    // Measured inside a real run with provenance on: some CPU was spent, a share of wall time.
    expect(summary.provenance.inRunSharePct).toBeGreaterThan(0);
    expect(summary.provenance.inRunSharePct).toBeLessThan(100);
    expect(summary.provenance.baselineRecordsSigned).toBe(0); // the baseline really signed nothing
    expect(summary.workflow.wallSeconds).toBeGreaterThan(0);
    expect(Object.keys(summary.workflow.steps).sort()).toEqual(['color', 'hdr', 'owner', 'sound', 'vfx-1', 'vfx-2', 'vfx-3']);
    expect(summary.workflow.ffmpeg.version).not.toBe('');
    for (const k of ['sealMBps', 'openMBps', 'rawSealMBps', 'rawOpenMBps', 'kmsCallsPerChunk'] as const) expect(finite(summary.envelope[k]), `envelope.${k}`).toBe(true);
    expect(finite(summary.envelope.rss.ratio)).toBe(true);
    expect(finite(summary.mesh.throughputRatio)).toBe(true);
    expect(summary.targets.length).toBeGreaterThanOrEqual(10);
    expect(summary.targets.map((t) => t.name)).toContain('whole-workflow cost of provenance');
  });

  it('writes report.json with the config, the summary, the targets and the raw observations', async () => {
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['generatedAt', 'mode', 'machine', 'config', 'summary', 'targets', 'raw']));
    expect(report.summary).toEqual(summary);
    expect(Object.keys(report.raw).sort()).toEqual(['envelope', 'mesh', 'provenance', 'request', 'security', 'startup', 'workflow']);
    expect(report.raw.request.samples['+10000'].length).toBe(summary.request.levels[6].n);
  });

  it('writes report.md with the targets table, a section per suite and the plots it embeds', async () => {
    const md = await readFile(join(out, 'report.md'), 'utf8');
    for (const heading of ['## Targets', '## Pod start-up', '## Request duration by policy level', '## Security on vs off', '## Signed provenance', '## Workflow end to end', '## Envelope encryption', '## Mesh and policy micro-benchmarks']) {
      expect(md).toContain(heading);
    }
    expect(md).toMatch(/\| measure \| target \| ours \| verdict \| reference \| source \|/);
    expect(md).toMatch(/\| (met|NOT met|not measured) \|/);
    expect(md).toContain('+32.7%'); // the paper's start-up figure beside ours
    const embedded = [...md.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]).sort();
    expect(embedded).toEqual(['request.svg', 'security.svg', 'startup.svg']);
  });

  it('writes each plot as a well-formed SVG document with marks for the observations', async () => {
    const svgs = (await readdir(out)).filter((f) => f.endsWith('.svg')).sort();
    expect(svgs).toEqual(['request.svg', 'security.svg', 'startup.svg']);
    for (const name of svgs) {
      const text = await readFile(join(out, name), 'utf8');
      expect(XMLValidator.validate(text), name).toBe(true);
      const doc = new XMLParser({ ignoreAttributes: false }).parse(text);
      expect(doc.svg?.['@_xmlns'], name).toBe('http://www.w3.org/2000/svg');
      expect(text, name).toMatch(/class="mark-symbol role-mark/); // the observations
      expect(text, name).toMatch(/class="mark-rect role-mark/); // the boxes
    }
  });

  it('refuses an --out that is a file, and an unknown suite, with a clear error', async () => {
    const file = join(out, 'not-a-dir');
    await writeFile(file, 'x');
    const asFile = await reelmesh(['bench', '--quick', '--only', 'mesh', '--out', file]);
    expect(asFile.code).toBe(1);
    expect(asFile.stderr).toMatch(/not a directory/);
    const unknown = await reelmesh(['bench', '--quick', '--only', 'nope', '--out', out]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--only .*unknown: nope/);
  });
});
