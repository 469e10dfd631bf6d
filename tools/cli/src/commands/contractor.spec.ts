import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GENERATED_HEADER } from '@reelmesh/deploy';
import { loadWorkflow, REPO_ROOT, type Edge } from '@reelmesh/workflow';
import { unusedName } from '@reelmesh/plugin/testing';
import { registerContractor } from './contractor';

// Not a name the workflow already uses (a developer may have added a contractor called subs).
const NAME = unusedName('subs');

// A copy of the working tree (tracked and untracked files, node_modules linked): the commands run
// there, in-process and as the real `reelmesh` and `nx` binaries. Nothing is written into the repo.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'contractor-cli-'));
  const listed = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' });
  for (const path of new Set(listed.split('\0').filter(Boolean))) {
    const from = join(REPO_ROOT, path);
    if (existsSync(from) && statSync(from).isFile()) cpSync(from, join(dir, path));
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hashes(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      if (['node_modules', '.nx'].includes(entry.name)) continue;
      const path = rel === '' ? entry.name : posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[path] = createHash('sha256').update(readFileSync(join(dir, path))).digest('hex');
    }
  };
  walk('');
  return out;
}

const pictureEdge = (): Edge => loadWorkflow(join(dir, 'policies/workflow.yaml')).edges.find((edge) => edge.artifact === 'picture')!;
const addArgs = (name: string, edge: Edge, ...more: string[]) => ['add', name, '--after', edge.from, '--before', edge.to, '--artifact', edge.artifact, ...more];

/** `reelmesh contractor …` in-process against the copy: stdout lines, or the error main() would print. */
async function contractor(...args: string[]): Promise<{ out: string[]; error?: string }> {
  const program = new Command('reelmesh').exitOverride();
  registerContractor(program, dir);
  const out: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    await program.parseAsync(['node', 'reelmesh', 'contractor', ...args]);
    return { out };
  } catch (error) {
    return { out, error: (error as Error).message };
  } finally {
    write.mockRestore();
  }
}

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' } });
  // Nx colours its plan under CI=true (as .ci/run sets): compare the text, not the escape codes.
  const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
  return { status: result.status, stdout: plain(result.stdout), stderr: plain(result.stderr) };
}
const reelmesh = (...args: string[]) => run(process.execPath, ['tools/cli/bin/reelmesh.mjs', ...args]);

describe('reelmesh contractor', () => {
  it('--dry-run prints the plan (edges taken and added, files created/changed) and writes nothing', async () => {
    const before = hashes();
    const edge = pictureEdge();
    const { out, error } = await contractor(...addArgs(NAME, edge, '--filter', 'null', '--dry-run'));
    expect(error).toBeUndefined();
    expect(out).toEqual(
      expect.arrayContaining([
        `edge taken: ${edge.from} -> ${edge.to} (${edge.artifact})`,
        `edge added: ${edge.from} -> ${NAME} (${edge.artifact})`,
        `edge added: ${NAME} -> ${edge.to} (${edge.artifact})`,
        'changed: policies/workflow.yaml',
        `created: apps/${NAME}/src/app.spec.ts`,
        `created: docker/${NAME}.Dockerfile`,
        'changed: tsconfig.base.json',
        'dry run: nothing written',
      ]),
    );
    expect(hashes()).toEqual(before);
  });

  it.each([
    ['a name that is not a DNS label', ['Subs'], [], /^contractor: contractor name "Subs" is not a DNS-label name/],
    ['both --filter and --job', [NAME], ['--filter', 'null', '--job', 'trim'], /^contractor: give exactly one of --filter/],
    ['neither --filter nor --job', [NAME], [], /^contractor: give exactly one of --filter/],
  ])('refuses %s in one line and writes nothing', async (_, [name], more, message) => {
    const before = hashes();
    const { error } = await contractor(...addArgs(name, pictureEdge(), ...more));
    expect(error).toMatch(message);
    expect(error).not.toContain('\n');
    expect(hashes()).toEqual(before);
  });

  it('the real CLI: add, gen --check clean, an orphan reported then deleted by gen, remove: the tree is byte for byte the original', () => {
    const before = hashes();
    const edge = pictureEdge();
    const added = reelmesh('contractor', ...addArgs(NAME, edge, '--filter', 'null'));
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(existsSync(join(dir, `apps/${NAME}/src/app.ts`))).toBe(true);
    expect(reelmesh('gen', '--check')).toMatchObject({ status: 0, stdout: '' });

    writeFileSync(join(dir, 'docker/envoy/gone.yaml'), `${GENERATED_HEADER}\nadmin: {}\n`);
    const check = reelmesh('gen', '--check');
    expect(check.status).toBe(1);
    expect(check.stdout).toBe('orphaned: docker/envoy/gone.yaml\n');
    expect(check.stderr).toMatch(/1 orphaned/);
    const gen = reelmesh('gen');
    expect(gen.status).toBe(0);
    expect(gen.stdout).toContain('deleted: docker/envoy/gone.yaml');
    expect(existsSync(join(dir, 'docker/envoy/gone.yaml'))).toBe(false);

    const refused = reelmesh('contractor', ...addArgs(NAME, edge, '--filter', 'null'));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^reelmesh: error: contractor: an agent named ${NAME} already exists`));

    const removed = reelmesh('contractor', 'remove', NAME);
    expect(removed.status).toBe(0);
    expect(removed.stdout).toContain(`edge restored: ${edge.from} -> ${edge.to} (${edge.artifact})`);
    expect(hashes()).toEqual(before);
  }, 120_000);

  it('the Nx generators do the same: nx g @reelmesh/plugin:contractor, then contractor-remove', () => {
    const before = hashes();
    const edge = pictureEdge();
    const nx = (...args: string[]) => run(join(dir, 'node_modules/.bin/nx'), args);
    const dry = nx('g', '@reelmesh/plugin:contractor', NAME, '--after', edge.from, '--before', edge.to, '--artifact', edge.artifact, '--job', 'trim', '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`CREATE apps/${NAME}/src/jobs/trim.ts`);
    expect(hashes()).toEqual(before);

    const added = nx('g', '@reelmesh/plugin:contractor', NAME, '--after', edge.from, '--before', edge.to, '--artifact', edge.artifact, '--job', 'trim');
    expect(added.status, added.stderr).toBe(0);
    expect(existsSync(join(dir, `apps/${NAME}/src/jobs/trim.ts`))).toBe(true);
    expect(reelmesh('gen', '--check')).toMatchObject({ status: 0, stdout: '' });

    const removed = nx('g', '@reelmesh/plugin:contractor-remove', NAME);
    expect(removed.status, removed.stderr).toBe(0);
    expect(hashes()).toEqual(before);
  }, 180_000);
});
