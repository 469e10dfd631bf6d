// Suite 8: film quality. The secure, chunked, multi-contractor run against the same chains run
// once in ONE ffmpeg over the whole master (@reelmesh/media renderReference), for each ffmpeg
// build this machine has (ffmpeg >= 5 from PATH, and the bundled 2018 build): picture PSNR/SSIM
// against the lossless single-process render, loudness, frame and sample counts, bytes at rest and
// through the mesh per minute of film, and wall time. Every ratio is against a baseline of the
// same run (the master's size, the single-process render, the other build); nothing is timed
// against a threshold.
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  decodeSound,
  ffmpegPath,
  ffmpegSource,
  ffmpegVersion,
  frameCount,
  loudnessOf,
  pictureQuality,
  renderReference,
  type BinarySource,
  type Loudness,
  type PictureQuality,
} from '@reelmesh/media';
import { REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';
import { runWorkflow, type RunWorkflowResult } from '../run-workflow';
import type { Runs } from './masters';

/** The target: the deliverable's PSNR-Y within this many dB of the single-process render
 * with the same final encode (both against the lossless single-process render). */
export const PSNR_GAP_TARGET_DB = 0.5;
/** EBU R 128: programme loudness at the target +- 0.5 LU. */
export const LOUDNESS_TOLERANCE_LU = 0.5;
/** An AAC frame: the encoder may pad the deliverable's sound by up to this many samples. */
export const AAC_FRAME_SAMPLES = 1024;

/** One ffmpeg build the suite measures with: `system` (ffmpeg >= 5 from PATH), `bundled` (the npm
 * installer's 2018 build, REELMESH_FFMPEG=bundled) or `env` (FFMPEG_PATH names one binary: the only
 * one measured, since it overrides both). */
export type BuildLabel = 'system' | 'bundled' | 'env';

export interface BuildChoice {
  label: BuildLabel;
  /** The value of REELMESH_FFMPEG while this build is measured (undefined: unset). */
  reelmeshFfmpeg: 'bundled' | undefined;
}

/** The builds to measure, given where ffmpeg comes from with REELMESH_FFMPEG unset. */
export function buildsToMeasure(sourceWhenUnset: BinarySource): BuildChoice[] {
  if (sourceWhenUnset === 'env') return [{ label: 'env', reelmeshFfmpeg: undefined }];
  const bundled: BuildChoice = { label: 'bundled', reelmeshFfmpeg: 'bundled' };
  return sourceWhenUnset === 'path' ? [{ label: 'system', reelmeshFfmpeg: undefined }, bundled] : [bundled];
}

/** Runs `fn` with REELMESH_FFMPEG set to `value` (unset when undefined): every media call and every
 * agent process the runtime spawns sees it. The previous value is restored afterwards, also on error. */
export async function withReelmeshFfmpeg<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.REELMESH_FFMPEG;
  const set = (v: string | undefined) => {
    if (v === undefined) delete process.env.REELMESH_FFMPEG;
    else process.env.REELMESH_FFMPEG = v;
  };
  set(value);
  try {
    return await fn();
  } finally {
    set(before);
  }
}

/**
 * What a file under a run's data root is. The handoff server stores a RECEIVED chunk at
 * `<agent>/<workflow>/<step>/<artifact>/<00042>.mkv` (see chunkKey in @reelmesh/handoff); a job's
 * OUTPUT waits for its handoff at `<agent>/<workflow>/<step>/out/<artifact>/<00042>.mkv`. Anything
 * else (slot records under handoff-slots/, the colourist's LUT under assets/) is not a chunk object.
 */
export function classifyStored(relPath: string): 'received' | 'output' | 'other' {
  const parts = relPath.split(/[\\/]/);
  if (!/^\d{5}\.mkv$/.test(parts[parts.length - 1] ?? '')) return 'other';
  if (parts[1] === 'handoff-slots' || parts[1] === 'assets') return 'other';
  if (parts.length === 5) return 'received';
  if (parts.length === 6 && parts[3] === 'out') return 'output';
  return 'other';
}

export interface StoredBytes {
  /** Every chunk object stored in the run (received and output), sealed, as on disk. */
  atRest: { bytes: number; objects: number };
  /** The chunk objects the receiving agents stored: what went from one agent to another. */
  throughMesh: { bytes: number; objects: number; byArtifact: Record<string, number> };
}

/** Sizes of the chunk objects under a data root (see classifyStored). */
export async function storedChunkBytes(dataRoot: string): Promise<StoredBytes> {
  const out: StoredBytes = { atRest: { bytes: 0, objects: 0 }, throughMesh: { bytes: 0, objects: 0, byArtifact: {} } };
  const entries = await readdir(dataRoot, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const rel = relative(dataRoot, path);
    const kind = classifyStored(rel);
    if (kind === 'other') continue;
    const { size } = await stat(path);
    out.atRest.bytes += size;
    out.atRest.objects += 1;
    if (kind === 'received') {
      const artifact = rel.split(sep)[3];
      out.throughMesh.bytes += size;
      out.throughMesh.objects += 1;
      out.throughMesh.byArtifact[artifact] = (out.throughMesh.byArtifact[artifact] ?? 0) + size;
    }
  }
  return out;
}

/** Bytes per minute of film. */
export const perMinuteOfFilm = (bytes: number, filmSeconds: number): number => (bytes * 60) / filmSeconds;

export interface BuildQuality {
  build: { label: BuildLabel; source: BinarySource; path: string; version: string };
  chunks: number;
  /** The secure run, runtime start-up included. */
  wallSeconds: number;
  /** The single-process renders (sound loudness pass included). */
  referenceSeconds: { final: number; lossless: number };
  /** Against the lossless single-process render. */
  picture: { deliverable: PictureQuality; finalReference: PictureQuality };
  loudness: { master: Loudness; deliverable: Loudness; finalReference: Loudness };
  frames: { master: number; deliverable: number; losslessReference: number };
  samples: { master: number; deliverable: number };
  bytes: { deliverable: number } & StoredBytes;
}

export interface QualityResult {
  clipSeconds: number;
  masterBytes: number;
  /** The workflow's loudness target (policies/workflow.yaml). */
  loudnessTarget: { integratedLufs: number; truePeakDbtp: number };
  builds: BuildQuality[];
}

/** The deliverable's PSNR-Y below the single-process final encode's (positive: the mesh lost quality). */
export const psnrYGapDb = (b: BuildQuality): number => b.picture.finalReference.psnr.y - b.picture.deliverable.psnr.y;

/** Sound samples the deliverable has beyond the master's. */
export const extraSamples = (b: BuildQuality): number => b.samples.deliverable - b.samples.master;

/** The suite's verdicts for one build (quality and fidelity only: nothing timed). */
export function qualityVerdicts(b: BuildQuality, target: QualityResult['loudnessTarget']) {
  const extra = extraSamples(b);
  return {
    psnrGap: psnrYGapDb(b) <= PSNR_GAP_TARGET_DB,
    integrated: Math.abs(b.loudness.deliverable.integratedLufs - target.integratedLufs) <= LOUDNESS_TOLERANCE_LU,
    truePeak: b.loudness.deliverable.truePeakDbtp <= target.truePeakDbtp,
    frames: b.frames.deliverable === b.frames.master,
    samples: extra >= 0 && extra <= AAC_FRAME_SAMPLES,
  };
}

/** A secure run that keeps its data root (under `dir`), retried once if a port was taken. */
async function secureRunKept(master: string, seconds: number, dir: string): Promise<RunWorkflowResult> {
  const once = async () => {
    await rm(join(dir, 'run'), { recursive: true, force: true });
    return runWorkflow({ input: master, durationSeconds: seconds, outDir: join(dir, 'out'), dataRoot: join(dir, 'run', 'data'), clean: false });
  };
  // As in Runs.run: a free port taken by another process before a sidecar binds it says nothing
  // about the workflow.
  return once().catch((error: Error) => {
    if (!/EADDRINUSE/.test(error.message)) throw error;
    return once();
  });
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function measureBuild(choice: BuildChoice, master: string, seconds: number, workDir: string, log: (line: string) => void): Promise<BuildQuality> {
  const media = loadWorkflow().media;
  const lutPath = resolve(REPO_ROOT, media.lut.ref);
  const build = { label: choice.label, source: ffmpegSource(), path: ffmpegPath(), version: (await ffmpegVersion()).raw };
  const dir = await mkdtemp(join(workDir, `quality-${choice.label}-`));
  try {
    // 1. The secure workflow end to end; its data root is measured, then deleted.
    const run = await secureRunKept(master, seconds, dir);
    const stored = await storedChunkBytes(run.dataRoot);
    await rm(join(dir, 'run'), { recursive: true, force: true });
    log(`quality: ${build.label} (${build.source} ffmpeg ${build.version}): ${seconds} s master through the mesh in ${run.wallSeconds.toFixed(1)} s`);

    // 2. The single-process renders: the same final encode, and lossless (the reference for both).
    await mkdir(join(dir, 'reference'), { recursive: true });
    const finalPath = join(dir, 'reference', 'final.mkv');
    const losslessPath = join(dir, 'reference', 'lossless.mkv');
    const final = await timed(() => renderReference({ masterPath: master, outPath: finalPath, media, lutPath, picture: 'final' }));
    const lossless = await timed(() => renderReference({ masterPath: master, outPath: losslessPath, media, lutPath, picture: 'lossless' }));
    log(`quality: ${build.label}: single-process renders in ${final.toFixed(1)} s (final) and ${lossless.toFixed(1)} s (lossless)`);

    // 3. The measures, one after another, with this build's ffmpeg.
    const deliverable = await pictureQuality(run.deliverable, losslessPath);
    const finalReference = await pictureQuality(finalPath, losslessPath);
    const result: BuildQuality = {
      build,
      chunks: run.chunks,
      wallSeconds: run.wallSeconds,
      referenceSeconds: { final, lossless },
      picture: { deliverable, finalReference },
      loudness: { master: await loudnessOf(master), deliverable: await loudnessOf(run.deliverable), finalReference: await loudnessOf(finalPath) },
      frames: { master: await frameCount(master), deliverable: await frameCount(run.deliverable), losslessReference: await frameCount(losslessPath) },
      samples: { master: (await decodeSound(master))[0]?.length ?? 0, deliverable: (await decodeSound(run.deliverable))[0]?.length ?? 0 },
      bytes: { deliverable: (await stat(run.deliverable)).size, ...stored },
    };
    log(`quality: ${build.label}: PSNR-Y deliverable ${deliverable.psnr.y.toFixed(2)} dB, single-process final encode ${finalReference.psnr.y.toFixed(2)} dB (gap ${psnrYGapDb(result).toFixed(2)} dB); deliverable ${result.loudness.deliverable.integratedLufs} LUFS`);
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runQualitySuite(runs: Runs, opts: { seconds: number; workDir: string; log: (line: string) => void }): Promise<QualityResult> {
  // The master is made once, with the build the bench started with, and shared by every build.
  const master = await runs.master(opts.seconds);
  const choices = await withReelmeshFfmpeg(undefined, async () => buildsToMeasure(ffmpegSource()));
  if (choices[0].label === 'env') opts.log('quality: FFMPEG_PATH is set and overrides REELMESH_FFMPEG: only that build is measured');
  else if (choices.length === 1) opts.log('quality: no ffmpeg >= 5 on PATH: only the bundled build is measured');
  const builds: BuildQuality[] = [];
  for (const choice of choices) builds.push(await withReelmeshFfmpeg(choice.reelmeshFfmpeg, () => measureBuild(choice, master, opts.seconds, opts.workDir, opts.log)));
  const { loudness } = loadWorkflow().media;
  return {
    clipSeconds: opts.seconds,
    masterBytes: (await stat(master)).size,
    loudnessTarget: { integratedLufs: loudness.integratedLufs, truePeakDbtp: loudness.truePeakDbtp },
    builds,
  };
}
