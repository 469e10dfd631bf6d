import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ebur128, ffprobeJson, lastJsonLine, processesUsing, reelmesh } from './helpers';

interface DemoSummary {
  deliverable: string;
  input: string;
  chunks: number;
  steps: Record<string, number>;
  wallSeconds: number;
  dataRoot: string;
  security: { mesh: boolean; encryption: boolean };
  caBundle: string;
}

const DURATION = 7; // 4 chunks of 2 s, the last one short: exercises the remainder path.

describe('reelmesh demo: the whole workflow on real media, every agent its own process', () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-e2e-'));
  let summary: DemoSummary;
  let stderr = '';

  beforeAll(async () => {
    const result = await reelmesh(['demo', '--duration', String(DURATION), '--out', out, '--json']);
    stderr = result.stderr;
    expect(result.code, result.stderr).toBe(0);
    summary = lastJsonLine<DemoSummary>(result.stdout);
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('prints the summary the issue asks for, secure by default', () => {
    expect(summary.deliverable).toBe(join(out, 'deliverable.mp4'));
    expect(summary.chunks).toBe(Math.ceil(DURATION / 2));
    expect(Object.keys(summary.steps).sort()).toEqual(['color', 'hdr', 'owner', 'sound', 'vfx-1', 'vfx-2', 'vfx-3']);
    for (const seconds of Object.values(summary.steps)) expect(seconds).toBeGreaterThan(0);
    expect(summary.wallSeconds).toBeGreaterThan(0);
    expect(summary.dataRoot.startsWith(out)).toBe(true);
    expect(summary.security).toEqual({ mesh: true, encryption: true });
    expect(stderr).toMatch(/assemble: \d+\/\d+ chunks/);
  });

  it('delivers HDR10: HEVC Main 10, yuv420p10le, BT.2020 primaries, PQ transfer, mastering display metadata', async () => {
    const probe = await ffprobeJson(summary.deliverable, ['-show_streams', '-show_format']);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    expect(video.codec_name).toBe('hevc');
    expect(video.profile).toBe('Main 10');
    expect(video.pix_fmt).toBe('yuv420p10le');
    expect(video.color_primaries).toBe('bt2020');
    expect(video.color_transfer).toBe('smpte2084');
    const frames = await ffprobeJson(summary.deliverable, ['-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_frames']);
    const sideData = (frames.frames[0].side_data_list ?? []).map((d) => d.side_data_type);
    expect(sideData).toContain('Mastering display metadata');
    expect(sideData).toContain('Content light level metadata');
  });

  it('keeps the duration within 0.1 s and every frame exactly once', async () => {
    const master = await ffprobeJson(summary.input, ['-show_format', '-count_frames', '-select_streams', 'v:0', '-show_streams']);
    const deliverable = await ffprobeJson(summary.deliverable, ['-show_format', '-count_frames', '-select_streams', 'v:0', '-show_streams']);
    expect(Math.abs(Number(deliverable.format.duration) - Number(master.format.duration))).toBeLessThanOrEqual(0.1);
    expect(Number(deliverable.streams[0].nb_read_frames)).toBe(Number(master.streams[0].nb_read_frames));
  });

  it('masters the sound to -23 LUFS (±1) with true peak at most -1 dBTP', async () => {
    const { integrated, truePeak } = await ebur128(summary.deliverable);
    expect(integrated).toBeGreaterThanOrEqual(-24);
    expect(integrated).toBeLessThanOrEqual(-22);
    expect(truePeak).toBeLessThanOrEqual(-0.5); // AAC re-encoding may overshoot a limiter by a few tenths
  });

  it('the owner received every picture and sound chunk exactly once', async () => {
    const base = join(summary.dataRoot, 'owner', 'feature-film', 'assemble');
    const pictures = (await readdir(join(base, 'picture'))).filter((f) => f.endsWith('.mkv'));
    const sounds = (await readdir(join(base, 'sound'))).filter((f) => f.endsWith('.mkv'));
    const expected = Array.from({ length: summary.chunks }, (_, i) => `${String(i).padStart(5, '0')}.mkv`);
    expect(pictures.sort()).toEqual(expected);
    expect(sounds.sort()).toEqual(expected);
  });

  it('every chunk of the deliverable carries a signed provenance chain that re-checks offline', async () => {
    const result = await reelmesh(['provenance', 'verify', out, '--ca', summary.caBundle]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`provenance ok: ${summary.chunks} chunks`);
    expect(result.stdout.match(/: ok \(8 signed records\)/g)).toHaveLength(summary.chunks);
  });

  it('leaves no agent process behind', () => {
    expect(processesUsing(summary.dataRoot)).toEqual([]);
  });
});
