import { join } from 'node:path';
import { isOutage, type JobHandler } from '@reelmesh/agent-kit';
import { HttpError } from '@reelmesh/http-kit';
import { assemble } from '@reelmesh/media';
import type { OwnerJobContext } from './context';

export const DELIVERABLE_NAME = 'deliverable.mp4';

/** The sink: every chunk's final picture and sound into the deliverable, then the owner's attestation. */
export function assembleJob(owner: OwnerJobContext): JobHandler {
  return {
    gather: async ({ inputs, attest }) => {
      if (!owner.exportDir) throw new HttpError(500, 'EXPORT_DISABLED', 'no export directory configured');
      const { run } = owner;
      run.assembling();
      const out = join(owner.exportDir, DELIVERABLE_NAME);
      // An outage is waited out by the runtime (it runs the gather again): only a verdict fails the run.
      const step = async (code: string, work: () => Promise<void>) =>
        work().catch((error: Error) => {
          if (!isOutage(error)) run.fail(code, error.message);
          throw error;
        });
      await step('ASSEMBLE_FAILED', () => assemble({ pictures: inputs.picture, sounds: inputs.sound ?? [] }, out, owner.format()));
      // Done only once the owner's signed attestation of the file is beside it.
      await step('ATTEST_FAILED', () => attest(out));
      run.done(out);
    },
  };
}
