import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfigFromEnv, createStores } from '@reelmesh/agent-kit';
import { readHeader } from '@reelmesh/envelope';
import type { LocalRuntime } from '@reelmesh/runtime';
import type { ObjectContext } from '@reelmesh/storage';
import { loadWorkflow } from '@reelmesh/workflow';
import { runWorkflow, type RunWorkflowResult } from '../src/run-workflow';
import { listFiles, scanForPlaintext } from './scan';

/** Every agent of the workflow keeps sealed objects. */
const AGENTS = loadWorkflow().agents.length;

/**
 * Issue: nothing under the data root may ever hold plaintext, and each stored object opens only
 * with its own encryption context and by the agents it names. Checked on a live secure run.
 */
describe('at rest: every stored byte is sealed under KMS data keys', () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-at-rest-'));
  let result: RunWorkflowResult;
  const opened: Array<{ agent: string; file: string; ok: boolean; wrongContext: string; otherAgent: string }> = [];

  async function probeFiles(runtime: LocalRuntime, res: RunWorkflowResult) {
    // `agent`'s credentials over the volume at `dataDir` (a copy of someone else's volume, say).
    const storesOf = (agent: string, dataDir = runtime.agents[agent].dataDir) =>
      createStores(agentConfigFromEnv({ ...runtime.kms!.envFor(agent), REELMESH_AGENT: agent, REELMESH_DATA_DIR: dataDir }));
    for (const agent of Object.keys(runtime.agents)) {
      const dataDir = runtime.agents[agent].dataDir;
      const all = await listFiles(dataDir);
      const files = [...all.filter((f) => f.endsWith('.mkv')).slice(0, 2), ...all.filter((f) => f.includes('/assets/'))];
      const stores = storesOf(agent);
      for (const file of files) {
        const header = readHeader(await readFile(file));
        const ctx = header.context as Record<string, string>;
        const isAsset = relative(dataDir, file).startsWith('assets/');
        const store = isAsset ? stores.assets! : stores.data;
        const key = ctx.object;
        const context: ObjectContext = {
          workflowId: ctx.workflow,
          step: ctx.step,
          agent: ctx.agent,
          ...(ctx.recipients ? { recipients: ctx.recipients.split(',') } : {}),
        };
        const bytes = (await text(await store.createReadStream(key, context))).length;
        const wrongContext = await store
          .createReadStream(key, { ...context, step: 'assemble' })
          .then(() => 'opened')
          .catch((e) => e.code as string);
        // Another actor's agent, with its own credentials, tries the same object in the same context.
        const other = agent === 'sound' ? 'vfx-2' : 'sound';
        const otherStores = storesOf(other, dataDir);
        const otherStore = isAsset ? (otherStores.assets ?? otherStores.data) : otherStores.data;
        const otherAgent = await otherStore
          .createReadStream(key, context)
          .then(() => 'opened')
          .catch((e) => e.code as string);
        opened.push({ agent, file: relative(res.dataRoot, file), ok: bytes > 0, wrongContext, otherAgent });
      }
    }
  }

  beforeAll(async () => {
    result = await runWorkflow({ durationSeconds: 3, outDir: out, beforeStop: probeFiles });
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('ran with mesh and encryption on, and says how many KMS calls a chunk cost', () => {
    expect(result.security).toEqual({ mesh: true, encryption: true });
    expect(result.kmsCalls).toBeGreaterThan(0);
    expect(result.kmsCallsPerChunk).toBe(result.kmsCalls / result.chunks);
  });

  it('no file under the data root holds plaintext: no media or LUT signature, entropy above 7.9 bits/byte', async () => {
    const { files, findings } = await scanForPlaintext(result.dataRoot);
    expect(files).toBeGreaterThan(AGENTS * 4);
    expect(findings).toEqual([]);
  });

  it('each object opens with its own context only, and only for the agent it names', () => {
    expect(opened.length).toBeGreaterThan(AGENTS);
    expect(new Set(opened.map((o) => o.agent)).size).toBe(AGENTS);
    for (const o of opened) {
      expect(o.ok, o.file).toBe(true);
      expect(o.wrongContext, o.file).toBe('ENVELOPE_CONTEXT_MISMATCH');
      expect(['ENVELOPE_KMS_DENIED', 'ENVELOPE_KEY_NOT_ALLOWED'], `${o.file} opened by another agent`).toContain(o.otherAgent);
    }
  });

  it("the colourist's LUT is sealed under the color actor's own key, which no other actor can use", () => {
    const lut = opened.find((o) => o.agent === 'color' && o.file.includes('/assets/'));
    expect(lut).toMatchObject({ ok: true, wrongContext: 'ENVELOPE_CONTEXT_MISMATCH' });
    expect(['ENVELOPE_KMS_DENIED', 'ENVELOPE_KEY_NOT_ALLOWED']).toContain(lut!.otherAgent);
  });
});
