import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath, ffprobePath, generateSample, inspectMaster, MediaError } from './index';
import { scratch, WORKFLOW_MEDIA as media, type Scratch } from './test-support';

const run = promisify(execFile);

// A master the workflow cannot take is refused before any work, with one line naming the stream
// and the reason.
describe('inspectMaster refuses what the workflow cannot take, in one line naming the stream', () => {
  let s: Scratch;
  const ffmpeg = (...args: string[]) => run(ffmpegPath(), ['-hide_banner', '-v', 'error', '-y', ...args]);
  const picture = ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=3'];

  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 8, outPath: s.path('good.mkv'), width: 320, height: 180 });
    await generateSample({ durationSeconds: 2, outPath: s.path('silent.mkv'), width: 320, height: 180, silent: true });
    await ffmpeg('-i', s.path('good.mkv'), '-map', '0:a', '-c', 'copy', s.path('sound-only.mkv'));
    // 25 fps for 1.5 s, then 50 fps: a variable frame rate.
    await ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=50:duration=3', '-vf', "select='gte(t\\,1.5)+not(mod(n\\,2))'", '-vsync', 'vfr', '-c:v', 'libx264', s.path('vfr.mkv'));
    await ffmpeg(...picture, '-vf', 'setfield=tff', '-flags', '+ildct+ilme', '-c:v', 'libx264', '-x264opts', 'tff=1', s.path('interlaced.mkv'));
    await ffmpeg(...picture, '-c:v', 'libx264', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', s.path('hdr.mkv'));
    await corruptAround(s.path('good.mkv'), s.path('corrupt.mkv'), 5);
    // 8 s of picture with 3 s of sound.
    await ffmpeg('-i', s.path('good.mkv'), '-map', '0:v', '-map', '0:a', '-c:v', 'copy', '-af', 'atrim=end=3', '-c:a', 'flac', s.path('short-sound.mkv'));
  }, 120_000);
  afterAll(() => s?.dispose());

  const refusal = (name: string, options = { requireSound: true }, settings = media) =>
    inspectMaster(s.path(name), settings, options).then(
      () => expect.fail(`${name} was accepted`),
      (err: unknown) => {
        expect(err).toBeInstanceOf(MediaError);
        expect((err as Error).message).not.toContain('\n');
        return err as MediaError;
      },
    );

  it('takes a good master and says what it is', async () => {
    const info = await inspectMaster(s.path('good.mkv'), media, { requireSound: true });
    expect(info.format).toMatchObject({ frames: 200, chunkFrames: 50, chunkCount: 4, picture: { width: 320, height: 180, frameRate: { num: 25, den: 1 } } });
  });

  it('no picture, or no sound when the workflow has sound steps', async () => {
    expect(await refusal('sound-only.mkv')).toMatchObject({ code: 'MEDIA_NO_VIDEO', message: 'sound-only.mkv: no video stream (the workflow needs a picture)' });
    expect(await refusal('silent.mkv')).toMatchObject({ code: 'MEDIA_NO_AUDIO', message: 'silent.mkv: no audio stream (the workflow has sound steps)' });
    expect((await inspectMaster(s.path('silent.mkv'), media, { requireSound: false })).hasAudio).toBe(false);
  });

  it('a variable frame rate', async () => {
    expect(await refusal('vfr.mkv', { requireSound: false })).toMatchObject({
      code: 'MEDIA_UNSUPPORTED_FORMAT',
      message: expect.stringMatching(/^vfr\.mkv: video stream #0: variable frame rate .*the workflow needs a constant frame rate$/),
    });
  });

  it('an interlaced picture, unless the workflow declares a deinterlace', async () => {
    expect(await refusal('interlaced.mkv', { requireSound: false })).toMatchObject({
      code: 'MEDIA_UNSUPPORTED_FORMAT',
      message: expect.stringMatching(/^interlaced\.mkv: video stream #0: interlaced \(field order t[tb]\) and the workflow declares no deinterlace \(media\.deinterlace: bwdif or yadif\)$/),
    });
    const info = await inspectMaster(s.path('interlaced.mkv'), { ...media, deinterlace: 'bwdif' });
    expect(info.format.picture.interlaced).toBe(true);
  });

  it('sound that stops chunks before the picture (those chunks would have none)', async () => {
    expect(await refusal('short-sound.mkv')).toMatchObject({
      code: 'MEDIA_UNSUPPORTED_FORMAT',
      message: 'short-sound.mkv: audio stream #1: ends at 00:00:03.000, 5.000 s before the picture; the workflow needs sound for the whole programme',
    });
  });

  it('a picture that is already HDR', async () => {
    expect(await refusal('hdr.mkv', { requireSound: false })).toMatchObject({ code: 'MEDIA_UNSUPPORTED_FORMAT', message: expect.stringMatching(/^hdr\.mkv: video stream #0: already HDR/) });
  });

  it('a damaged region, naming where', async () => {
    const err = await refusal('corrupt.mkv');
    expect(err.code).toBe('MEDIA_DAMAGED');
    expect(err.message).toMatch(/^corrupt\.mkv: (video|audio) stream #\d: damaged at 00:00:0[3-6]\.\d{3}/);
  });
});

/** A copy of `from` with 20 kB of noise written over the video packet at about `seconds`. */
async function corruptAround(from: string, to: string, seconds: number): Promise<void> {
  await run(ffmpegPath(), ['-v', 'error', '-y', '-i', from, '-c', 'copy', '-map', '0', to]);
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,pos', '-of', 'csv=p=0', to]);
  const packet = stdout
    .trim()
    .split('\n')
    .map((line) => line.split(',').map(Number))
    .find(([pts]) => pts >= seconds);
  const file = await open(to, 'r+');
  try {
    const noise = Buffer.alloc(20_000);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + 13) % 251;
    await file.write(noise, 0, noise.length, packet![1] + 64);
  } finally {
    await file.close();
  }
}
