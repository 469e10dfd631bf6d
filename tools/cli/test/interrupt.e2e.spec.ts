import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processesUsing, reelmesh } from './helpers';

describe('reelmesh demo under Ctrl-C', () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-sigint-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('stops every process it started: no orphans', async () => {
    const dataRoot = join(out, 'run', 'data');
    let pid = 0;
    const done = reelmesh(['demo', '--duration', '20', '--out', out, '--data-root', dataRoot], { onSpawn: (p) => (pid = p) });
    // Wait until the agents are up and chunks are flowing.
    const deadline = Date.now() + 120_000;
    while (processesUsing(dataRoot).length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(processesUsing(dataRoot).length).toBeGreaterThanOrEqual(7);
    process.kill(pid, 'SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('stopping every agent');
    expect(processesUsing(dataRoot)).toEqual([]);
  }, 180_000);

  it('a killed CLI leaves no orphans either: children exit when their parent is gone', async () => {
    const dataRoot = join(out, 'run2', 'data');
    let pid = 0;
    const done = reelmesh(['demo', '--duration', '20', '--out', out, '--data-root', dataRoot], { onSpawn: (p) => (pid = p) });
    const deadline = Date.now() + 120_000;
    while (processesUsing(dataRoot).length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    process.kill(pid, 'SIGKILL');
    await done;
    const gone = Date.now() + 40_000;
    while (processesUsing(dataRoot).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 250));
    expect(processesUsing(dataRoot)).toEqual([]);
  }, 180_000);
});
