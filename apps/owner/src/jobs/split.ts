import type { JobHandler } from '@reelmesh/agent-kit';
import { splitChunk } from '@reelmesh/media';
import type { OwnerJobContext } from './context';

/** The source step: cuts chunk `chunkIndex` of the master, in the master's own format. */
export function splitJob(owner: OwnerJobContext): JobHandler {
  return async ({ chunkIndex, outputs }) => {
    await splitChunk(owner.masterPath(), owner.format(), chunkIndex, owner.media, outputs.av);
    owner.run.split();
  };
}
