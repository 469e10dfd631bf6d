import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkSamples, decodeSound, distinctLumaValues, frameCount, generateSample, probeFrameSideData, streamsOf, type ProgrammeFormat } from './index';
import { runPipeline, scratch, type Scratch } from './test-support';

// One small master (5 s at 320x180, 25 fps, stereo -> chunks of 50 + 50 + 25 frames) through every
// job, the way the workflow runs them; every check reads the files with ffprobe/ffmpeg directly.
describe('media pipeline (320x180, 25 fps, 5 s)', () => {
  let s: Scratch;
  let format: ProgrammeFormat;
  const chunks = [0, 1, 2];
  const video = (path: string, count = false) => streamsOf(s.path(path), count).then((all) => all.find((x) => x.codec_type === 'video'));
  const audio = (path: string) => streamsOf(s.path(path)).then((all) => all.find((x) => x.codec_type === 'audio'));

  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 5, outPath: s.path('master.mkv'), width: 320, height: 180 });
    ({ format } = await runPipeline(s, 'master.mkv', 'film.mkv'));
  }, 240_000);
  afterAll(() => s?.dispose());

  it('cuts the master on its own frame grid: 50 + 50 + 25 frames, the master\'s size and rate', async () => {
    expect(format).toMatchObject({ frames: 125, chunkFrames: 50, chunkCount: 3 });
    const counts = await Promise.all(chunks.map((i) => frameCount(s.path(`av-${i}.mkv`))));
    expect(counts).toEqual([50, 50, 25]);
    for (const i of chunks) expect(await video(`av-${i}.mkv`)).toMatchObject({ width: 320, height: 180, r_frame_rate: '25/1' });
  });

  it('hands picture on as lossless 10-bit H.264 and sound as 24-bit PCM at every step', async () => {
    for (const name of ['av-1.mkv', 'pic-1.mkv', 'fx-1.mkv', 'graded-1.mkv']) {
      expect(await video(name)).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p10le', profile: 'High 4:4:4 Predictive' });
    }
    for (const name of ['av-1.mkv', 'snd-1.mkv', 'sfx-1.mkv', 'mastered-1.mkv']) {
      expect(await audio(name)).toMatchObject({ codec_name: 'pcm_s24le', sample_rate: '48000', channels: 2 });
    }
  });

  it('keeps 10 bits through every picture step (more than 256 distinct luma codes in a frame)', async () => {
    for (const name of ['fx-0.mkv', 'graded-0.mkv', 'hdr-0.mkv', 'film.mkv']) expect(await distinctLumaValues(s.path(name))).toBeGreaterThan(256);
  });

  it('gives every sound chunk its exact length plus its handle, through effects and mastering', async () => {
    for (const i of chunks) {
      const { count, handle } = chunkSamples(format, i);
      const expected = (count ?? 5 * 48000 - chunkSamples(format, i).first) + handle;
      for (const step of ['snd', 'sfx', 'mastered']) expect([step, i, (await decodeSound(s.path(`${step}-${i}.mkv`)))[0].length]).toEqual([step, i, expected]);
    }
  });

  it('converts to HDR10: HEVC Main 10, BT.2020 + PQ, mastering display and content light SEI', async () => {
    expect(await video('hdr-0.mkv')).toMatchObject({ codec_name: 'hevc', profile: 'Main 10', pix_fmt: 'yuv420p10le', color_primaries: 'bt2020', color_transfer: 'smpte2084' });
    expect(await probeFrameSideData(s.source('hdr-0.mkv'))).toEqual(expect.arrayContaining(['Mastering display metadata', 'Content light level metadata']));
  });

  it('assembles exactly the master\'s frames and samples into one HDR10 deliverable', async () => {
    expect(await frameCount(s.path('film.mkv'))).toBe(125);
    expect(await video('film.mkv')).toMatchObject({ codec_name: 'hevc', width: 320, height: 180, r_frame_rate: '25/1', color_transfer: 'smpte2084' });
    expect(await audio('film.mkv')).toMatchObject({ codec_name: 'pcm_s24le', sample_rate: '48000', channels: 2 });
    expect((await decodeSound(s.path('film.mkv')))[0].length).toBe((await decodeSound(s.path('master.mkv')))[0].length);
  });
});
