// The workflow's jobs run one at a time in this process over the same chunks: the denominator of
// the pipelining ratio (end-to-end wall time / sum of steps run alone).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { assemble, demux, grade, hdr10, inspectMaster, masterLoudness, pictureFx, soundFx, splitChunk } from '@reelmesh/media';
import { REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';

/** step name -> seconds summed over every chunk (assemble: once over all chunks). */
export async function timeStepsAlone(masterPath: string, workDir: string): Promise<Record<string, number>> {
  const wf = loadWorkflow();
  const media = wf.media;
  const lutPath = resolve(REPO_ROOT, media.lut.ref);
  const dir = await mkdtemp(join(workDir, 'steps-'));
  const file = (name: string) => join(dir, name);
  const src = (name: string) => () => createReadStream(file(name));
  const sink = (name: string) => createWriteStream(file(name));
  const totals: Record<string, number> = {};
  const time = async (step: string, job: () => Promise<unknown>) => {
    const start = performance.now();
    await job();
    totals[step] = (totals[step] ?? 0) + (performance.now() - start) / 1000;
  };
  try {
    const master = await inspectMaster(masterPath, media);
    for (let i = 0; i < master.chunkCount; i++) {
      await time('split', () => splitChunk(masterPath, i, media, sink(`av-${i}.mkv`), { videoCopyable: master.videoCopyable }));
      await time('demux', () => demux(src(`av-${i}.mkv`), { picture: sink(`pic-${i}.mkv`), sound: sink(`snd-${i}.mkv`) }));
      await time('picture-fx', () => pictureFx(src(`pic-${i}.mkv`), sink(`fx-${i}.mkv`), media));
      await time('sound-fx', () => soundFx(src(`snd-${i}.mkv`), sink(`sfx-${i}.mkv`), media));
      await time('grade', () => grade(src(`fx-${i}.mkv`), sink(`graded-${i}.mkv`), { lutPath }));
      await time('hdr-master', () => hdr10(src(`graded-${i}.mkv`), sink(`hdr-${i}.mkv`), media));
      await time('sound-master', () => masterLoudness(src(`sfx-${i}.mkv`), sink(`mastered-${i}.mkv`), media));
    }
    const chunks = Array.from({ length: master.chunkCount }, (_, i) => i);
    await time('assemble', () =>
      assemble({ pictures: chunks.map((i) => src(`hdr-${i}.mkv`)), sounds: chunks.map((i) => src(`mastered-${i}.mkv`)) }, file('film.mp4'), media),
    );
    return totals;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
