import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demux, ffmpegPath, filterJob, generateSample, hdr10, pqNits, probe, probeFrameSideData, splitChunk, inspectMaster, traceJob } from './index';
import { scratch, WORKFLOW_MEDIA as media, type Scratch } from './test-support';

// A filter job is a contractor's whole work as one ffmpeg chain (docs/contractors.md): the chunk
// must come out in the format it came in, carry the chain in its provenance, and be refused when the
// chain drops the picture to 8 bits or, after HDR mastering, lifts highlights past MaxCLL.
describe('filter jobs', () => {
  let s: Scratch;
  const framemd5 = (file: string, vf?: string) =>
    execFileSync(ffmpegPath(), ['-v', 'error', '-i', file, ...(vf ? ['-vf', vf] : []), '-map', '0:v:0', '-f', 'framemd5', '-'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(',').pop()?.trim());

  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 2, outPath: s.path('master.mkv'), width: 320, height: 180 });
    const { format } = await inspectMaster(s.path('master.mkv'), media);
    await splitChunk(s.path('master.mkv'), format, 0, media, s.sink('av.mkv'));
    await demux(s.source('av.mkv'), { picture: s.sink('picture.mkv'), sound: s.sink('sound.mkv') });
    await hdr10(s.source('picture.mkv'), s.sink('hdr.mkv'), media);
  }, 120_000);
  afterAll(() => s?.dispose());

  it('runs the chain on a 10-bit mezzanine chunk and hands it on in the same codec and pixel format, frame for frame, traced', async () => {
    const { parameters } = await traceJob(() => filterJob(s.source('picture.mkv'), s.sink('flipped.mkv'), { filter: 'hflip', media, name: 'flip' }));
    const [input, output] = [(await probe(s.path('picture.mkv'))).streams[0], (await probe(s.path('flipped.mkv'))).streams[0]];
    expect(input.pixFmt).toBe('yuv420p10le');
    expect(output).toMatchObject({ codec: input.codec, pixFmt: input.pixFmt, width: input.width, height: input.height });
    // Lossless mezzanine: the output is exactly the input with the chain applied, every frame of it.
    const expected = framemd5(s.path('picture.mkv'), 'hflip');
    expect(expected.length).toBeGreaterThan(10);
    expect(framemd5(s.path('flipped.mkv'))).toEqual(expected);
    expect(framemd5(s.path('flipped.mkv'))).not.toEqual(framemd5(s.path('picture.mkv')));
    const run = parameters.invocations.find((i) => i.name === 'flip');
    expect(run?.args[run.args.indexOf('-vf') + 1]).toBe('hflip,format=yuv420p10le');
  }, 60_000);

  it('refuses a chain that silently drops the 10-bit picture to 8 bits, before writing anything', async () => {
    // drawbox handles 8-bit formats only in ffmpeg 5.1: ffmpeg would convert to yuv420p and back.
    const out = s.sink('boxed.mkv');
    const job = filterJob(s.source('picture.mkv'), out, { filter: 'drawbox=x=10:y=10:w=40:h=40:color=black:t=fill', media });
    await expect(job).rejects.toMatchObject({ code: 'MEDIA_BIT_DEPTH_DROPPED', message: expect.stringMatching(/10-bit picture \(yuv420p10le\) to 8-bit yuv\w+/) });
    expect(out.destroyed).toBe(true);
    expect(!existsSync(s.path('boxed.mkv')) || statSync(s.path('boxed.mkv')).size === 0).toBe(true);
    // An explicit conversion is the same defect.
    await expect(filterJob(s.source('picture.mkv'), s.sink('eight.mkv'), { filter: 'format=yuv420p', media })).rejects.toMatchObject({ code: 'MEDIA_BIT_DEPTH_DROPPED' });
  }, 60_000);

  it('names a chain ffmpeg cannot build', async () => {
    await expect(filterJob(s.source('picture.mkv'), s.sink('bad.mkv'), { filter: 'nosuchfilter=1', media })).rejects.toMatchObject({
      code: 'MEDIA_INVALID_ARGUMENT',
      message: expect.stringContaining('nosuchfilter'),
    });
  }, 60_000);

  it('after HDR mastering: hands on HDR10 (HEVC Main 10, PQ, mastering metadata) when highlights stay within MaxCLL', async () => {
    await filterJob(s.source('hdr.mkv'), s.sink('hdr-flipped.mkv'), { filter: 'hflip', media });
    const [stream] = (await probe(s.path('hdr-flipped.mkv'))).streams;
    expect(stream).toMatchObject({ codec: 'hevc', profile: 'Main 10', pixFmt: 'yuv420p10le', colorPrimaries: 'bt2020', colorTransfer: 'smpte2084' });
    expect(await probeFrameSideData(s.path('hdr-flipped.mkv'))).toContain('Mastering display metadata');
  }, 120_000);

  it('after HDR mastering: refuses a chain that pushes highlights past the declared MaxCLL', async () => {
    // A full-white 10-bit luma (code 940) is 10 000 nits in PQ; the workflow declares 1000.
    const job = filterJob(s.source('hdr.mkv'), s.sink('hdr-bright.mkv'), { filter: "geq=lum='if(lt(X,40)*lt(Y,40),940,lum(X,Y))':cb='cb(X,Y)':cr='cr(X,Y)'", media });
    await expect(job).rejects.toMatchObject({ code: 'MEDIA_HDR_PEAK_EXCEEDED', message: expect.stringMatching(/to 10000 nits, past the workflow's declared MaxCLL of 1000 nits/) });
  }, 120_000);

  it('runs a sound chain and hands the sound on as the workflow PCM', async () => {
    await filterJob(s.source('sound.mkv'), s.sink('quiet.mkv'), { filter: 'volume=0.5', media });
    const [input, output] = [(await probe(s.path('sound.mkv'))).streams[0], (await probe(s.path('quiet.mkv'))).streams[0]];
    expect(output).toMatchObject({ type: 'audio', codec: 'pcm_s24le', sampleRate: input.sampleRate, channels: input.channels });
  }, 60_000);

  it('reads PQ code values as nits', () => {
    expect(pqNits(64, 10)).toBe(0);
    expect(pqNits(940, 10)).toBeCloseTo(10000, 0);
    // SDR reference white placed at 100 nits by the hdr step (zscale npl=100) is code ~509.
    expect(pqNits(509, 10)).toBeGreaterThan(95);
    expect(pqNits(509, 10)).toBeLessThan(105);
  });
});
