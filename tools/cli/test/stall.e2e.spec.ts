// A run is stopped when it is stuck, not when it is long: no total cap by default, and a run whose
// steps finish no chunk for the stall time fails, its run folder kept for --resume.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runWorkflow } from '../src/run-workflow';

const out = mkdtempSync(join(tmpdir(), 'reelmesh-stall-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('a stuck run', () => {
  it('fails once no step has finished a chunk for the stall time, and keeps the run to resume', async () => {
    // A stall time shorter than any step: the first poll that sees no new chunk finished is a stall.
    const failure = (await runWorkflow({ durationSeconds: 2, outDir: out, mesh: false, encryption: false, stallTimeoutMs: 1 }).then(
      () => undefined,
      (error: Error) => error,
    )) as (Error & { runDir?: string }) | undefined;
    expect(failure?.message).toMatch(/^workflow stalled: no step finished a chunk for 0 s \(the run is kept: continue it with reelmesh demo --resume /);
    expect(failure?.runDir && existsSync(failure.runDir)).toBe(true);
  }, 120_000);
});
