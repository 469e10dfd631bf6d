// The sidecar as the runtime runs it: a process that prints the one ready line, serves OPA's API
// on the endpoint it names (TCP or a Unix socket), and on SIGTERM stops, delivers the decisions
// still queued for the ledger and flushes its decision log.
import { createServer, type Server } from 'node:http';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { request, requestJson } from '@reelmesh/http-kit';
import { runProgramToExit, startProgram, type StartedProgram } from '@reelmesh/http-kit/testing';
import { encodeFrame, FrameDecoder, generateDecisionVectors, loadPolicyData, policyDataJson, REPO_ROOT, type DecisionLogEntry, type PolicyInput } from '@reelmesh/policy';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { POLICY_SIDECAR } from './index';

const allowedInput = JSON.parse(readFileSync(join(REPO_ROOT, 'libs/policy/fixtures/input-allowed.json'), 'utf8')) as PolicyInput;
const DECIDE = '/v1/data/reelmesh/authz/decision';
// Tokens from the test's own environment must not leak into the sidecar (empty = unset).
const NO_TOKENS = { POLICY_UPDATE_TOKEN: '', REELMESH_AUDIT_TOKEN: '' };

let running: StartedProgram | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await running?.stop();
  running = undefined;
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-policy-sidecar-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface FakeLedger {
  url: string;
  events: Array<Record<string, unknown>>;
  tokens: string[];
  /** While true, every upload is answered 503 (the ledger is out): the sidecar keeps its queue. */
  down: boolean;
  /** Resolves once the uploads received satisfy `done` (checked at every upload). */
  until(done: (events: Array<Record<string, unknown>>) => boolean): Promise<void>;
}

/** A stand-in for the owner's audit ledger: records the gzipped JSON batches the decision log uploads. */
async function fakeLedger(): Promise<FakeLedger> {
  const waiting: Array<{ done: (events: Array<Record<string, unknown>>) => boolean; resolve: () => void }> = [];
  const ledger: FakeLedger = {
    url: '',
    events: [],
    tokens: [],
    down: false,
    until: (done) => (done(ledger.events) ? Promise.resolve() : new Promise((resolve) => waiting.push({ done, resolve }))),
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      if (ledger.down) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"AUDIT_UNAVAILABLE","message":"down"}}');
      ledger.tokens.push(req.headers.authorization ?? '');
      ledger.events.push(...(JSON.parse(gunzipSync(Buffer.concat(parts)).toString('utf8')) as Array<Record<string, unknown>>));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const w of waiting.filter((w) => w.done(ledger.events))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  ledger.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/audit/logs`;
  return ledger;
}

/** The decision ids in a decision log file, in order; a line that is not JSON is kept as null. */
function loggedIds(file: string): Array<string | null> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return (JSON.parse(line) as DecisionLogEntry).decision_id;
      } catch {
        return null;
      }
    });
}

describe('policy-sidecar process', () => {
  it('is the program the runtime starts', () => {
    expect(POLICY_SIDECAR).toEqual({ name: 'policy-sidecar', main: join(REPO_ROOT, 'apps/policy-sidecar/src/main.ts') });
  });

  it('on TCP: prints the ready line, decides, and on SIGTERM ships queued decisions and flushes its log', async () => {
    const logFile = join(tempDir(), 'decisions.jsonl');
    const ledger = await fakeLedger();
    const args = ['--listen', '127.0.0.1:0', '--decision-log', logFile, '--audit-url', ledger.url];
    running = await startProgram(POLICY_SIDECAR.main, args, { ...NO_TOKENS, REELMESH_AUDIT_TOKEN: 'pod-token' });
    const { ready, child } = running;
    expect(ready).toEqual({ event: 'ready', service: 'policy-sidecar', pid: child.pid, endpoints: { api: expect.stringMatching(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/) } });
    const api = ready.endpoints.api;
    expect((await request(api, '/health')).status).toBe(200);
    const answer = await requestJson<{ decision_id: string; result: unknown }>(api, DECIDE, { json: { input: allowedInput } });
    expect(answer.result).toEqual({ allowed: true, reason: 'allowed' });
    // Stopped at once: the decision is still queued for the ledger (it batches every 200 ms).
    expect(await running.stop()).toBe(0);
    expect(ledger.events.map((e) => e.decision_id)).toEqual([answer.decision_id]);
    expect(ledger.tokens).toEqual(['Bearer pod-token']);
    const logged = readFileSync(logFile, 'utf8').trim().split('\n').map((text) => JSON.parse(text) as DecisionLogEntry);
    expect(logged).toEqual([expect.objectContaining({ decision_id: answer.decision_id, path: 'reelmesh/authz/decision', reason: 'allowed' })]);
    // The decision log went to the file, not to stdout.
    expect(running.lines).toEqual([]);
  });

  it('on a Unix socket: waits for a push (POLICY_UPDATE_TOKEN), then decides; logs to stdout; removes the socket on stop', async () => {
    const socket = join(tempDir(), 'p.sock');
    running = await startProgram(POLICY_SIDECAR.main, ['--listen', `unix:${socket}`, '--wait-for-push'], { ...NO_TOKENS, POLICY_UPDATE_TOKEN: 'cp-token' });
    expect(running.ready).toEqual({ event: 'ready', service: 'policy-sidecar', pid: running.child.pid, endpoints: { api: `unix:${socket}` } });
    const api = running.ready.endpoints.api;
    expect((await request(api, '/health')).status).toBe(503);
    expect(await requestJson(api, DECIDE, { json: { input: allowedInput } })).toMatchObject({ result: { allowed: false, reason: 'policy_not_loaded' } });
    const push = (token: string) => request(api, '/v1/data/reelmesh', { method: 'PUT', json: loadPolicyData(), headers: { authorization: `Bearer ${token}` } });
    expect((await push('guess')).status).toBe(401);
    expect((await push('cp-token')).status).toBe(204);
    expect(await requestJson(api, DECIDE, { json: { input: allowedInput } })).toMatchObject({ result: { allowed: true, reason: 'allowed' } });
    expect(await running.stop()).toBe(0);
    expect(existsSync(socket)).toBe(false);
    // Without --decision-log, decisions are logged on stdout after the ready line.
    expect(running.lines.map((text) => (JSON.parse(text) as DecisionLogEntry).reason)).toEqual(['policy_not_loaded', 'allowed']);
  });

  it('with --data derived from another workflow (the mini one), decides as that workflow\'s vectors say, on the REST API and the check socket', async () => {
    const mini = parseWorkflow(MINI);
    const dir = tempDir();
    const file = join(dir, 'data.json');
    writeFileSync(file, policyDataJson(mini));
    const check = `unix:${join(dir, 'check.sock')}`;
    running = await startProgram(POLICY_SIDECAR.main, ['--listen', '127.0.0.1:0', '--check-listen', check, '--data', file, '--decision-log', join(dir, 'decisions.jsonl')], NO_TOKENS);
    expect(running.ready.endpoints).toEqual({ api: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/), check });
    const api = running.ready.endpoints.api;
    const vectors = generateDecisionVectors(mini).filter((v) => v.input !== undefined);
    expect(vectors.some((v) => v.expected.allowed) && vectors.some((v) => !v.expected.allowed)).toBe(true);
    for (const vector of vectors) expect((await requestJson<{ result: unknown }>(api, DECIDE, { json: { input: vector.input } })).result, vector.name).toEqual(vector.expected);
    // The same decisions on the check socket, all asked at once on one connection.
    const socket = connect(join(dir, 'check.sock'));
    const decoder = new FrameDecoder();
    const answers: Array<{ id: number; result: unknown }> = [];
    socket.on('data', (chunk: Buffer) => answers.push(...decoder.push(chunk).map((f) => JSON.parse(f.toString('utf8')) as { id: number; result: unknown })));
    socket.write(Buffer.concat(vectors.map((v, id) => encodeFrame({ id, input: v.input }))));
    while (answers.length < vectors.length && !socket.destroyed) await sleep(5);
    socket.destroy();
    expect(answers.map((a) => vectors[a.id].expected)).toEqual(answers.map((a) => a.result));
    expect(answers.map((a) => a.id)).toEqual(vectors.map((_, id) => id));
  });

  it('started again after kill -9 with the same flags, re-sends the decisions of its log to the ledger (line by line)', async () => {
    const logFile = join(tempDir(), 'decisions.jsonl');
    const ledger = await fakeLedger();
    const args = ['--listen', '127.0.0.1:0', '--decision-log', logFile, '--audit-url', ledger.url];
    const env = { ...NO_TOKENS, REELMESH_AUDIT_TOKEN: 'pod-token' };
    const decide = async (api: string) => (await requestJson<{ decision_id: string }>(api, DECIDE, { json: { input: allowedInput } })).decision_id;
    const ids = (events: Array<Record<string, unknown>>) => events.map((e) => e.decision_id);

    running = await startProgram(POLICY_SIDECAR.main, args, env);
    const shipped = await decide(running.ready.endpoints.api);
    await ledger.until((events) => ids(events).includes(shipped));
    // The ledger goes out: these two are written to the log but stay in the sidecar's memory only.
    ledger.down = true;
    const unshipped = [await decide(running.ready.endpoints.api), await decide(running.ready.endpoints.api)];
    // Written to the file (the write stream's turn may come after the answer): wait for the lines.
    while (loggedIds(logFile).length < 3) await sleep(10);
    // A crash in the middle of a line leaves half of one behind.
    appendFileSync(logFile, '{"decision_id":"cut-sh');
    running.child.kill('SIGKILL');
    expect(await running.stop()).toBe('SIGKILL');
    expect(ids(ledger.events)).toEqual([shipped]);

    ledger.down = false;
    running = await startProgram(POLICY_SIDECAR.main, args, env);
    const after = await decide(running.ready.endpoints.api);
    await ledger.until((events) => [...unshipped, after].every((id) => ids(events).includes(id)));
    // Everything the log held is sent again (the ledger keeps each decision_id once); the cut line is skipped.
    expect(ids(ledger.events).filter((id) => id === shipped)).toHaveLength(2);
    expect(ids(ledger.events)).not.toContain('cut-sh');
    expect(await running.stop()).toBe(0);
    expect(running.stderr()).toContain('"event":"decision_log_line_skipped","line":4');
    // The first decision of the new run is on a line of its own, after the cut one.
    expect(loggedIds(logFile)).toEqual([shipped, ...unshipped, null, after]);
  });

  it.each([
    ['a bad --listen', ['--listen', '8181'], '--listen'],
    // Found before the ready line, not by a crash at the first decision.
    ['a decision log it cannot open', ['--listen', '127.0.0.1:0', '--decision-log', '/nonexistent/reelmesh/decisions.jsonl'], '--decision-log'],
  ])('refuses %s with one error line on stderr and exit 1', async (_what, args, flag) => {
    const { code, errorLine, stdout } = await runProgramToExit(POLICY_SIDECAR.main, args, NO_TOKENS);
    expect(code).toBe(1);
    expect(errorLine).toEqual({ event: 'error', service: 'policy-sidecar', pid: expect.any(Number), code: 'CONFIG_INVALID', message: expect.stringContaining(flag) });
    expect(stdout).not.toContain('"event":"ready"');
  });
});
