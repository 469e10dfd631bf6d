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
