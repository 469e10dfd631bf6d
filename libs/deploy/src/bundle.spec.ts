// The Nx build target's bundle really builds and starts: esbuild bundles the vfx app, and plain
// `node` runs it from the repository (npm packages resolve from node_modules, as in the image).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServiceLine } from '@reelmesh/http-kit';
import { bundleProgram, entryOf } from './bundle';
import { REPO_ROOT } from './test-support';

// Inside the repo, so the bundle resolves node_modules exactly as /app/dist/apps/<app>/main.cjs does.
mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
const outDir = mkdtempSync(join(REPO_ROOT, 'dist', '.bundle-test-'));
const dataDir = mkdtempSync(join(tmpdir(), 'reelmesh-bundle-'));
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('bundleProgram', () => {
  it('bundles the vfx app and the bundle serves /health under plain node, then drains on SIGTERM', async () => {
    const outfile = await bundleProgram({ repoRoot: REPO_ROOT, program: 'vfx', outfile: join(outDir, 'apps', 'vfx', 'main.cjs') });
    const child = spawn(process.execPath, [outfile], {
      env: { PATH: process.env.PATH, REELMESH_WORKFLOW: join(REPO_ROOT, 'policies/workflow.yaml'), REELMESH_AGENT: 'vfx-2', REELMESH_DATA_DIR: dataDir, REELMESH_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const api = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          for (const line of out.split('\n')) {
            const ready = parseServiceLine(line);
            if (ready?.event === 'ready') resolve(ready.endpoints.api);
          }
        });
        child.on('exit', (code) => reject(new Error(`bundle exited ${code} before listening: ${stderr}`)));
      });
      const response = await fetch(`${api}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok', agent: 'vfx-2' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('refuses a program name that is not a plain name', () => {
    expect(() => entryOf('../etc')).toThrow(/invalid program name/);
    expect(entryOf('kms-local')).toBe('apps/kms-local/src/main.ts');
    expect(entryOf('proxy-sidecar')).toBe('apps/proxy-sidecar/src/main.ts');
  });
});
