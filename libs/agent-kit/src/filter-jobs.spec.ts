import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import pino from 'pino';
import { probe } from '@reelmesh/media';
import { FsObjectStore } from '@reelmesh/storage';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { createAgentApp } from './create-agent-app';
import { validateAgentConfig } from './config';
import { makeChunks, runAppOnce } from './testing';

// The mini workflow with a filter-job step `tint` on fx-1 between demux and assemble: the app
// writes no handler for it; agent-kit runs the workflow's chain.
const workflow = parseWorkflow(
  MINI.replace('{ name: demux, agent: fx-1, job: demux }', '{ name: demux, agent: fx-1, job: demux }\n  - { name: tint, agent: fx-1, job: tint }').replace(
    'edges:\n  - { from: split, to: demux, artifact: av }\n  - { from: demux, to: assemble, artifact: picture }',
    'jobs:\n  - { name: tint, filter: "negate" }\nedges:\n  - { from: split, to: demux, artifact: av }\n  - { from: demux, to: tint, artifact: picture }\n  - { from: tint, to: assemble, artifact: picture }',
  ),
);

describe('filter jobs declared in the workflow', () => {
  it('are run by agent-kit for an app that writes no handler for them, and hand the chunk on in its own format', async () => {
    const { picture } = await makeChunks(workflow);
    const createApp = (config: Parameters<typeof createAgentApp>[0]['config'], deps: Parameters<typeof createAgentApp>[0]['deps']) =>
      createAgentApp({ config, deps, handlers: { demux: async () => undefined } });
    const out = await runAppOnce({ workflow, agent: 'fx-1', step: 'tint', artifact: 'picture', input: picture, createApp });
    const [input, output] = await Promise.all([probe(() => Readable.from([picture])), probe(() => Readable.from([out.owner]))]);
    expect(output.streams).toHaveLength(1);
    expect(output.streams[0]).toMatchObject({ codec: input.streams[0].codec, pixFmt: 'yuv420p10le', width: input.streams[0].width });
    expect(out.owner.equals(picture)).toBe(false);
  }, 90_000);

  it('refuses an app handler with the name of a filter job (which would run is ambiguous)', () => {
    const config = validateAgentConfig({ agent: 'fx-1', dataDir: '/tmp/unused-filter-jobs', listen: '127.0.0.1:0', peers: {}, concurrency: 1, logLevel: 'silent', maxChunkBytes: 1024 });
    const deps = { workflow, store: new FsObjectStore('/tmp/unused-filter-jobs'), logger: pino({ level: 'silent' }) };
    expect(() => createAgentApp({ config, deps, handlers: { demux: async () => undefined, tint: async () => undefined } })).toThrow(
      'job "tint" is both a filter job in the workflow and a handler of agent fx-1\'s app: rename one',
    );
  });
});
