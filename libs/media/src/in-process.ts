import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { assemble } from './assemble';
import { demux } from './demux';
import type { ProgrammeFormat } from './format';
import { grade } from './grade';
import { hdr10 } from './hdr10';
import { inspectMaster } from './inspect-master';
import { pictureFx } from './picture-fx';
import { analyseLoudness, combineAnalyses, EMPTY_ANALYSIS, renderLoudness } from './programme-loudness';
import type { MediaSettings } from './settings';
import { soundFx } from './sound-fx';
import { splitChunk } from './split-chunk';

export interface InProcessOptions {
  masterPath: string;
  /** Where every chunk file goes: av-i, pic-i, snd-i, fx-i, graded-i, hdr-i, sfx-i, mastered-i (.mkv). */
  dir: string;
  media: MediaSettings;
  lutPath: string;
  /** The deliverable's file name in `dir`. */
  out: string;
  /** Wraps every job (by the job's name: split, demux, picture-fx, ...), e.g. to time it. */
  time?: (job: string, run: () => Promise<unknown>) => Promise<unknown>;
}

/**
 * Every job of the film workflow, one at a time in this process, on files: split -> demux ->
 * picture-fx -> grade -> hdr10 and sound-fx -> loudness (analyse every chunk, then render with the
 * programme's gain) -> assemble. What the mesh runs, minus the mesh: the bench's steps-alone
 * baseline, and the specs' way to take a master through the chain.
 */
export async function runJobsInProcess(options: InProcessOptions): Promise<{ format: ProgrammeFormat; chunks: number[]; deliverable: string }> {
  const { masterPath, dir, media, lutPath } = options;
  const time = options.time ?? ((_job: string, run: () => Promise<unknown>) => run());
  const file = (name: string) => join(dir, name);
  const src = (name: string) => () => createReadStream(file(name));
  const sink = (name: string) => createWriteStream(file(name));
  const { format } = await inspectMaster(masterPath, media, { requireSound: true });
  const chunks = Array.from({ length: format.chunkCount }, (_, i) => i);
  let programme = EMPTY_ANALYSIS;
  for (const i of chunks) {
    await time('split', () => splitChunk(masterPath, format, i, media, sink(`av-${i}.mkv`)));
    await time('demux', () => demux(src(`av-${i}.mkv`), { picture: sink(`pic-${i}.mkv`), sound: sink(`snd-${i}.mkv`) }));
    await time('picture-fx', () => pictureFx(src(`pic-${i}.mkv`), sink(`fx-${i}.mkv`), media));
    await time('sound-fx', () => soundFx(src(`snd-${i}.mkv`), sink(`sfx-${i}.mkv`), media));
    await time('grade', () => grade(src(`fx-${i}.mkv`), sink(`graded-${i}.mkv`), { lutPath, intermediate: media.intermediate }));
    await time('hdr10', () => hdr10(src(`graded-${i}.mkv`), sink(`hdr-${i}.mkv`), media));
    await time('loudness', async () => (programme = combineAnalyses(programme, await analyseLoudness(src(`sfx-${i}.mkv`), i))));
  }
  for (const i of chunks) await time('loudness', () => renderLoudness(src(`sfx-${i}.mkv`), sink(`mastered-${i}.mkv`), programme, media));
  const deliverable = file(options.out);
  await time('assemble', () =>
    assemble({ pictures: chunks.map((i) => src(`hdr-${i}.mkv`)), sounds: chunks.map((i) => src(`mastered-${i}.mkv`)) }, deliverable, format),
  );
  return { format, chunks, deliverable };
}
