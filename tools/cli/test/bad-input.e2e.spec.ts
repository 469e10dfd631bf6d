import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processesUsing, reelmesh } from './helpers';

describe('reelmesh demo: bad input gets one readable line and leaves nothing running', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-bad-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const oneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n').filter((l) => l.startsWith('reelmesh:'));
    expect(lines).toHaveLength(1);
    return lines[0];
  };

  it('a corrupt master', async () => {
    const input = join(dir, 'corrupt.mkv');
    writeFileSync(input, Buffer.alloc(100_000, 0x5a));
    const dataRoot = join(dir, 'corrupt-run', 'data');
    const result = await reelmesh(['demo', '--input', input, '--out', join(dir, 'out1'), '--data-root', dataRoot]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/^reelmesh: error: owner refused the master: MEDIA_UNREADABLE: /);
    expect(processesUsing(dataRoot)).toEqual([]);
    expect(readdirSync(join(dir, 'out1'))).not.toContain('deliverable.mp4');
  }, 120_000);

  it('a missing or zero-length master', async () => {
    const missing = await reelmesh(['demo', '--input', join(dir, 'nope.mkv'), '--out', join(dir, 'out2')]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing.stderr)).toMatch(/is not a readable file/);
    const empty = join(dir, 'empty.mkv');
    writeFileSync(empty, '');
    const zero = await reelmesh(['demo', '--input', empty, '--out', join(dir, 'out3'), '--no-mesh', '--no-encryption']);
    expect(zero.code).toBe(1);
    expect(oneLine(zero.stderr)).toMatch(/MEDIA_EMPTY/);
  }, 120_000);

  it('a broken workflow file names the file, line and field', async () => {
    const wf = join(dir, 'workflow.yaml');
    writeFileSync(wf, 'apiVersion: reelmesh.io/v1\nkind: Workflow\nmetadata: { id: x, title: t, trustDomain: d.local }\nsteps: []\n');
    const result = await reelmesh(['demo', '--workflow', wf, '--out', join(dir, 'out4')]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(new RegExp(`^reelmesh: error: .*workflow\\.yaml:\\d+:\\d+ `));
  }, 60_000);

  it('a nonsensical duration', async () => {
    const result = await reelmesh(['demo', '--duration', 'ten']);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/--duration must be a number of seconds/);
  });

  it('--clean with --dashboard (the report would be deleted with the run folder it is served from)', async () => {
    const out = join(dir, 'clean-dashboard');
    const result = await reelmesh(['demo', '--clean', '--dashboard', '--out', out]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/--clean and --dashboard cannot be combined/);
    expect(readdirSync(dir)).not.toContain('clean-dashboard');
  });
});
