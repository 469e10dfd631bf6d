import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { requestJson } from '@reelmesh/http-kit';
import { bindAgain, listenAgain, ProcessGroup, type ProcessGroupEvents, type SpawnSpec, type SupervisionOptions } from './process-group';

const FIXTURE = fileURLToPath(new URL('./testing/fixture-service.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rm-pg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Short backoffs: these specs count restarts, they never time them. */
const FAST: SupervisionOptions = { initialBackoffMs: 5, maxBackoffMs: 20 };

const groups: ProcessGroup[] = [];
afterEach(async () => {
  for (const group of groups.splice(0)) await group.stop(1_000);
});

function newGroup(options: SupervisionOptions): ProcessGroup {
  const group = new ProcessGroup(options);
  groups.push(group);
  return group;
}

type Recorded = { [K in keyof ProcessGroupEvents]: Array<ProcessGroupEvents[K][0]> };

/** Every event of the group, in order, per kind. */
function record(group: ProcessGroup): Recorded {
  const seen: Recorded = { spawning: [], started: [], restarting: [], restarted: [], crashloop: [] };
  group.on('spawning', (e) => seen.spawning.push(e));
  group.on('started', (e) => seen.started.push(e));
  group.on('restarting', (e) => seen.restarting.push(e));
  group.on('restarted', (e) => seen.restarted.push(e));
  group.on('crashloop', (e) => seen.crashloop.push(e));
  return seen;
}

/** The next `event` of the group; a bound only so that a broken supervisor fails instead of hanging. */
function next<K extends keyof ProcessGroupEvents>(group: ProcessGroup, event: K, boundMs = 30_000): Promise<ProcessGroupEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event`)), boundMs);
    group.once(event, ((payload: ProcessGroupEvents[K][0]) => {
      clearTimeout(timer);
      resolve(payload);
    }) as never);
  });
}

function fixture(name: string, spec: Partial<SpawnSpec> = {}): SpawnSpec {
  return { name, entry: FIXTURE, env: {}, logFile: join(dir, `${name}.log`), ...spec };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function pidAt(endpoint: string): Promise<number> {
  return (await requestJson<{ pid: number }>(endpoint, '/')).pid;
}

describe('ProcessGroup supervision', () => {
  it('restarts a child killed with SIGKILL on the same port and socket, runs its afterReady hook again, and counts it', async () => {
    const group = newGroup(FAST);
    const seen = record(group);
    const hooks: number[] = [];
    const socket = `unix:${join(dir, 'kms-like.sock')}`;
    // Like the KMS: port 0 from the environment, bound again from the first ready line.
    const { process: kms, ready } = await group.spawn(
      fixture('kms-like', {
        args: ['--socket', socket],
        env: { FIXTURE_LISTEN: '127.0.0.1:0' },
        restartSpec: (first) => ({ env: { FIXTURE_LISTEN: listenAgain('127.0.0.1:0', first.endpoints.api) } }),
        afterReady: async (_ready, { restarts }) => void hooks.push(restarts),
      }),
    );
    const firstPid = kms.child.pid!;
    expect(await pidAt(ready.endpoints.api)).toBe(firstPid);
    // The first start is announced (a dashboard's start-up times): asked for, then up with its pid.
    expect(seen.spawning).toEqual([{ name: 'kms-like' }]);
    expect(seen.started).toEqual([{ name: 'kms-like', pid: firstPid, startupMs: expect.any(Number) }]);
    expect(seen.started[0].startupMs).toBeGreaterThanOrEqual(0);

    const restarted = next(group, 'restarted');
    process.kill(firstPid, 'SIGKILL');
    const event = await restarted;

    expect(seen.restarting).toEqual([{ name: 'kms-like', restarts: 1, exit: 'SIGKILL', delayMs: FAST.initialBackoffMs }]);
    expect(event).toMatchObject({ name: 'kms-like', restarts: 1, pid: kms.child.pid });
    expect(event.pid).not.toBe(firstPid);
    // Same endpoints, answered by the new incarnation: the killed one left its socket file behind.
    expect(event.ready.endpoints).toEqual(ready.endpoints);
    expect(kms.ready).toEqual(event.ready);
    expect(await pidAt(ready.endpoints.api)).toBe(event.pid);
    expect(await pidAt(socket)).toBe(event.pid);
    expect(hooks).toEqual([0, 1]);
    expect(group.restarts()).toEqual({ 'kms-like': 1 });
    expect(kms).toMatchObject({ restarts: 1, state: 'running' });
    expect(group.pids()).toEqual([event.pid]);
    expect(isAlive(firstPid)).toBe(false);
    expect(seen.crashloop).toEqual([]);
  });

  it("starts node with the spec's own flags before the program, in every incarnation", async () => {
    const group = newGroup(FAST);
    const flags = ['--initial-old-space-size=96', '--stack-size=2000'];
    const { process: child, ready } = await group.spawn(
      fixture('flagged', {
        nodeFlags: flags,
        env: { FIXTURE_LISTEN: '127.0.0.1:0' },
        restartSpec: (first) => ({ env: { FIXTURE_LISTEN: listenAgain('127.0.0.1:0', first.endpoints.api) } }),
      }),
    );
    const flagsAt = async () => (await requestJson<{ execArgv: string[] }>(ready.endpoints.api, '/')).execArgv;
    // execArgv holds node's flags (the spec's first, then how the program is started), in order.
    expect((await flagsAt()).slice(0, 2)).toEqual(flags);
    const restarted = next(group, 'restarted');
    process.kill(child.child.pid!, 'SIGKILL');
    await restarted;
    expect((await flagsAt()).slice(0, 2)).toEqual(flags);
  });

  it('brings a control-plane-like process that bound port 0 back on the same port', async () => {
    const group = newGroup(FAST);
    const args = ['--listen', '127.0.0.1:0'];
    const { process: cp, ready } = await group.spawn(
      fixture('cp-like', { args, stopPhase: 1, restartSpec: (first) => ({ args: bindAgain(args, '--listen', first.endpoints.api) }) }),
    );
    const restarted = next(group, 'restarted');
    process.kill(cp.child.pid!, 'SIGKILL');
    const event = await restarted;
    expect(event.ready.endpoints.api).toBe(ready.endpoints.api);
    expect(new URL(event.ready.endpoints.api).port).not.toBe('0');
    expect(await pidAt(ready.endpoints.api)).toBe(event.pid);
  });

  it('gives up after exactly maxRestarts failed restarts: a crashloop event with the reason from its log', async () => {
    const group = newGroup({ ...FAST, maxRestarts: 3 });
    const seen = record(group);
    const { process: flaky } = await group.spawn(fixture('flaky', { args: ['--once', join(dir, 'flaky.started')] }));
    const crashloop = next(group, 'crashloop');
    process.kill(flaky.child.pid!, 'SIGKILL');
    const event = await crashloop;

    expect(event).toMatchObject({ name: 'flaky', restarts: 3, exit: 1, logFile: flaky.logFile });
    expect(event.message).toMatch(/^flaky keeps crashing \(CrashLoopBackOff after 3 restarts\): CONFIG_INVALID: fixture already started once/);
    expect(seen.restarting.map((e) => [e.restarts, e.exit])).toEqual([
      [1, 'SIGKILL'],
      [2, 1],
      [3, 1],
    ]);
    // The backoff doubles up to its cap.
    expect(seen.restarting.map((e) => e.delayMs)).toEqual([5, 10, 20]);
    expect(seen.restarted).toEqual([]);
    expect(group.restarts()).toEqual({ flaky: 3 });
    expect(flaky.state).toBe('crashloop');
    expect(isAlive(flaky.child.pid!)).toBe(false);
  });

  it('kills a restart whose afterReady hook fails, and names the hook failure when it gives up', async () => {
    const group = newGroup({ ...FAST, maxRestarts: 2 });
    const { process: sidecar } = await group.spawn(
      fixture('policy-like', {
        afterReady: async (_ready, { restarts }) => {
          if (restarts > 0) throw new Error('no policy was published');
        },
      }),
    );
    const crashloop = next(group, 'crashloop');
    process.kill(sidecar.child.pid!, 'SIGKILL');
    const event = await crashloop;
    expect(event.message).toMatch(/^policy-like keeps crashing \(CrashLoopBackOff after 2 restarts\): no policy was published/);
    expect(event.exit).toBe('SIGKILL');
    expect(isAlive(sidecar.child.pid!)).toBe(false);
  });

  it('stop() during a backoff cancels the restart and leaves no process', async () => {
    // A backoff far longer than the test: the restart could only come from a timer stop() forgot.
    const group = newGroup({ initialBackoffMs: 600_000, maxBackoffMs: 600_000 });
    const seen = record(group);
    const { process: app } = await group.spawn(fixture('app'));
    const pid = app.child.pid!;
    const restarting = next(group, 'restarting');
    process.kill(pid, 'SIGKILL');
    expect(await restarting).toMatchObject({ name: 'app', restarts: 1, delayMs: 600_000 });
    expect(app.state).toBe('backoff');

    await group.stop(1_000);
    expect(app.state).toBe('stopped');
    expect(app.child.pid).toBe(pid);
    expect(isAlive(pid)).toBe(false);
    expect(seen.restarted).toEqual([]);
    expect(group.restarts()).toEqual({ app: 0 });
  });

  it('stop() while a restart is coming up stops that incarnation and restarts nothing more', async () => {
    const group = newGroup(FAST);
    const seen = record(group);
    // The restarted incarnation takes far longer than the test to be ready.
    const { process: app } = await group.spawn(fixture('slow', { restartSpec: () => ({ env: { FIXTURE_READY_DELAY_MS: '600000' } }) }));
    const firstPid = app.child.pid!;
    process.kill(firstPid, 'SIGKILL');
    const restartedPid = await until(() => (app.state === 'restarting' ? app.child.pid : undefined));
    expect(restartedPid).not.toBe(firstPid);

    await group.stop(500);
    expect(app.state).toBe('stopped');
    expect(isAlive(restartedPid)).toBe(false);
    expect(app.child.pid).toBe(restartedPid);
    expect(seen.restarted).toEqual([]);
    expect(seen.restarting).toHaveLength(1);
  });

  it('does not restart a child that failed its first start: spawn() rejects with its error line', async () => {
    const group = newGroup(FAST);
    const seen = record(group);
    const marker = join(dir, 'never.started');
    await group.spawn(fixture('once', { args: ['--once', marker] }));
    expect(existsSync(marker)).toBe(true);
    await expect(group.spawn(fixture('twice', { args: ['--once', marker] }))).rejects.toThrow(/twice exited \(1\) before it was ready .*CONFIG_INVALID: fixture already started once/);
    expect(seen.restarting).toEqual([]);
    // Asked for twice, up once: a process that never got ready is never announced as started.
    expect(seen.spawning.map((e) => e.name)).toEqual(['once', 'twice']);
    expect(seen.started.map((e) => e.name)).toEqual(['once']);
  });
});

/** Polls `probe` until it gives a value (bounded, so a broken supervisor fails instead of hanging). */
async function until<T>(probe: () => T | undefined, boundMs = 30_000): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
