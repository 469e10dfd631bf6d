import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegVersion, generateLut, generateSample, grade, masterLoudness, traceJob } from './index';
import { scratch, SMALL_MEDIA as media, type Scratch } from './test-support';

// The job trace is what a step's provenance record commits to: it must name the exact tool build,
// the full argument list (filter graph included) and the LUT's digest, and nothing per-run.
describe('job trace (parameters of a media job)', () => {
  let s: Scratch;

  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 1, media, outPath: s.path('in.mkv'), width: 320, height: 180 });
    await generateLut({ size: 9, outPath: s.path('look.cube') });
    await generateLut({ size: 5, outPath: s.path('other.cube') });
  });
  afterAll(() => s?.dispose());

  const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

  it('records the ffmpeg build, the full filter graph and the LUT digest of a grade', async () => {
    const { parameters } = await traceJob(() => grade(s.source('in.mkv'), s.sink('a.mkv'), { lutPath: s.path('look.cube') }));
    expect(parameters.invocations).toHaveLength(1);
    const [run] = parameters.invocations;
    expect(run).toMatchObject({ name: 'grade', tool: 'ffmpeg', version: (await ffmpegVersion()).raw });
    const vf = run.args[run.args.indexOf('-vf') + 1];
    expect(vf).toMatch(/lut3d=file=.*lut\.cube.*:interp=tetrahedral/);
    expect(run.args.join(' ')).not.toContain(s.path('look.cube')); // per-run paths are aliased
    expect(parameters.assets.lut.sha256).toBe(await sha256(s.path('look.cube')));
  }, 60_000);

  it('gives the same parameters for the same LUT read from a file or streamed through a FIFO, other ones for another LUT', async () => {
    const fromFile = await traceJob(() => grade(s.source('in.mkv'), s.sink('b.mkv'), { lutPath: s.path('look.cube') }));
    const fromStream = await traceJob(() => grade(s.source('in.mkv'), s.sink('c.mkv'), { lut: async () => createReadStream(s.path('look.cube')) }));
    const other = await traceJob(() => grade(s.source('in.mkv'), s.sink('d.mkv'), { lutPath: s.path('other.cube') }));
    expect(fromStream.parameters).toEqual(fromFile.parameters);
    expect(other.parameters.assets.lut.sha256).not.toBe(fromFile.parameters.assets.lut.sha256);
  }, 60_000);

  it('lists every pass of a multi-pass job in order, and traces are separate per job', async () => {
    const [a, b] = await Promise.all([
      traceJob(() => masterLoudness(s.source('in.mkv'), s.sink('e.mkv'), media)),
      traceJob(() => grade(s.source('in.mkv'), s.sink('f.mkv'), { lutPath: s.path('look.cube') })),
    ]);
    expect(a.parameters.invocations.length).toBeGreaterThanOrEqual(2);
    expect(a.parameters.invocations.map((i) => i.args.join(' ')).at(-1)).toMatch(/loudnorm=.*measured_I=/);
    expect(a.parameters.assets).toEqual({});
    expect(b.parameters.invocations.map((i) => i.name)).toEqual(['grade']);
  }, 60_000);
});
