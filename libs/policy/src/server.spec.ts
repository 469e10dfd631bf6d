import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { requestJson } from '@reelmesh/http-kit';
import { loadWorkflow } from '@reelmesh/workflow';
import { loadDecisionVectors } from './files';
import { generatePolicyData } from './generate';
import { MAX_INPUT_BYTES, parseCheckListenAddress, POLICY_NOT_LOADED, startPolicySidecar, type PolicySidecar } from './server';
import { encodeFrame, FrameDecoder } from './check-protocol';
import type { DecisionLogEntry } from './decision-log';
import type { PolicyData, PolicyInput } from './types';
import { data, allowedInput, deniedInput } from './spec-support';


let sidecar: PolicySidecar | undefined;
afterEach(async () => {
  await sidecar?.stop();
  sidecar = undefined;
});

function collectLog() {
  const stream = new PassThrough();
  const lines: DecisionLogEntry[] = [];
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) lines.push(JSON.parse(part) as DecisionLogEntry);
  });
  return { stream, lines };
}

async function post(path: string, body: string | object | undefined) {
  const res = await fetch(`${sidecar!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('policy sidecar REST API (OPA shape)', () => {
  it('answers allow with true for an edge and false for anything else', async () => {
    sidecar = await startPolicySidecar({ data });
    expect((await post('/v1/data/reelmesh/authz/allow', { input: allowedInput })).body.result).toBe(true);
    expect((await post('/v1/data/reelmesh/authz/allow', { input: deniedInput })).body.result).toBe(false);
  });

  it('answers decision with allowed and reason', async () => {
    sidecar = await startPolicySidecar({ data });
    const res = await post('/v1/data/reelmesh/authz/decision', { input: deniedInput });
    expect(res.status).toBe(200);
    expect(res.body.result).toEqual({ allowed: false, reason: 'edge_forbidden' });
    expect(res.body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await post('/v1/data/reelmesh/authz/reason', { input: allowedInput })).body.result).toBe('allowed');
  });

  it('agrees with every decision vector over HTTP', async () => {
    sidecar = await startPolicySidecar({ data });
    for (const vector of loadDecisionVectors()) {
      const body = 'input' in vector ? { input: vector.input } : {};
      expect((await post('/v1/data/reelmesh/authz/decision', body)).body.result, vector.name).toEqual(vector.expected);
    }
  });

  it('denies when input is missing, empty or the body is empty', async () => {
    sidecar = await startPolicySidecar({ data });
    for (const body of [{}, { input: null }, { input: {} }, undefined, '']) {
      const res = await post('/v1/data/reelmesh/authz/allow', body);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.body.result, JSON.stringify(body)).toBe(false);
    }
  });

  it('rejects malformed JSON with 400 and an OPA-like error body', async () => {
    sidecar = await startPolicySidecar({ data });
    const res = await post('/v1/data/reelmesh/authz/allow', '{"input": ');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_parameter', error: { code: 'INVALID_PARAMETER' } });
    expect(res.body.message).toMatch(/malformed input document/);
    expect(res.body).not.toHaveProperty('result');
  });

  it('rejects a JSON body that is not an object', async () => {
    sidecar = await startPolicySidecar({ data });
    const res = await post('/v1/data/reelmesh/authz/allow', '[true]');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_parameter', error: { code: 'INVALID_PARAMETER' } });
    expect(res.body.message).toMatch(/malformed input document: .*must be a JSON object/);
  });

  it('rejects an oversized input with 413 and keeps serving', async () => {
    sidecar = await startPolicySidecar({ data });
    const res = await post('/v1/data/reelmesh/authz/allow', { input: { pad: 'x'.repeat(MAX_INPUT_BYTES) } });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'invalid_parameter', error: { code: 'INVALID_PARAMETER', message: expect.stringContaining(`${MAX_INPUT_BYTES} bytes`) } });
    expect((await post('/v1/data/reelmesh/authz/allow', { input: allowedInput })).body.result).toBe(true);
  });

  it('answers an undefined document with no result, like OPA', async () => {
    sidecar = await startPolicySidecar({ data });
    const res = await post('/v1/data/reelmesh/authz/allow_everything', { input: allowedInput });
    expect(res).toEqual({ status: 200, body: {} });
  });

  it('answers unknown endpoints and methods with JSON errors: OPA\'s code and message beside ReelMesh\'s', async () => {
    sidecar = await startPolicySidecar({ data });
    const missing = await fetch(`${sidecar.url}/v2/nothing`);
    expect(missing.status).toBe(404);
    const message = 'no such endpoint: /v2/nothing';
    expect(await missing.json()).toEqual({ code: 'resource_not_found', message, error: { code: 'RESOURCE_NOT_FOUND', message } });
    const wrong = await fetch(`${sidecar.url}/v1/data/reelmesh/authz/allow`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toMatchObject({ code: 'method_not_allowed', error: { code: 'METHOD_NOT_ALLOWED' } });
  });

  it('answers an internal failure with OPA\'s internal_error, leaking nothing, and denies', async () => {
    const failing = { accepting: () => true, record: () => { throw new Error('disk /var/secret is full'); } };
    sidecar = await startPolicySidecar({ data, auditSink: failing });
    const res = await post('/v1/data/reelmesh/authz/allow', { input: allowedInput });
    const message = 'policy evaluation failed';
    expect(res).toEqual({ status: 500, body: { code: 'internal_error', message, error: { code: 'INTERNAL_ERROR', message } } });
  });

  it('serves over a Unix socket (mode 0600), reachable with the http-kit client, and removes it on stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelmesh-policy-sock-'));
    const socket = join(dir, 'p.sock');
    try {
      sidecar = await startPolicySidecar({ data, listen: `unix:${socket}` });
      expect(sidecar.url).toBe(`unix:${socket}`);
      expect(statSync(socket).isSocket()).toBe(true);
      expect(statSync(socket).mode & 0o777).toBe(0o600);
      const path = '/v1/data/reelmesh/authz/decision';
      expect(await requestJson(sidecar.url, path, { json: { input: allowedInput } })).toMatchObject({ result: { allowed: true, reason: 'allowed' } });
      expect(await requestJson(sidecar.url, path, { json: { input: deniedInput } })).toMatchObject({ result: { allowed: false, reason: 'edge_forbidden' } });
      // Errors carry the standard code the client reads out.
      await expect(requestJson(sidecar.url, '/v2/nothing')).rejects.toMatchObject({ status: 404, code: 'RESOURCE_NOT_FOUND', message: 'no such endpoint: /v2/nothing' });
      await sidecar.stop();
      sidecar = undefined;
      expect(existsSync(socket)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops within its grace period even while a client holds a request open', async () => {
    sidecar = await startPolicySidecar({ data });
    const client = connect(Number(new URL(sidecar.url).port), '127.0.0.1');
    await once(client, 'connect');
    // Headers promise a body that never comes: the request stays in flight.
    client.write('POST /v1/data/reelmesh/authz/allow HTTP/1.1\r\nhost: sidecar\r\ncontent-length: 100\r\n\r\n{');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await sidecar.stop();
    sidecar = undefined;
    expect(Date.now() - started).toBeLessThan(5_000);
    client.destroy();
  });

  it('listens on a free loopback port by default and says so in its url', async () => {
    sidecar = await startPolicySidecar({ data });
    expect(sidecar.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  });

  it('reports health: 200 {} with a policy, 503 without, and denies everything without one', async () => {
    sidecar = await startPolicySidecar({});
    const unhealthy = await fetch(`${sidecar.url}/health`);
    expect(unhealthy.status).toBe(503);
    expect(await unhealthy.json()).toEqual({ code: 'policy_not_loaded', message: 'no policy data loaded', error: { code: 'POLICY_NOT_LOADED', message: 'no policy data loaded' } });
    expect((await post('/v1/data/reelmesh/authz/decision', { input: allowedInput })).body.result).toEqual({
      allowed: false,
      reason: 'policy_not_loaded',
    });
    sidecar.setData(data);
    const healthy = await fetch(`${sidecar.url}/health`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({});
    expect((await post('/v1/data/reelmesh/authz/allow', { input: allowedInput })).body.result).toBe(true);
  });
});

describe('decision log', () => {
  it('writes one JSON line per decision with id, time, path, input summary, result and duration', async () => {
    const log = collectLog();
    sidecar = await startPolicySidecar({ data, decisionLog: log.stream });
    const withSecret = structuredClone(allowedInput);
    withSecret.attributes.request.http.headers = { authorization: 'Bearer top-secret' };
    const first = await post('/v1/data/reelmesh/authz/allow', { input: withSecret });
    await post('/v1/data/reelmesh/authz/decision', { input: deniedInput });
    await post('/v1/data/reelmesh/authz/allow', {});

    expect(log.lines).toHaveLength(3);
    const [allowed, denied, empty] = log.lines;
    expect(allowed).toMatchObject({
      decision_id: first.body.decision_id,
      path: 'reelmesh/authz/allow',
      input: {
        source: 'spiffe://reelmesh.local/ns/owner/sa/owner',
        destination: 'spiffe://reelmesh.local/ns/vfx/sa/vfx-1',
        method: 'POST',
        path: '/v1/handoffs/feature-film/demux/av/3',
      },
      result: true,
      reason: 'allowed',
    });
    expect(Date.parse(allowed.timestamp)).not.toBeNaN();
    expect(allowed.duration_ms).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(log.lines)).not.toContain('top-secret');
    expect(denied).toMatchObject({ path: 'reelmesh/authz/decision', result: { allowed: false, reason: 'edge_forbidden' } });
    expect(empty).toMatchObject({ input: null, result: false, reason: 'source_principal_missing' });
    expect(new Set(log.lines.map((line) => line.decision_id)).size).toBe(3);
  });
});

describe('pushing data', () => {
  const wf = loadWorkflow();
  // A policy where vfx-1 may also send its sound to the owner.
  const extended: PolicyData = structuredClone(data) as PolicyData;
  const owner = 'spiffe://reelmesh.local/ns/owner/sa/owner';
  const vfx1 = 'spiffe://reelmesh.local/ns/vfx/sa/vfx-1';
  (extended.edges as Record<string, Record<string, unknown>>)[owner][vfx1] = { assemble: { sound: true } };
  const vfx1ToOwner: PolicyInput = {
    attributes: {
      source: { principal: vfx1 },
      destination: { principal: owner },
      request: { http: { method: 'POST', path: `/v1/handoffs/${wf.metadata.id}/assemble/sound/0` } },
    },
  };

  const put = (path: string, body: unknown, token?: string) =>
    fetch(`${sidecar!.url}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('PUT /v1/data/reelmesh with the token takes effect for the next decision', async () => {
    sidecar = await startPolicySidecar({ data, updateToken: 'control-plane-token' });
    expect((await post('/v1/data/reelmesh/authz/allow', { input: vfx1ToOwner })).body.result).toBe(false);
    const res = await put('/v1/data/reelmesh', extended, 'control-plane-token');
    expect(res.status).toBe(204);
    expect((await post('/v1/data/reelmesh/authz/allow', { input: vfx1ToOwner })).body.result).toBe(true);
    // PUT /v1/data replaces the root document.
    expect((await put('/v1/data', { reelmesh: data }, 'control-plane-token')).status).toBe(204);
    expect((await post('/v1/data/reelmesh/authz/allow', { input: vfx1ToOwner })).body.result).toBe(false);
  });

  it('refuses a push without the right token, and when updates are disabled', async () => {
    sidecar = await startPolicySidecar({ data, updateToken: 'control-plane-token' });
    expect((await put('/v1/data/reelmesh', extended)).status).toBe(401);
    expect((await put('/v1/data/reelmesh', extended, 'guess')).status).toBe(401);
    expect((await post('/v1/data/reelmesh/authz/allow', { input: vfx1ToOwner })).body.result).toBe(false);
    await sidecar.stop();

    sidecar = await startPolicySidecar({ data });
    const disabled = await put('/v1/data/reelmesh', extended, 'control-plane-token');
    expect(disabled.status).toBe(403);
    expect((await post('/v1/data/reelmesh/authz/allow', { input: vfx1ToOwner })).body.result).toBe(false);
  });

  it('rejects an invalid document with 400 and keeps the old policy', async () => {
    sidecar = await startPolicySidecar({ data, updateToken: 't' });
    const res = await put('/v1/data/reelmesh', { workflow: { id: 'x' }, principals: {}, edges: { a: { b: { c: { d: 'yes' } } } } }, 't');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'invalid_parameter', error: { code: 'INVALID_PARAMETER' } });
    expect((await post('/v1/data/reelmesh/authz/allow', { input: allowedInput })).body.result).toBe(true);
    expect((await put('/v1/data/other', data, 't')).status).toBe(404);
  });

  it('setData swaps the policy in-process; an invalid one throws and changes nothing', async () => {
    sidecar = await startPolicySidecar({ data });
    sidecar.setData(generatePolicyData(wf, { extraRules: 100 }));
    expect((await post('/v1/data/reelmesh/authz/allow', { input: allowedInput })).body.result).toBe(true);
    expect(() => sidecar!.setData({ workflow: { id: '' } } as unknown as PolicyData)).toThrow(/invalid policy data/);
    expect((await post('/v1/data/reelmesh/authz/allow', { input: allowedInput })).body.result).toBe(true);
  });
});

describe('the check socket (the pod proxy\'s way to ask)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const socketPath = () => {
    const dir = mkdtempSync(join(tmpdir(), 'rm-sidecar-check-'));
    dirs.push(dir);
    return `unix:${join(dir, 'check.sock')}`;
  };

  /** Sends the asks on one connection and reads as many answers. */
  async function ask(address: string, asks: object[]): Promise<Array<Record<string, unknown>>> {
    const socket = address.startsWith('unix:') ? connect(address.slice('unix:'.length)) : connect(Number(address.split(':').at(-1)), '127.0.0.1');
    await once(socket, 'connect');
    const decoder = new FrameDecoder();
    const answers: Array<Record<string, unknown>> = [];
    socket.on('data', (chunk: Buffer) => answers.push(...decoder.push(chunk).map((f) => JSON.parse(f.toString('utf8')) as Record<string, unknown>)));
    socket.write(Buffer.concat(asks.map((a) => encodeFrame(a))));
    while (answers.length < asks.length && !socket.destroyed) await new Promise((r) => setTimeout(r, 5));
    socket.destroy();
    return answers;
  }

  it('decides as the REST API does, and every decision is a decision-log line under its id', async () => {
    const log = collectLog();
    sidecar = await startPolicySidecar({ data, decisionLog: log.stream, checkListen: socketPath() });
    expect(sidecar.checkAddress).toMatch(/^unix:\//);
    const [allowed, denied] = await ask(sidecar.checkAddress!, [{ id: 1, input: allowedInput }, { id: 2, input: deniedInput }]);
    const rest = await post('/v1/data/reelmesh/authz/decision', { input: deniedInput });
    expect(allowed).toMatchObject({ id: 1, result: { allowed: true, reason: 'allowed' } });
    expect(denied).toMatchObject({ id: 2, result: rest.body.result });
    await sidecar.stop();
    sidecar = undefined;
    const logged = log.lines.filter((l) => l.decision_id === allowed.decision_id || l.decision_id === denied.decision_id);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ path: 'reelmesh/authz/decision', result: { allowed: true }, input: { source: allowedInput.attributes.source.principal } });
    expect(logged[1]).toMatchObject({ path: 'reelmesh/authz/decision', result: { allowed: false, reason: 'edge_forbidden' } });
  });

  it('fails closed: no policy yet is policy_not_loaded, an audit ledger that cannot take more is a refusal', async () => {
    sidecar = await startPolicySidecar({ checkListen: socketPath() });
    expect((await ask(sidecar.checkAddress!, [{ id: 3, input: allowedInput }]))[0]).toMatchObject({ id: 3, result: { allowed: false, reason: POLICY_NOT_LOADED } });
    await sidecar.stop();
    const recorded: unknown[] = [];
    sidecar = await startPolicySidecar({ data, checkListen: socketPath(), auditSink: { record: (e) => recorded.push(e), accepting: () => false } });
    expect((await ask(sidecar.checkAddress!, [{ id: 4, input: allowedInput }]))[0]).toEqual({ id: 4, error: { code: 'AUDIT_UNAVAILABLE', message: expect.stringMatching(/audit ledger/) } });
    expect(recorded).toEqual([]);
  });

  it('listens on a Unix socket or loopback only, and reports the port it got', async () => {
    await expect(startPolicySidecar({ data, checkListen: '0.0.0.0:0' })).rejects.toThrow(/Unix socket or loopback only/);
    expect(() => parseCheckListenAddress('10.1.2.3:8182')).toThrow(/loopback only/);
    sidecar = await startPolicySidecar({ data, checkListen: '127.0.0.1:0' });
    expect(sidecar.checkAddress).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect((await ask(sidecar.checkAddress!, [{ id: 5, input: allowedInput }]))[0]).toMatchObject({ id: 5, result: { allowed: true } });
  });

  it('stop() closes the persistent check connections', async () => {
    sidecar = await startPolicySidecar({ data, checkListen: socketPath() });
    const socket = connect(sidecar.checkAddress!.slice('unix:'.length));
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    await sidecar.stop();
    sidecar = undefined;
    await closed;
  });
});
