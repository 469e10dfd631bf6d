import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSample, inspectMaster, probe, splitChunk, type MediaSettings } from './index';
import { outputArgs } from './codec-args';
import { runFfmpeg } from './run-ffmpeg';
import { scratch, SMALL_MEDIA, type Scratch } from './test-support';

// A master at the workflow's own size (160x90 here), so its picture can be copied.
const media: MediaSettings = { ...SMALL_MEDIA, resolution: { width: 160, height: 90 } };
const chunks = [0, 1, 2]; // 5 s -> 2 + 2 + 1 s

describe('splitChunk: copying a conforming picture, and sample-exact sound on both paths', () => {
  let s: Scratch;
  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 5, media, outPath: s.path('master.mkv') });
    for (const i of chunks) {
      await splitChunk(s.path('master.mkv'), i, media, s.sink(`copy-${i}.mkv`), { videoCopyable: true });
      await splitChunk(s.path('master.mkv'), i, media, s.sink(`encode-${i}.mkv`));
    }
  });
  afterAll(() => s?.dispose());

  it('inspectMaster says a generated master conforms, and not when size, B-frames or keyframes differ', async () => {
    expect((await inspectMaster(s.path('master.mkv'), media)).videoCopyable).toBe(true);
    expect((await inspectMaster(s.path('master.mkv'), SMALL_MEDIA)).videoCopyable).toBe(false); // 320x180 wanted
    const { resolution: _omitted, ...noResolution } = media;
    expect((await inspectMaster(s.path('master.mkv'), noResolution)).videoCopyable).toBe(false);
    await encodeMaster(s.path('bframes.mkv'), ['-bf', '3', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0']);
    expect((await inspectMaster(s.path('bframes.mkv'), media)).videoCopyable).toBe(false);
    await encodeMaster(s.path('gop30.mkv'), ['-bf', '0', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0']);
    expect((await inspectMaster(s.path('gop30.mkv'), media)).videoCopyable).toBe(false);
  });

  it('copied chunks are the master\'s own frames, each exactly once, as normalised A/V chunks', async () => {
    const infos = await Promise.all(chunks.map((i) => probe(s.source(`copy-${i}.mkv`))));
    for (const info of infos) {
      expect(info.streams.find((x) => x.type === 'video')).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', width: 160, height: 90, frameRate: 25, colorPrimaries: 'bt709' });
      expect(info.streams.find((x) => x.type === 'audio')).toMatchObject({ codec: 'pcm_s16le', sampleRate: 48000, channels: 2 });
    }
    expect(await Promise.all(chunks.map((i) => frameHashes(s.path(`copy-${i}.mkv`))))).toEqual(chunkedFrames(await frameHashes(s.path('master.mkv'))));
  });

  it('re-encoded chunks have exactly the master\'s frame count per chunk', async () => {
    expect((await Promise.all(chunks.map((i) => frameHashes(s.path(`encode-${i}.mkv`))))).map((f) => f.length)).toEqual([50, 50, 25]);
  });

  it('on both paths the chunks\' sound joins into exactly the master\'s sound (no sample lost at a boundary)', async () => {
    const master = await soundOf([s.path('master.mkv')]);
    expect(master.samples).toBe(5 * 48000);
    expect(await soundOf(chunks.map((i) => s.path(`copy-${i}.mkv`)))).toEqual(master);
    expect(await soundOf(chunks.map((i) => s.path(`encode-${i}.mkv`)))).toEqual(master);
  });

  async function encodeMaster(outPath: string, keyframeArgs: string[]): Promise<void> {
    await runFfmpeg({
      name: 'test master',
      build: (command) => {
        command.input('testsrc2=size=160x90:rate=25:duration=5').inputFormat('lavfi');
        outputArgs(command, ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', ...keyframeArgs,
          '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv', '-f', 'matroska']);
        command.output(outPath);
      },
    });
  }
});

/** Hash of every decoded picture, in order (framemd5). */
async function frameHashes(path: string): Promise<string[]> {
  let text = '';
  await runFfmpeg({
    name: 'frame hashes',
    output: new Writable({ write: (chunk: Buffer, _enc, cb) => ((text += chunk.toString()), cb()) }),
    build: (command) => {
      command.input(path);
      outputArgs(command, ['-map', '0:v:0', '-f', 'framemd5']);
    },
  });
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(',').pop()?.trim() ?? '');
}

function chunkedFrames(frames: string[]): string[][] {
  return chunks.map((i) => frames.slice(i * 50, (i + 1) * 50));
}

/** Decoded sound of the files one after another, as 16-bit stereo 48 kHz: sample count and hash. */
async function soundOf(paths: string[]): Promise<{ samples: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const path of paths) {
    await runFfmpeg({
      name: 'sound hash',
      output: new Writable({ write: (chunk: Buffer, _enc, cb) => ((bytes += chunk.length), hash.update(chunk), cb()) }),
      build: (command) => {
        command.input(path);
        outputArgs(command, ['-map', '0:a:0', '-c:a', 'pcm_s16le', '-ar', '48000', '-ac', '2', '-f', 's16le']);
      },
    });
  }
  return { samples: bytes / 4, sha256: hash.digest('hex') };
}
