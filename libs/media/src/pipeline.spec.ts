import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assemble, demux, generateLut, generateSample, grade, hdr10, inspectMaster, masterLoudness, measureLoudness,
  pictureFx, probe, probeFrameSideData, soundFx, splitChunk, type MediaInfo,
} from './index';
import { scratch, SMALL_MEDIA as media, type Scratch } from './test-support';

// One small master (5 s at 320x180 -> chunks of 2 + 2 + 1 s) through every job, the way the
// workflow runs it: split -> demux -> picture fx -> grade -> hdr10, sound fx -> mastering -> assemble.
describe('media pipeline (320x180, 5 s)', () => {
  let s: Scratch;
  let masterInfo: Awaited<ReturnType<typeof inspectMaster>>;
  const chunks = [0, 1, 2];

  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 5, media, outPath: s.path('master.mkv'), width: 320, height: 180 });
    await generateLut({ size: 17, outPath: s.path('look.cube') });
    masterInfo = await inspectMaster(s.path('master.mkv'), media);
    for (const i of chunks) {
      await splitChunk(s.path('master.mkv'), i, media, s.sink(`av-${i}.mkv`));
      await demux(s.source(`av-${i}.mkv`), { picture: s.sink(`pic-${i}.mkv`), sound: s.sink(`snd-${i}.mkv`) });
      await pictureFx(s.source(`pic-${i}.mkv`), s.sink(`fx-${i}.mkv`), media);
      await grade(s.source(`fx-${i}.mkv`), s.sink(`graded-${i}.mkv`), { lutPath: s.path('look.cube') });
      await hdr10(s.source(`graded-${i}.mkv`), s.sink(`hdr-${i}.mkv`), media);
      await soundFx(s.source(`snd-${i}.mkv`), s.sink(`sfx-${i}.mkv`), media);
      await masterLoudness(s.source(`sfx-${i}.mkv`), s.sink(`mastered-${i}.mkv`), media);
    }
    await assemble(
      { pictures: chunks.map((i) => s.source(`hdr-${i}.mkv`)), sounds: chunks.map((i) => s.source(`mastered-${i}.mkv`)) },
      s.path('film.mkv'),
      media,
    );
  });
  afterAll(() => s?.dispose());

  const video = (info: MediaInfo) => info.streams.find((x) => x.type === 'video');
  const audio = (info: MediaInfo) => info.streams.find((x) => x.type === 'audio');

  it('generates a master with moving picture and stereo sound, and counts its chunks', async () => {
    expect(masterInfo.chunkCount).toBe(3);
    expect(masterInfo.durationSeconds).toBeCloseTo(5, 1);
    expect(video(masterInfo.info)).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(audio(masterInfo.info)).toMatchObject({ codec: 'flac', sampleRate: 48000, channels: 2 });
  });

  it('splits into normalised A/V chunks whose durations add up to the master', async () => {
    const infos = await Promise.all(chunks.map((i) => probe(s.source(`av-${i}.mkv`))));
    for (const info of infos) {
      expect(info.formatName).toContain('matroska');
      expect(video(info)).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', width: 320, height: 180, frameRate: 25, colorPrimaries: 'bt709' });
      expect(audio(info)).toMatchObject({ codec: 'pcm_s16le', sampleRate: 48000, channels: 2 });
    }
    expect(infos.map((i) => i.durationSeconds)).toEqual([expect.closeTo(2, 1), expect.closeTo(2, 1), expect.closeTo(1, 1)]);
    const total = infos.reduce((sum, info) => sum + info.durationSeconds, 0);
    expect(Math.abs(total - masterInfo.durationSeconds)).toBeLessThan(0.1);
  });

  it('demuxes into picture-only and sound-only Matroska by stream copy', async () => {
    const [picture, sound] = await Promise.all([probe(s.source('pic-0.mkv')), probe(s.source('snd-0.mkv'))]);
    expect(picture.streams.map((x) => `${x.type}:${x.codec}`)).toEqual(['video:h264']);
    expect(sound.streams.map((x) => `${x.type}:${x.codec}`)).toEqual(['audio:pcm_s16le']);
  });

  it('applies picture effects and the grade as H.264 without changing length', async () => {
    for (const name of ['fx-2.mkv', 'graded-2.mkv']) {
      const info = await probe(s.source(name));
      expect(video(info)).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', width: 320, height: 180 });
      expect(info.durationSeconds).toBeCloseTo(1, 1);
    }
    // The effects really change the picture (not a pass-through).
    const [before, after] = await Promise.all([readFile(s.path('pic-0.mkv')), readFile(s.path('graded-0.mkv'))]);
    expect(after.equals(before)).toBe(false);
  });

  it('converts to HDR10: HEVC Main 10, 10-bit, BT.2020 + PQ, mastering display and content light SEI', async () => {
    const info = await probe(s.source('hdr-0.mkv'));
    expect(video(info)).toMatchObject({
      codec: 'hevc', profile: 'Main 10', pixFmt: 'yuv420p10le',
      colorPrimaries: 'bt2020', colorTransfer: 'smpte2084', colorSpace: 'bt2020nc',
    });
    const sideData = await probeFrameSideData(s.source('hdr-0.mkv'));
    expect(sideData).toContain('Mastering display metadata');
    expect(sideData).toContain('Content light level metadata');
  });

  it('keeps sound chunk lengths through effects and mastering (no drift)', async () => {
    for (const i of chunks) {
      const [sfx, mastered] = await Promise.all([probe(s.source(`sfx-${i}.mkv`)), probe(s.source(`mastered-${i}.mkv`))]);
      expect(audio(mastered)).toMatchObject({ codec: 'pcm_s16le', sampleRate: 48000, channels: 2 });
      expect(Math.abs(sfx.durationSeconds - (i === 2 ? 1 : 2))).toBeLessThan(0.03);
      expect(Math.abs(mastered.durationSeconds - sfx.durationSeconds)).toBeLessThan(0.03);
    }
  });

  it('masters each chunk to the loudness target', async () => {
    const before = await measureLoudness(s.source('sfx-0.mkv'));
    const after = await measureLoudness(s.source('mastered-0.mkv'));
    expect(Math.abs(before.integratedLufs - -23)).toBeGreaterThan(3); // the sample gave mastering work
    expect(after.integratedLufs).toBeGreaterThan(-24);
    expect(after.integratedLufs).toBeLessThan(-22);
    expect(after.truePeakDbtp).toBeLessThanOrEqual(-0.9);
  });

  it('assembles one HDR10 deliverable as long as the master, at -23 LUFS', async () => {
    const info = await probe(s.path('film.mkv'));
    expect(Math.abs(info.durationSeconds - masterInfo.durationSeconds)).toBeLessThan(0.1);
    expect(video(info)).toMatchObject({ codec: 'hevc', profile: 'Main 10', pixFmt: 'yuv420p10le', colorPrimaries: 'bt2020', colorTransfer: 'smpte2084' });
    expect(audio(info)).toMatchObject({ codec: 'pcm_s16le', sampleRate: 48000, channels: 2 });
    expect(await probeFrameSideData(s.path('film.mkv'))).toContain('Mastering display metadata');
    const loudness = await measureLoudness(s.path('film.mkv'));
    expect(Math.abs(loudness.integratedLufs - -23)).toBeLessThanOrEqual(1);
  });
});
