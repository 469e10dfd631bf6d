// Smoke test of `reelmesh bench --quick`: the real CLI runs every suite but `quality` and `chaos`
// (the chaos run itself is tools/cli/test/crash.e2e.spec.ts; here its report part) and writes a
// well-formed report. It checks shape, never timings (figures on a shared CI box mean nothing).
// The quality suite runs the secure workflow and two single-process renders once per ffmpeg build
// (several minutes even quick), so here only its pure parts run: the data-root classification, the
// build choice, the env restore and its part of the report, on a synthetic result.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderMarkdown } from '@reelmesh/bench';
import { loadWorkflow } from '@reelmesh/workflow';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUITES, benchConfig, parseSuites } from '../src/bench/config';
import { buildsToMeasure, classifyStored, perMinuteOfFilm, qualityVerdicts, storedChunkBytes, withReelmeshFfmpeg, type BuildQuality, type QualityResult } from '../src/bench/quality';
import { buildReport } from '../src/bench/report';
import { lastJsonLine, reelmesh, type CliResult } from './helpers';

interface Summary {
  mode: string;
  startup: { withPolicyMs: number; withoutPolicyMs: number; overheadPct: number; p: number };
  meshReady: { bundleMs: number; sourceMs: number; ratio: number; pods: number };
  watch: { agentsCpuMsPerMinute: { polled: number; streamed: number }; watcherCpuMsPerMinute: { polled: number; streamed: number }; agentsRatio: number; watcherRatio: number; rounds: number };
  request: { levels: Array<{ level: string; n: number; p50Ms: number; p95Ms: number; p99Ms: number }>; anova: { F: number; p: number; etaSq: number } };
  security: { ratio: number; ciLow: number; ciHigh: number };
  provenance: {
    signMsPerRecord: number; verifyChainMsPerChunk: number; totalMsPerChunk: number; ratio: number; ciLow: number; ciHigh: number; inRunSharePct: number; baselineRecordsSigned: number;
    attestationSignMsPerGiB: number; attestationVerifyMsPerGiB: number; attestationSharePct: number;
  };
  workflow: { wallSeconds: number; pipelineRatio: number; rssRatio: number; steps: Record<string, number>; ffmpeg: { path: string; version: string } };
  envelope: { sealMBps: number; openMBps: number; rawSealMBps: number; rawOpenMBps: number; sealToFile: { cpuRatio: number; wallRatio: number }; rss: { ratio: number }; kmsCallsPerChunk: number };
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
    // Two start-up rounds, not the quick run's one: --startup-rounds is seen to take effect.
    result = await reelmesh(['bench', '--quick', '--json', '--startup-rounds', '2', '--only', SUITES.filter((s) => s !== 'quality' && s !== 'chaos').join(','), '--out', out]);
    if (result.code !== 0) throw new Error(`bench exited ${result.code}:\n${result.stderr}`);
    summary = lastJsonLine<Summary>(result.stdout);
  }, 1_200_000);
  // A budget, not a speed check (speed is `reelmesh bench`'s job): the quick bench takes ~2 min alone on
  // the shipped workflow and runs beside other test files on 2 cores in CI. It runs the whole
  // workflow several times, so every contractor added to the workflow adds its job to each run:
  // one filter contractor after hdr (a second HEVC encode) made it 6.6 min alone.

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('prints the summary with every required figure as the last stdout line', () => {
    expect(summary.mode).toBe('quick');
    for (const k of ['withPolicyMs', 'withoutPolicyMs', 'overheadPct', 'p'] as const) expect(finite(summary.startup[k]), `startup.${k}`).toBe(true);
    // The whole mesh was started both ways (built bundles, and source through tsx), every pod of the workflow.
    for (const k of ['bundleMs', 'sourceMs', 'ratio'] as const) expect(summary.meshReady[k], `meshReady.${k}`).toBeGreaterThan(0);
    expect(summary.meshReady.pods).toBe(loadWorkflow().agents.length);
    // Watching that mesh both ways was measured (CPU read from /proc: Linux, as CI is).
    expect(summary.watch.rounds).toBe(1);
    for (const way of ['polled', 'streamed'] as const) {
      expect(summary.watch.agentsCpuMsPerMinute[way], `watch.agents.${way}`).toBeGreaterThan(0);
      expect(finite(summary.watch.watcherCpuMsPerMinute[way]), `watch.watcher.${way}`).toBe(true);
    }
    expect(summary.watch.agentsRatio).toBeCloseTo(summary.watch.agentsCpuMsPerMinute.streamed / summary.watch.agentsCpuMsPerMinute.polled, 6);
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
    // The deliverable's attestation: measured per GiB, set against the secure runs' wall time.
    expect(summary.provenance.attestationSignMsPerGiB).toBeGreaterThan(0);
    expect(summary.provenance.attestationVerifyMsPerGiB).toBeGreaterThan(0);
    expect(summary.provenance.attestationSharePct).toBeGreaterThan(0);
    expect(summary.provenance.attestationSharePct).toBeLessThan(100);
    expect(summary.workflow.wallSeconds).toBeGreaterThan(0);
    expect(Object.keys(summary.workflow.steps).sort()).toEqual(loadWorkflow().agents.map((a) => a.name).sort());
    expect(summary.workflow.ffmpeg.version).not.toBe('');
    for (const k of ['sealMBps', 'openMBps', 'rawSealMBps', 'rawOpenMBps', 'kmsCallsPerChunk'] as const) expect(finite(summary.envelope[k]), `envelope.${k}`).toBe(true);
    expect(finite(summary.envelope.rss.ratio)).toBe(true);
    expect(finite(summary.envelope.sealToFile.cpuRatio) && finite(summary.envelope.sealToFile.wallRatio), 'envelope.sealToFile').toBe(true);
    expect(finite(summary.mesh.throughputRatio)).toBe(true);
    expect(summary.targets.length).toBeGreaterThanOrEqual(10);
    expect(summary.targets.map((t) => t.name)).toContain('whole-workflow cost of provenance');
    expect(summary.targets.map((t) => t.name)).toContain('deliverable attestation (owner signs, `reelmesh verify` checks)');
  });

  it('writes report.json with the config, the summary, the targets and the raw observations', async () => {
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['generatedAt', 'mode', 'machine', 'config', 'summary', 'targets', 'raw']));
    expect(report.summary).toEqual(summary);
    expect(Object.keys(report.raw).sort()).toEqual(['envelope', 'mesh', 'provenance', 'request', 'security', 'startup', 'workflow']);
    expect(report.raw.request.samples['+10000'].length).toBe(summary.request.levels[6].n);
    expect(report.config.startupRounds).toBe(2);
    const perAgent = Object.values(report.raw.startup.withPolicy as Record<string, number[]>);
    expect(perAgent.length).toBeGreaterThan(0);
    for (const observations of [...perAgent, ...Object.values(report.raw.startup.withoutPolicy as Record<string, number[]>)]) expect(observations).toHaveLength(2);
    // Polled: every agent asked 5 times a second through the phase; streamed: every agent's stream
    // opened and its status received (the first message comes at once).
    const watch = report.raw.startup.watch as { secondsPerPhase: number; agents: number; polled: { requests: number[] }; streamed: { messages: number[] } };
    expect(watch.agents).toBe(perAgent.length);
    expect(watch.polled.requests[0]).toBeGreaterThanOrEqual(watch.agents * Math.floor((watch.secondsPerPhase * 1000) / 200 - 2));
    expect(watch.streamed.messages[0]).toBeGreaterThanOrEqual(watch.agents);
  });

  it('writes report.md with the targets table, a section per suite and the plots it embeds', async () => {
    const md = await readFile(join(out, 'report.md'), 'utf8');
    for (const heading of ['## Targets', '## Pod start-up', '## Watching a run: status polled vs streamed', '## Request duration by policy level', '## Security on vs off', '## Signed provenance', '## Workflow end to end', '## Envelope encryption', '## Mesh and policy micro-benchmarks']) {
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
    const rounds = await reelmesh(['bench', '--quick', '--startup-rounds', '0', '--out', out]);
    expect(rounds.code).toBe(1);
    expect(rounds.stderr).toMatch(/--startup-rounds takes a whole number from 1 to 10000, got "0"/);
  });
});

/** A measured build as the quality suite returns it (figures made up, shaped like a real run). */
function build(label: 'system' | 'bundled', over: { gap?: number; lufs?: number; peak?: number; frames?: number; extra?: number; wall?: number } = {}): BuildQuality {
  const quality = (y: number) => ({ psnr: { y, u: y + 2, v: y + 3 }, ssim: { y: 0.99, u: 0.995, v: 0.996 } });
  return {
    build: { label, source: label === 'system' ? 'path' : 'bundled', path: `/bin/${label}`, version: label === 'system' ? '5.1.9' : 'N-47683-g0e8eb07980-static' },
    chunks: 30,
    wallSeconds: over.wall ?? 100,
    referenceSeconds: { final: 50, lossless: 40 },
    picture: { deliverable: quality(45 - (over.gap ?? 0.1)), finalReference: quality(45) },
    loudness: {
      master: { integratedLufs: -14.2, lraLu: 9.5, truePeakDbtp: -0.4 },
      deliverable: { integratedLufs: over.lufs ?? -23.1, lraLu: 8.9, truePeakDbtp: over.peak ?? -1.3 },
      finalReference: { integratedLufs: -23, lraLu: 9, truePeakDbtp: -1.2 },
    },
    frames: { master: 1500, deliverable: over.frames ?? 1500, losslessReference: 1500 },
    samples: { master: 2_880_000, deliverable: 2_880_000 + (over.extra ?? 1024) },
    bytes: { deliverable: 30e6, atRest: { bytes: 3e9, objects: 360 }, throughMesh: { bytes: 2e9, objects: 240, byArtifact: { av: 1e8, picture: 1.8e9, sound: 1e8 } } },
  };
}

describe('the quality suite, without running it (too long for CI)', () => {
  it('is a suite of its own, picked with --only, and shorter when quick', () => {
    expect(SUITES).toContain('quality');
    expect(parseSuites('quality')).toEqual(['quality']);
    expect(benchConfig(false).qualitySeconds).toBe(60);
    expect(benchConfig(true).qualitySeconds).toBeLessThan(benchConfig(false).qualitySeconds);
  });

  it('tells received handoffs from outputs in a data root, and skips slot records and assets', async () => {
    expect(classifyStored('vfx-2/feature-film/picture-fx/picture/00003.mkv')).toBe('received');
    expect(classifyStored('vfx-2/feature-film/picture-fx/out/picture/00003.mkv')).toBe('output');
    expect(classifyStored('owner/feature-film/split/out/av/00000.mkv')).toBe('output');
    expect(classifyStored('vfx-2/handoff-slots/feature-film/picture-fx/picture/00003.json')).toBe('other');
    expect(classifyStored('color/assets/lut/film-look.cube')).toBe('other');
    expect(classifyStored('vfx-2/feature-film/picture-fx/picture/.partial-00003.mkv.ab12')).toBe('other');
    const root = await mkdtemp(join(tmpdir(), 'reelmesh-quality-'));
    try {
      const put = async (rel: string, bytes: number) => {
        await mkdir(join(root, rel, '..'), { recursive: true });
        await writeFile(join(root, rel), Buffer.alloc(bytes));
      };
      await put('owner/feature-film/split/out/av/00000.mkv', 100);
      await put('vfx-1/feature-film/demux/av/00000.mkv', 110);
      await put('vfx-1/feature-film/demux/out/picture/00000.mkv', 70);
      await put('vfx-2/feature-film/picture-fx/picture/00000.mkv', 80);
      await put('vfx-2/handoff-slots/feature-film/picture-fx/picture/00000.json', 5);
      await put('color/assets/lut/film-look.cube', 1000);
      expect(await storedChunkBytes(root)).toEqual({ atRest: { bytes: 360, objects: 4 }, throughMesh: { bytes: 190, objects: 2, byArtifact: { av: 110, picture: 80 } } });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
    expect(perMinuteOfFilm(1000, 8)).toBe(7500);
  });

  it('measures the system build and the bundled one, or the one FFMPEG_PATH names, and restores REELMESH_FFMPEG', async () => {
    expect(buildsToMeasure('path')).toEqual([{ label: 'system', reelmeshFfmpeg: undefined }, { label: 'bundled', reelmeshFfmpeg: 'bundled' }]);
    expect(buildsToMeasure('bundled')).toEqual([{ label: 'bundled', reelmeshFfmpeg: 'bundled' }]);
    expect(buildsToMeasure('env')).toEqual([{ label: 'env', reelmeshFfmpeg: undefined }]);
    const before = process.env.REELMESH_FFMPEG;
    try {
      process.env.REELMESH_FFMPEG = 'something';
      expect(await withReelmeshFfmpeg(undefined, async () => process.env.REELMESH_FFMPEG)).toBeUndefined();
      await expect(withReelmeshFfmpeg('bundled', async () => { throw new Error(`saw ${process.env.REELMESH_FFMPEG}`); })).rejects.toThrow('saw bundled');
      expect(process.env.REELMESH_FFMPEG).toBe('something');
      delete process.env.REELMESH_FFMPEG;
      await withReelmeshFfmpeg('bundled', async () => undefined);
      expect('REELMESH_FFMPEG' in process.env).toBe(false);
    } finally {
      if (before === undefined) delete process.env.REELMESH_FFMPEG;
      else process.env.REELMESH_FFMPEG = before;
    }
  });

  it('judges quality and fidelity per build, never time', () => {
    const target = { integratedLufs: -23, truePeakDbtp: -1 };
    expect(qualityVerdicts(build('system'), target)).toEqual({ psnrGap: true, integrated: true, truePeak: true, frames: true, samples: true });
    expect(qualityVerdicts(build('system', { gap: 0.6, lufs: -22.4, peak: -0.9, frames: 1499, extra: 1025 }), target)).toEqual({ psnrGap: false, integrated: false, truePeak: false, frames: false, samples: false });
    expect(qualityVerdicts(build('system', { extra: -1 }), target).samples).toBe(false);
    expect(qualityVerdicts(build('system', { wall: 1e9 }), target)).toEqual(qualityVerdicts(build('system'), target));
  });

  it('puts its figures in the summary, its targets and its section of the report', async () => {
    const result: QualityResult = { clipSeconds: 60, masterBytes: 40e6, loudnessTarget: { integratedLufs: -23, truePeakDbtp: -1 }, builds: [build('system'), build('bundled', { gap: 0.7, wall: 150 })] };
    const built = await buildReport({ quality: result });
    const summary = built.summary.quality as { wallBundledOverSystem: number; builds: Array<Record<string, unknown>> };
    expect(summary.wallBundledOverSystem).toBeCloseTo(1.5);
    expect(summary.builds.map((b) => b.label)).toEqual(['system', 'bundled']);
    expect(summary.builds[0]).toMatchObject({ psnrYGapDb: expect.closeTo(0.1, 6), samples: { extra: 1024 }, atRestOverMaster: 75, throughMeshOverMaster: 50, wallOverReference: 2 });
    expect(summary.builds[0].bytesPerMinute).toEqual({ master: 40e6, atRest: 3e9, throughMesh: 2e9, deliverable: 30e6 });
    for (const k of ['psnr', 'ssim', 'loudness', 'frames', 'ffmpeg', 'verdicts'] as const) expect(summary.builds[1][k], k).toBeDefined();
    const psnr = built.targets.find((t) => t.name.startsWith('deliverable PSNR-Y'));
    expect(psnr?.met).toBe(false); // the bundled build's 0.7 dB gap
    expect(psnr?.ours).toMatch(/system: 0\.10 dB .*; bundled: 0\.70 dB/);
    expect(built.targets.filter((t) => t.name.startsWith('deliverable ')).map((t) => t.met)).toEqual([false, true, true, true]);
    const md = renderMarkdown({ title: 't', preamble: [], targets: built.targets, sections: built.sections });
    expect(md).toContain('## Film quality');
    expect(md).toContain('bundled / system: 1.50');
    expect(md).toMatch(/\| system \| deliverable \(mesh\) \| 44\.900 \|/);
  });
});

describe('the chaos suite, without running it (its run is the crash e2e test)', () => {
  it('is a suite of its own, a 60 s film in full, and reports kills, re-processing and the wall ratio', async () => {
    expect(parseSuites('chaos')).toEqual(['chaos']);
    expect(benchConfig(false).chaosSeconds).toBe(60);
    const byKind = { app: 3, proxy: 2, policy: 2, 'control-plane': 1, kms: 1 };
    const kills = Object.entries(byKind).flatMap(([kind, n]) => Array.from({ length: n }, (_, i) => ({ at: i * 8, name: kind === 'app' ? 'color' : kind, kind: kind as 'app', pid: 100 + i })));
    const built = await buildReport({
      chaos: { clipSeconds: 60, chunks: 30, everySeconds: 8, undisturbedSeconds: 300, chaosSeconds: 345, chaos: { kills, byKind }, restarts: { color: 3, kms: 1 }, reprocessed: 4, resent: 2, foundDone: 40, redispatched: 0 },
    });
    expect(built.summary.chaos).toMatchObject({ kills: 9, restarts: 4, wallRatio: 1.15, reprocessed: 4, resent: 2 });
    const target = built.targets.find((t) => t.name.includes('chaos'))!;
    expect(target.met).toBe(true);
    expect(target.ours).toContain('9 kills survived');
    const missed = await buildReport({
      chaos: { clipSeconds: 60, chunks: 30, everySeconds: 8, undisturbedSeconds: 300, chaosSeconds: 300, chaos: { kills: [], byKind: { ...byKind, kms: 0 } }, restarts: {}, reprocessed: 0, resent: 0, foundDone: 0, redispatched: 0 },
    });
    expect(missed.targets.find((t) => t.name.includes('chaos'))!.met).toBe(false);
    expect(renderMarkdown({ title: 't', preamble: [], targets: built.targets, sections: built.sections })).toContain('Crash survival under chaos');
  });
});
