// The dashboard page, built once per server from apps/dashboard/src with esbuild (browser, one
// script and one stylesheet, every library inlined: the page loads nothing from the network).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '@reelmesh/workflow';

export interface PageAssets {
  /** path (`/`, `/assets/dashboard.js`, ...) -> body and content type. */
  files: Map<string, { body: Buffer; type: string }>;
}

export const PAGE_SOURCE = 'apps/dashboard/src';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

/** Bundle the page: index.html, /assets/dashboard.js and /assets/dashboard.css (from page.ts's imports). */
export async function buildPage(root = REPO_ROOT): Promise<PageAssets> {
  const source = join(root, PAGE_SOURCE);
  const result = await build({
    absWorkingDir: root,
    entryPoints: { dashboard: join(source, 'page.ts') },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    write: false,
    outdir: '/assets',
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'silent',
    legalComments: 'eof',
  });
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    const ext = name.slice(name.lastIndexOf('.'));
    files.set(`/assets/${name}`, { body: Buffer.from(file.contents), type: TYPES[ext] ?? 'application/octet-stream' });
  }
  if (!files.has('/assets/dashboard.js')) throw new Error(`the dashboard page did not build from ${source}`);
  files.set('/', { body: await readFile(join(source, 'index.html')), type: TYPES['.html'] });
  return { files };
}
