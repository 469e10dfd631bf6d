// The JSON Schema validators the bundles hold precompiled (ajv standalone, bundle.ts) answer
// exactly as the ones ajv compiles from source: same verdict and same errors (the workflow's
// messages quote them), on a valid document of each schema and on every one-field mutation of it.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MINI } from '@reelmesh/workflow/testing';
import { precompiledValidatorModule, precompiledValidators } from './bundle';
import { REPO_ROOT } from './test-support';

const out = mkdtempSync(join(REPO_ROOT, 'dist', '.validators-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** A valid document per validator file: every file found must have one. */
const VALID: Record<string, unknown> = {
  'libs/workflow/src/structure.validator.ts': parse(MINI),
  'libs/handoff/src/manifest.validator.ts': {
    version: 1,
    workflowId: 'film',
    step: 'grade',
    artifact: 'graded',
    chunkIndex: 2,
    chunkCount: 4,
    sha256: 'a'.repeat(64),
    byteLength: 1024,
    media: { container: 'matroska', durationSeconds: 2, startSeconds: 4, streams: [{ type: 'video', codec: 'ffv1', width: 1280, height: 720, frameRate: 24, pixelFormat: 'yuv422p10le' }] },
    producer: { agent: 'color', step: 'grade' },
    provenance: {},
  },
  'libs/agent-kit/src/config.validator.ts': {
    agent: 'vfx-1',
    dataDir: '/data',
    listen: 'unix:/pod/app.sock',
    peers: { color: 'https://127.0.0.1:4000' },
    concurrency: 2,
    logLevel: 'info',
    maxChunkBytes: 1 << 30,
    kms: { region: 'eu-west-1', keyId: 'k', allowedKeyIds: ['k'], accessKeyId: 'a', secretAccessKey: 's' },
  },
};

function validatorFiles(): string[] {
  return readdirSync(join(REPO_ROOT, 'libs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.validator.ts'))
    .map((f) => `libs/${f}`)
    .sort();
}

/** The document with one change at one place: the key removed, its value of another type, an unknown key added. */
function* mutations(doc: unknown, path: Array<string | number> = []): Generator<{ what: string; doc: unknown }> {
  if (doc === null || typeof doc !== 'object') return;
  const entries = Array.isArray(doc) ? doc.map((v, i) => [i, v] as const) : Object.entries(doc);
  if (!Array.isArray(doc)) yield { what: `${path.join('.')}: unknown key`, doc: { ...doc, unexpectedKey: 1 } };
  for (const [key, value] of entries) {
    const where = [...path, key].join('.');
    const without = structuredClone(doc) as Record<string | number, unknown>;
    if (Array.isArray(without)) without.splice(key as number, 1);
    else delete without[key];
    yield { what: `${where}: removed`, doc: without };
    for (const other of [42, -1, 'not-a-value', { nested: true }, [], null]) {
      if (JSON.stringify(other) === JSON.stringify(value)) continue;
      const changed = structuredClone(doc) as Record<string | number, unknown>;
      changed[key] = other;
      yield { what: `${where}: ${JSON.stringify(other)}`, doc: changed };
    }
    for (const inner of mutations(value, [...path, key])) {
      const changed = structuredClone(doc) as Record<string | number, unknown>;
      changed[key] = inner.doc;
      yield { what: inner.what, doc: changed };
    }
  }
}

async function precompiled(file: string): Promise<ValidateFunction> {
  const entry = join(out, `${relative('libs', file).replaceAll('/', '-')}.entry.mjs`);
  writeFileSync(entry, `export { validator } from ${JSON.stringify(join(REPO_ROOT, file))};\n`);
  const outfile = entry.replace('.entry.mjs', '.mjs');
  await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    logLevel: 'error',
    plugins: [precompiledValidators(REPO_ROOT)],
  });
  const source = await import(/* @vite-ignore */ pathToFileURL(outfile).href);
  return (source as { validator: () => ValidateFunction }).validator();
}

describe('precompiled validators', () => {
  it('every *.validator.ts of the libraries has a valid document here', () => {
    expect(validatorFiles()).toEqual(Object.keys(VALID).sort());
  });

  for (const file of Object.keys(VALID)) {
    it(`${file}: the bundle's precompiled validator gives the same verdict and errors as ajv from source`, async () => {
      const fromSource = ((await import(/* @vite-ignore */ pathToFileURL(join(REPO_ROOT, file)).href)) as { validator: () => ValidateFunction }).validator();
      const bundled = await precompiled(file);
      expect(bundled).not.toBe(fromSource);
      expect(bundled(VALID[file])).toBe(true);
      let compared = 0;
      let invalid = 0;
      for (const { what, doc } of [{ what: 'valid', doc: VALID[file] }, ...mutations(VALID[file]), { what: 'null', doc: null }, { what: 'list', doc: [] }]) {
        const expected = fromSource(doc);
        const errors = JSON.parse(JSON.stringify(fromSource.errors ?? null)) as unknown;
        expect(bundled(doc), what).toBe(expected);
        expect(JSON.parse(JSON.stringify(bundled.errors ?? null)), what).toEqual(errors);
        compared += 1;
        if (!expected) invalid += 1;
      }
      // The mutations really exercise the schema: most of them are refused.
      expect(invalid).toBeGreaterThan(compared / 2);
    });
  }

  it('the generated module keeps the schema, the options and what the schema is made of', async () => {
    const code = await precompiledValidatorModule(join(REPO_ROOT, 'libs/workflow/src/structure.validator.ts'));
    expect(code).toContain('export function validator()');
    expect(code).toContain('export const schema = {"$id":"https://reelmesh.io/schemas/workflow-v1.json"');
    expect(code).toContain('export * as __schemaInput0 from "./schema";');
    expect(code).not.toMatch(/from "ajv"/);
  });
});
