// A small valid workflow for tests, one field per line where it matters, so tests can edit
// exact lines and assert exact positions.
export const MINI = `apiVersion: reelmesh.io/v1
kind: Workflow
metadata: { id: mini, title: Mini, trustDomain: test.local }
media:
  chunkSeconds: 2
  intermediate: { picture: x264-lossless, sound: pcm_s24le }
  delivery: { x265: { preset: ultrafast, crf: 28 } }
  deinterlace: bwdif
  loudness: { integratedLufs: -23, truePeakDbtp: -1 }
  lut: { ref: assets/look.cube, size: 17 }
  hdr: { masterDisplay: "G(1,2)B(3,4)R(5,6)WP(7,8)L(9,10)", maxCll: "1000,400" }
actors:
  - { name: owner, description: Owner }
  - { name: fx, description: Effects }
agents:
  - { name: owner, actor: owner, app: owner }
  - { name: fx-1, actor: fx, app: fx }
steps:
  - { name: split, agent: owner, job: split, source: true }
  - { name: demux, agent: fx-1, job: demux }
  - { name: assemble, agent: owner, job: assemble, sink: true }
edges:
  - { from: split, to: demux, artifact: av }
  - { from: demux, to: assemble, artifact: picture }
`;

/** MINI with 1-based line `n` replaced by `lines` (none: the line is deleted). */
export function replaceLine(n: number, ...lines: string[]): string {
  const all = MINI.split('\n');
  all.splice(n - 1, 1, ...lines);
  return all.join('\n');
}

/** MINI with `lines` inserted after 1-based line `n`. */
export function insertAfter(n: number, ...lines: string[]): string {
  const all = MINI.split('\n');
  all.splice(n, 0, ...lines);
  return all.join('\n');
}

/** 1-based line and column of the first `needle` at or after line `fromLine`: an oracle independent of the parser. */
export function positionOf(text: string, needle: string, fromLine = 1): { line: number; column: number } {
  const lines = text.split('\n');
  for (let i = fromLine - 1; i < lines.length; i++) {
    const column = lines[i].indexOf(needle);
    if (column >= 0) return { line: i + 1, column: column + 1 };
  }
  throw new Error(`"${needle}" not found`);
}

/**
 * A workflow shaped like the shipped film, for lib tests whose exact expectations need a real
 * graph but must not change when a contractor is added to policies/workflow.yaml. Two branches
 * (picture: demux -> picture-fx -> grade -> hdr-master; sound: demux -> sound-fx -> sound-master)
 * between the owner's split and assemble, over seven agents of five actors, one of them running
 * three agents: every kind of broken link has somewhere to happen.
 */
export const FILM_SHAPED = `apiVersion: reelmesh.io/v1
kind: Workflow
metadata: { id: feature-film, title: Film-shaped fixture, trustDomain: reelmesh.local }
media:
  chunkSeconds: 2
  intermediate: { picture: x264-lossless, sound: pcm_s24le }
  delivery: { x265: { preset: veryfast, crf: 18 } }
  loudness: { integratedLufs: -23, truePeakDbtp: -1 }
  lut: { ref: assets/color/film-look.cube, size: 33 }
  hdr: { masterDisplay: "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)", maxCll: "1000,400" }
actors:
  - { name: owner, description: Owner }
  - { name: vfx, description: Effects }
  - { name: color, description: Colourist }
  - { name: hdr, description: HDR mastering }
  - { name: sound, description: Sound mastering }
agents:
  - { name: owner, actor: owner, app: owner }
  - { name: vfx-1, actor: vfx, app: vfx, role: ingest }
  - { name: vfx-2, actor: vfx, app: vfx, role: picture }
  - { name: vfx-3, actor: vfx, app: vfx, role: sound-fx }
  - { name: color, actor: color, app: color }
  - { name: hdr, actor: hdr, app: hdr }
  - { name: sound, actor: sound, app: sound }
steps:
  - { name: split, agent: owner, job: split, source: true }
  - { name: demux, agent: vfx-1, job: demux }
  - { name: picture-fx, agent: vfx-2, job: picture-fx }
  - { name: sound-fx, agent: vfx-3, job: sound-fx }
  - { name: grade, agent: color, job: grade }
  - { name: hdr-master, agent: hdr, job: hdr10 }
  - { name: sound-master, agent: sound, job: loudness }
  - { name: assemble, agent: owner, job: assemble, sink: true }
edges:
  - { from: split, to: demux, artifact: av }
  - { from: demux, to: picture-fx, artifact: picture }
  - { from: demux, to: sound-fx, artifact: sound }
  - { from: picture-fx, to: grade, artifact: picture }
  - { from: sound-fx, to: sound-master, artifact: sound }
  - { from: grade, to: hdr-master, artifact: picture }
  - { from: hdr-master, to: assemble, artifact: picture }
  - { from: sound-master, to: assemble, artifact: sound }
`;
