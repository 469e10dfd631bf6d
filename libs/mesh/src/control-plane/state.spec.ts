// The control plane's state file under a burst of changes (every pod enrolling at once): each
// save resolves only once a write holding its change is durable, and the burst costs a write in
// flight plus one shared write, not one durable write per change in a row.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const writes: string[] = [];
vi.mock('@reelmesh/storage', async (importOriginal) => {
  const real = await importOriginal<typeof import('@reelmesh/storage')>();
  return {
    ...real,
    writeFileAtomic: async (...args: Parameters<typeof real.writeFileAtomic>) => {
      writes.push(String(args[1]));
      return real.writeFileAtomic(...args);
    },
  };
});
const { STATE_FILE, StateFile } = await import('./state');

const dir = mkdtempSync(join(tmpdir(), 'reelmesh-cp-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('StateFile.save', () => {
  it('a burst of saves shares writes, and each resolves with its own change on disk', async () => {
    const file = new StateFile(dir);
    const enrolments: Array<{ tokenSha256: string; actor: string; agent: string; spiffeId: string }> = [];
    const snapshot = () => ({ version: 1, trustDomain: 'td', enrolments: [...enrolments], registry: [], sidecars: [] }) as never;
    const onDisk = () => (JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { enrolments: Array<{ agent: string }> }).enrolments.map((e) => e.agent);
    const enrol = (i: number) => {
      enrolments.push({ tokenSha256: `${i}`, actor: 'a', agent: `agent-${i}`, spiffeId: `spiffe://td/ns/a/sa/agent-${i}` });
      return file.save(snapshot).then(() => expect(onDisk()).toContain(`agent-${i}`));
    };
    // Seven at once: one write holds them all.
    await Promise.all(Array.from({ length: 7 }, (_, i) => enrol(i)));
    expect(writes.length).toBe(1);
    // One under way, three more meanwhile: they share the one write queued behind it.
    const first = enrol(7);
    await vi.waitFor(() => expect(writes.length).toBe(2)); // the write of agent-7 has started
    await Promise.all([first, enrol(8), enrol(9), enrol(10)]);
    expect(writes.length).toBe(3);
    expect(onDisk()).toEqual(enrolments.map((e) => e.agent));
  });
});
