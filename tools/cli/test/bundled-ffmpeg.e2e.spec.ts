import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameCount, loudnessOf } from '@reelmesh/media';
import { lastJsonLine, reelmesh } from './helpers';

interface Summary {
  deliverable: string;
  input: string;
  ffmpeg: Record<string, { path: string; source: string }>;
}

// CI installs a current ffmpeg, which every other end-to-end test uses; a fresh machine may only
// have the bundled 2018 build. This run keeps that default working.
describe('reelmesh demo on the bundled ffmpeg build (the fresh-machine default)', () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-bundled-'));
  let summary: Summary;

  beforeAll(async () => {
    const result = await reelmesh(['demo', '--duration', '3', '--sample-size', '320x180', '--out', out, '--json', '--clean'], { env: { REELMESH_FFMPEG: 'bundled' } });
    expect(result.code, result.stderr).toBe(0);
    summary = lastJsonLine<Summary>(result.stdout);
  }, 300_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('every agent ran the bundled build', () => {
    const sources = Object.values(summary.ffmpeg).map((f) => f.source);
    expect(sources.length).toBeGreaterThan(1);
    expect(new Set(sources)).toEqual(new Set(['bundled']));
  });

  it('delivers every frame at the loudness target', async () => {
    expect(await frameCount(summary.deliverable)).toBe(await frameCount(summary.input));
    const { integratedLufs, truePeakDbtp } = await loudnessOf(summary.deliverable);
    expect(Math.abs(integratedLufs - -23)).toBeLessThanOrEqual(0.5);
    expect(truePeakDbtp).toBeLessThanOrEqual(-1);
  });
});
