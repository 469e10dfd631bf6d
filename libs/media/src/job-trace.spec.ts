import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseLoudness, ffmpegVersion, generateLut, generateSample, grade, renderLoudness, traceJob } from './index';
import { scratch, WORKFLOW_MEDIA as media, type Scratch } from './test-support';

// The job trace is what a step's provenance record commits to: it must name the exact tool build,
// the full argument list (filter graph included) and the LUT's digest, and nothing per-run.
describe('job trace (parameters of a media job)', () => {
  let s: Scratch;

  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 1, outPath: s.path('in.mkv'), width: 320, height: 180 });
    await generateLut({ size: 9, outPath: s.path('look.cube') });
    await generateLut({ size: 5, outPath: s.path('other.cube') });
  });
  afterAll(() => s?.dispose());

  const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

  it('records the ffmpeg build, the full filter graph and the LUT digest of a grade', async () => {
    const { parameters } = await traceJob(() => grade(s.source('in.mkv'), s.sink('a.mkv'), { lutPath: s.path('look.cube'), intermediate: media.intermediate }));
    expect(parameters.invocations).toHaveLength(1);
    const [run] = parameters.invocations;
    expect(run).toMatchObject({ name: 'grade', tool: 'ffmpeg', version: (await ffmpegVersion()).raw });
    const vf = run.args[run.args.indexOf('-vf') + 1];
    expect(vf).toMatch(/lut3d=file=.*lut\.cube.*:interp=tetrahedral/);
    expect(run.args.join(' ')).not.toContain(s.path('look.cube')); // per-run paths are aliased
    expect(parameters.assets.lut.sha256).toBe(await sha256(s.path('look.cube')));
  }, 60_000);

  it('gives the same parameters for the same LUT read from a file or streamed through a FIFO, other ones for another LUT', async () => {
    const fromFile = await traceJob(() => grade(s.source('in.mkv'), s.sink('b.mkv'), { lutPath: s.path('look.cube'), intermediate: media.intermediate }));
    const fromStream = await traceJob(() => grade(s.source('in.mkv'), s.sink('c.mkv'), { lut: async () => createReadStream(s.path('look.cube')), intermediate: media.intermediate }));
    const other = await traceJob(() => grade(s.source('in.mkv'), s.sink('d.mkv'), { lutPath: s.path('other.cube'), intermediate: media.intermediate }));
    expect(fromStream.parameters).toEqual(fromFile.parameters);
    expect(other.parameters.assets.lut.sha256).not.toBe(fromFile.parameters.assets.lut.sha256);
  }, 60_000);

  it('lists every pass of a multi-pass job in order, and traces are separate per job', async () => {
    const [a, b] = await Promise.all([
      traceJob(async () => {
        const programme = await analyseLoudness(s.source('in.mkv'), 0);
        await renderLoudness(s.source('in.mkv'), s.sink('e.mkv'), programme, media);
      }),
      traceJob(() => grade(s.source('in.mkv'), s.sink('f.mkv'), { lutPath: s.path('look.cube'), intermediate: media.intermediate })),
    ]);
    expect(a.parameters.invocations.map((i) => i.name)).toEqual(['loudness analyse', 'loudness render']);
    // The programme's gain and the limiter are in the render's arguments, hence in its provenance.
    expect(a.parameters.invocations.at(-1)?.args.join(' ')).toMatch(/acompressor=.*,volume=-?[\d.]+dB,apad=pad_len=\d+,alimiter=/);
    expect(a.parameters.assets).toEqual({});
    expect(b.parameters.invocations.map((i) => i.name)).toEqual(['grade']);
  }, 60_000);
});
