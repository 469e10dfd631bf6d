// The sidecar as the runtime runs it: a process that prints the one ready line, serves OPA's API
// on the endpoint it names (TCP or a Unix socket), and on SIGTERM stops, delivers the decisions
// still queued for the ledger and flushes its decision log.
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { request, requestJson } from '@reelmesh/http-kit';
import { runProgramToExit, startProgram, type StartedProgram } from '@reelmesh/http-kit/testing';
import { loadPolicyData, REPO_ROOT, type DecisionLogEntry, type PolicyInput } from '@reelmesh/policy';
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

/** A stand-in for the owner's audit ledger: records the gzipped JSON batches the decision log uploads. */
async function fakeLedger(): Promise<{ url: string; events: Array<Record<string, unknown>>; tokens: string[] }> {
  const events: Array<Record<string, unknown>> = [];
  const tokens: string[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      tokens.push(req.headers.authorization ?? '');
      events.push(...(JSON.parse(gunzipSync(Buffer.concat(parts)).toString('utf8')) as Array<Record<string, unknown>>));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/audit/logs`, events, tokens };
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
