// Shared by this lib's *.spec.ts files only (not exported from index.ts).
import { createHash } from 'node:crypto';
import express, { type Express } from 'express';
import http from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FsObjectStore } from '@reelmesh/storage';
import { createHandoffRouter, type HandoffRouterOptions } from './handoff-router';
import { closeServer, jsonErrorHandler, listen as kitListen } from '@reelmesh/http-kit';
import type { HandoffManifest } from './manifest';
import type { ReceivedChunk } from './received-chunk';

export const WORKFLOW = 'feature-film';

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export function manifestFor(bytes: Buffer, overrides: Partial<HandoffManifest> = {}): HandoffManifest {
  return {
    version: 1,
    workflowId: WORKFLOW,
    step: 'demux',
    artifact: 'av',
    chunkIndex: 0,
    chunkCount: 4,
    sha256: sha256(bytes),
    byteLength: bytes.length,
    media: { container: 'matroska', durationSeconds: 2 },
    producer: { agent: 'owner', step: 'split' },
    ...overrides,
  };
}

/** A temp dir holding the store root (`<dir>/store`), so writes outside the root are visible too. */
export async function tempStore(): Promise<{ dir: string; store: FsObjectStore; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'handoff-'));
  return { dir, store: new FsObjectStore(join(dir, 'store')), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every file under `dir`, partial files included, as relative paths. */
export async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(relative(dir, full));
    }
  };
  await walk(dir);
  return out.sort();
}

export interface TestApp {
  app: Express;
  received: ReceivedChunk[];
}

/** The router as an agent mounts it, accepting demux/av and picture-fx/picture. */
export function handoffApp(store: FsObjectStore, options: Partial<HandoffRouterOptions> = {}): TestApp {
  const received: ReceivedChunk[] = [];
  const app = express();
  app.use(
    createHandoffRouter({
      workflowId: WORKFLOW,
      agent: 'vfx-1',
      store,
      accepts: (step, artifact) => (step === 'demux' && artifact === 'av') || (step === 'picture-fx' && artifact === 'picture'),
      onReceived: (chunk) => {
        received.push(chunk);
      },
      ...options,
    }),
  );
  app.use(jsonErrorHandler());
  return { app, received };
}

export async function listen(handler: http.RequestListener, port = 0): Promise<{ server: http.Server; port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  const url = await kitListen(server, `127.0.0.1:${port}`);
  return { server, port: Number(new URL(url).port), close: () => closeServer(server, 0) };
}

export interface ResponseBody {
  status?: string;
  key?: string;
  error?: { code: string; message: string };
}

/** A POST with the path sent exactly as written (no URL normalisation of `..`). */
export function rawPost(port: number, path: string, body: Buffer, headers: Record<string, string | number>): Promise<{ status: number; body: ResponseBody }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers: { ...headers, 'content-length': body.length } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as ResponseBody }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Poll until `check` holds (for effects that finish after the response, e.g. cleanup on disconnect). */
export async function eventually(check: () => Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
