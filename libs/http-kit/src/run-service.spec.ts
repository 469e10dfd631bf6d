// A service whose parent dies while it is still starting (its start waiting on something that went
// with the parent, e.g. the control plane) leaves at once: nothing was accepted before its ready
// line and nobody is left to read it. Before, it finished (or waited out) its start, then stopped.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

const NEVER_STARTS = `
import { runService } from './libs/http-kit/src/run-service.ts';
runService('stuck', () => new Promise(() => {}));
setInterval(() => {}, 1000); // something else keeps the loop alive, as a retry timer would
`;

const LOADS_SLOWLY = `
await new Promise((resolve) => setTimeout(resolve, 1500)); // still loading its code when the parent dies
const { runService } = await import('./libs/http-kit/src/run-service.ts');
runService('late', () => new Promise(() => {}));
setInterval(() => {}, 1000);
`;

describe('runService, parent gone while starting', () => {
  it('exits without waiting for its start to finish', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', NEVER_STARTS], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    await once(child, 'spawn');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // well into its (endless) start
    expect(child.exitCode).toBeNull();
    const exited = once(child, 'exit');
    child.disconnect(); // what the child sees when its parent dies
    const [code, signal] = (await exited) as [number | null, string | null];
    // Orphaned, it leaves without flushing to a dead stdout: SIGKILL on itself (or 0).
    expect(code === 0 || signal === 'SIGKILL').toBe(true);
  }, 30_000);

  it('exits when the parent was gone before runService could listen for it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LOADS_SLOWLY], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    await once(child, 'spawn');
    const exited = once(child, 'exit');
    child.disconnect(); // during its load: nobody in it listens for 'disconnect' yet
    const [code, signal] = (await exited) as [number | null, string | null];
    expect(code === 0 || signal === 'SIGKILL').toBe(true);
  }, 30_000);
});
