import type { JobHandler } from '@reelmesh/agent-kit';
import { demux } from '@reelmesh/media';

/** Ingest: each av chunk split into its picture and its sound, both kept as they are. */
export function demuxJob(): JobHandler {
  return ({ inputs, outputs }) => demux(inputs.av, { picture: outputs.picture, sound: outputs.sound });
}
