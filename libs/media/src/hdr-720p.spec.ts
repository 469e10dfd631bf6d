import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble, generateSample, hdr10, masterLoudness, measureLoudness, probe, probeFrameSideData, splitChunk, demux } from './index';
import { scratch, WORKFLOW_MEDIA as media, type Scratch } from './test-support';

// The workflow's real picture size once: one 2 s 720p chunk through HDR10 into an MP4 deliverable.
describe('720p HDR10 chunk into an MP4 deliverable', () => {
  let s: Scratch;
  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 2, media, outPath: s.path('master.mkv') });
    await splitChunk(s.path('master.mkv'), 0, media, s.sink('av.mkv'));
    await demux(s.source('av.mkv'), { picture: s.sink('pic.mkv'), sound: s.sink('snd.mkv') });
    await hdr10(s.source('pic.mkv'), s.sink('hdr.mkv'), media);
    await masterLoudness(s.source('snd.mkv'), s.sink('mastered.mkv'), media);
    await assemble({ pictures: [s.source('hdr.mkv')], sounds: [s.source('mastered.mkv')] }, s.path('film.mp4'), media);
  });
  afterAll(() => s?.dispose());

  it('the HDR10 chunk is 1280x720 HEVC Main 10 with HDR tags and SEI', async () => {
    const info = await probe(s.source('hdr.mkv'));
    expect(info.streams).toEqual([
      expect.objectContaining({ codec: 'hevc', profile: 'Main 10', pixFmt: 'yuv420p10le', width: 1280, height: 720, colorPrimaries: 'bt2020', colorTransfer: 'smpte2084' }),
    ]);
    expect(info.durationSeconds).toBeCloseTo(2, 1);
    expect(await probeFrameSideData(s.source('hdr.mkv'))).toEqual(expect.arrayContaining(['Mastering display metadata', 'Content light level metadata']));
  });

  it('the MP4 deliverable keeps HEVC (hvc1) with HDR metadata and carries AAC at the loudness target', async () => {
    const info = await probe(s.path('film.mp4'));
    expect(info.formatName).toContain('mp4');
    expect(info.durationSeconds).toBeCloseTo(2, 1);
    expect(info.streams.find((x) => x.type === 'video')).toMatchObject({ codec: 'hevc', pixFmt: 'yuv420p10le', colorPrimaries: 'bt2020', colorTransfer: 'smpte2084' });
    expect(info.streams.find((x) => x.type === 'audio')).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(await probeFrameSideData(s.path('film.mp4'))).toContain('Mastering display metadata');
    const loudness = await measureLoudness(s.path('film.mp4'));
    expect(Math.abs(loudness.integratedLufs - -23)).toBeLessThanOrEqual(1);
  });
});
