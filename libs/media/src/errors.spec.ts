import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble, demux, generateLut, generateSample, inspectMaster, MediaError, pictureFx, probe, splitChunk, type ProgrammeFormat } from './index';
import { runFfmpeg } from './run-ffmpeg';
import { childMediaProcesses, scratch, WORKFLOW_MEDIA as media, type Scratch } from './test-support';

describe('bad input gives a clear MediaError', () => {
  let s: Scratch;
  let format: ProgrammeFormat;
  beforeAll(async () => {
    s = await scratch();
    await writeFile(s.path('empty.mkv'), '');
    await writeFile(s.path('garbage.mkv'), Buffer.from('this is not a movie, just some bytes '.repeat(200)));
    await generateSample({ durationSeconds: 2, outPath: s.path('master.mkv'), width: 160, height: 90 });
    format = (await inspectMaster(s.path('master.mkv'), media)).format;
    await splitChunk(s.path('master.mkv'), format, 0, media, s.sink('av.mkv'));
    await demux(s.source('av.mkv'), { picture: s.sink('pic.mkv'), sound: s.sink('snd.mkv') });
  });
  afterAll(() => s?.dispose());

  const rejection = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a MediaError'), (err: unknown) => err as MediaError);

  it('inspectMaster: missing, empty, garbage and picture-less files', async () => {
    const missing = await rejection(inspectMaster(s.path('nope.mkv'), media));
    expect(missing).toBeInstanceOf(MediaError);
    expect(missing).toMatchObject({ code: 'MEDIA_NOT_FOUND', message: expect.stringContaining('nope.mkv') });
    expect(await rejection(inspectMaster(s.path('empty.mkv'), media))).toMatchObject({ code: 'MEDIA_EMPTY' });
    const garbage = await rejection(inspectMaster(s.path('garbage.mkv'), media));
    expect(garbage).toMatchObject({ code: 'MEDIA_UNREADABLE', message: expect.stringMatching(/not readable media.*Invalid data/) });
    expect(await rejection(inspectMaster(s.path('snd.mkv'), media))).toMatchObject({ code: 'MEDIA_NO_VIDEO' });
  });

  it('probe and jobs reject garbage streams with ffmpeg\'s reason, and leave no process', async () => {
    expect(await rejection(probe(s.source('garbage.mkv')))).toMatchObject({ code: 'MEDIA_UNREADABLE' });
    const failed = await rejection(pictureFx(s.source('garbage.mkv'), s.sink('out.mkv'), media));
    expect(failed).toMatchObject({ code: 'MEDIA_UNREADABLE', message: expect.stringContaining('picture-fx') });
    expect(await rejection(splitChunk(s.path('empty.mkv'), format, 0, media, s.sink('out2.mkv')))).toBeInstanceOf(MediaError);
    expect(childMediaProcesses()).toEqual([]);
  });

  it('a failed job destroys its output so a consumer never takes it as complete', async () => {
    let finished = false;
    let destroyedWith: Error | null = null;
    const out = new Writable({
      write: (_chunk, _enc, cb) => cb(),
      final: (cb) => ((finished = true), cb()),
      destroy: (err, cb) => ((destroyedWith = err), cb(err)),
    });
    await rejection(pictureFx(s.source('garbage.mkv'), out, media));
    expect(finished).toBe(false);
    expect(destroyedWith).toBeInstanceOf(MediaError);
  });

  it('an output stream error kills ffmpeg (an endless job would otherwise run forever)', async () => {
    let written = 0;
    const failing = new Writable({
      write(chunk: Buffer, _enc, cb) {
        written += chunk.length;
        cb(written > 200_000 ? new Error('disk full') : null);
      },
    });
    const err = await rejection(
      runFfmpeg({
        name: 'endless',
        output: failing,
        build: (command) => {
          command.input('testsrc2=size=320x180:rate=25').inputFormat('lavfi');
          command.outputOptions('-c:v', 'rawvideo', '-f', 'matroska');
        },
      }),
    );
    expect(err).toMatchObject({ code: 'MEDIA_OUTPUT_FAILED', message: expect.stringContaining('disk full') });
    expect(childMediaProcesses()).toEqual([]);
  });

  it('an input stream error or abort kills ffmpeg; a source that cannot open is reported', async () => {
    const broken = () =>
      new Readable({
        read() {
          this.destroy(new Error('sealed object failed authentication'));
        },
      });
    const inputErr = await rejection(pictureFx(broken, s.sink('x.mkv'), media));
    expect(inputErr).toMatchObject({ code: 'MEDIA_INPUT_FAILED', message: expect.stringContaining('authentication') });

    const cannotOpen = () => Promise.reject(new Error('no such object'));
    expect(await rejection(pictureFx(cannotOpen, s.sink('y.mkv'), media))).toMatchObject({ code: 'MEDIA_INPUT_FAILED' });

    const abort = new AbortController();
    const endless = runFfmpeg({
      name: 'endless',
      output: new Writable({ write: (_c, _e, cb) => (abort.abort(), cb()) }),
      signal: abort.signal,
      build: (command) => {
        command.input('testsrc2=size=160x90:rate=25').inputFormat('lavfi');
        command.outputOptions('-c:v', 'rawvideo', '-f', 'matroska');
      },
    });
    expect(await rejection(endless)).toMatchObject({ code: 'MEDIA_ABORTED' });
    expect(childMediaProcesses()).toEqual([]);
  });

  it('demux makes both outputs in one run; either failing fails both, and leaves no process (a reader waiting on the FIFO is released)', async () => {
    const outcome = () => {
      const seen = { finished: false, destroyedWith: null as Error | null, bytes: 0 };
      const stream = new Writable({
        write: (chunk: Buffer, _enc, cb) => ((seen.bytes += chunk.length), cb()),
        final: (cb) => ((seen.finished = true), cb()),
        destroy: (err, cb) => ((seen.destroyedWith = err), cb(err)),
      });
      return { seen, stream };
    };
    // Both outputs of the one run are whole: the same bytes as the separate files made above.
    const [picture, sound] = [outcome(), outcome()];
    await demux(s.source('av.mkv'), { picture: picture.stream, sound: sound.stream });
    expect([picture.seen.finished, sound.seen.finished]).toEqual([true, true]);
    expect([picture.seen.bytes, sound.seen.bytes]).toEqual([(await readFile(s.path('pic.mkv'))).length, (await readFile(s.path('snd.mkv'))).length]);

    // The sound (through the FIFO) fails: ffmpeg is killed, the picture is not taken as complete.
    const [picture2] = [outcome()];
    const failingSound = new Writable({ write: (_c, _e, cb) => cb(new Error('sound volume full')) });
    const err = await rejection(demux(s.source('av.mkv'), { picture: picture2.stream, sound: failingSound }));
    expect(err).toMatchObject({ code: 'MEDIA_OUTPUT_FAILED', message: expect.stringContaining('sound volume full') });
    expect(picture2.seen.finished).toBe(false);
    expect(picture2.seen.destroyedWith).toBeInstanceOf(MediaError);

    // ffmpeg fails before it opens the sound FIFO (garbage input): the sound output is failed too,
    // and the reader waiting on the FIFO is released (the call returns).
    const [picture3, sound3] = [outcome(), outcome()];
    expect(await rejection(demux(s.source('garbage.mkv'), { picture: picture3.stream, sound: sound3.stream }))).toBeInstanceOf(MediaError);
    expect([picture3.seen.finished, sound3.seen.finished]).toEqual([false, false]);
    expect(sound3.seen.destroyedWith).toBeInstanceOf(MediaError);
    expect(childMediaProcesses()).toEqual([]);
  });

  it('a wrong FFMPEG_PATH fails clearly (read at call time)', async () => {
    process.env.FFMPEG_PATH = s.path('no-ffmpeg-here');
    try {
      const err = await rejection(pictureFx(s.source('pic.mkv'), s.sink('z.mkv'), media));
      expect(err).toMatchObject({ code: 'MEDIA_JOB_FAILED', message: expect.stringContaining('no-ffmpeg-here') });
    } finally {
      delete process.env.FFMPEG_PATH;
    }
  });

  it('assemble leaves nothing on disk when a chunk is bad', async () => {
    const outPath = s.path('film.mkv');
    const err = await rejection(assemble({ pictures: [s.source('garbage.mkv')], sounds: [s.source('snd.mkv')] }, outPath, format));
    expect(err).toBeInstanceOf(MediaError);
    expect(err.message).toContain('assemble picture chunk 0');
    expect(existsSync(outPath)).toBe(false);
    expect((await readdir(s.dir)).filter((name) => name.includes('partial'))).toEqual([]);
    expect(childMediaProcesses()).toEqual([]);
    await expect(assemble({ pictures: [s.source('pic.mkv')], sounds: [] }, outPath, format)).rejects.toMatchObject({ code: 'MEDIA_INVALID_ARGUMENT' });
  });

  it('generateLut writes a full .cube that is a real look (not identity), values in range', async () => {
    await generateLut({ size: 33, outPath: s.path('look.cube') });
    const lines = (await readFile(s.path('look.cube'), 'utf8')).trim().split('\n');
    expect(lines).toContain('LUT_3D_SIZE 33');
    const points = lines.filter((line) => /^[\d.]+ [\d.]+ [\d.]+$/.test(line)).map((line) => line.split(' ').map(Number));
    expect(points).toHaveLength(33 ** 3);
    expect(points.flat().every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(points[0]).toEqual([0, 0, 0]); // black stays black
    expect(points[points.length - 1]).toEqual([1, 1, 1]); // white stays white
    const midGreyIndex = 16 + 16 * 33 + 16 * 33 * 33; // r fastest
    const lowBlueIndex = 8 + 8 * 33 + 8 * 33 * 33;
    expect(points[lowBlueIndex][2]).toBeGreaterThan(points[lowBlueIndex][0]); // shadows lean teal
    const highIndex = 28 + 28 * 33 + 28 * 33 * 33;
    expect(points[highIndex][0]).toBeGreaterThan(points[highIndex][2]); // highlights lean warm
    expect(points[midGreyIndex]).not.toEqual([0.5, 0.5, 0.5]);
    await expect(generateLut({ size: 1, outPath: s.path('bad.cube') })).rejects.toMatchObject({ code: 'MEDIA_INVALID_ARGUMENT' });
  });
});
