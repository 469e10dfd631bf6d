import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '@reelmesh/http-kit';
import { createCheckServer, encodeFrame, FrameDecoder, generateDecisionVectors, generatePolicyData, POLICY_NOT_LOADED, startPolicySidecar, type DecideCheck } from '@reelmesh/policy';
import { loadWorkflow } from '@reelmesh/workflow';
import { createCheckClient } from './check-client';
import type { OpaInput } from './opa-input';
import type { PolicyClient } from './policy-client';

const input = (who: string) => ({ attributes: { source: { principal: who } } }) as unknown as OpaInput;
const whoAsked = (i: unknown) => (i as { attributes: { source: { principal: string } } }).attributes.source.principal;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function socketPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rm-check-client-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return `unix:${join(dir, 'check.sock')}`;
}

function client(address: string, timeoutMs = 500): PolicyClient {
  const c = createCheckClient({ address, timeoutMs });
  cleanups.push(() => c.close());
  return c;
}

async function checkServer(decide: DecideCheck, address = socketPath()) {
  const checks = createCheckServer(decide);
  await listen(checks.server, address);
  cleanups.push(() => checks.close());
  return { address, checks };
}

/** A check socket that misbehaves as `onAsk` says (answers late, refuses, hangs up...). */
async function rawServer(onAsk: (socket: Socket, ask: { id: number; input: unknown }) => void) {
  const address = socketPath();
  const connections: Socket[] = [];
  const server: Server = createServer((socket) => {
    connections.push(socket);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) onAsk(socket, JSON.parse(frame.toString('utf8')) as { id: number; input: unknown });
    });
  });
  await listen(server, address);
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const s of connections) s.destroy();
    server.close(() => resolve());
  }));
  return { address, connections };
}

const allowOwner: DecideCheck = (i) => {
  const allowed = whoAsked(i) === 'owner';
  return { decision_id: 'd', result: { allowed, reason: allowed ? 'allowed' : 'edge_forbidden' } };
};

describe('check-socket policy client', () => {
  it("decides every vector of the loaded workflow as a real sidecar's check socket says, many checks in flight on one connection", async () => {
    const wf = loadWorkflow();
    const sidecar = await startPolicySidecar({ data: generatePolicyData(wf), checkListen: socketPath() });
    cleanups.push(() => sidecar.stop());
    const policy = client(sidecar.checkAddress!);
    const vectors = generateDecisionVectors(wf);
    expect(vectors.some((v) => v.expected.allowed) && vectors.some((v) => !v.expected.allowed)).toBe(true);
    const decisions = await Promise.all(vectors.map((v) => policy.check(v.input as OpaInput)));
    decisions.forEach((d, i) => expect({ name: vectors[i].name, allowed: d.allowed, reason: d.reason }).toEqual({ name: vectors[i].name, allowed: vectors[i].expected.allowed, reason: vectors[i].expected.reason }));
    expect(decisions.every((d) => !d.unavailable || !d.allowed)).toBe(true);
  });

  it('fails closed when no sidecar listens, and connects once one does', async () => {
    const address = socketPath();
    const policy = client(address);
    expect(await policy.check(input('owner'))).toMatchObject({ allowed: false, unavailable: true, reason: expect.stringMatching(/unreachable/) });
    await checkServer(allowOwner, address);
    expect(await policy.check(input('owner'))).toEqual({ allowed: true, reason: 'allowed', unavailable: false });
    expect(await policy.check(input('sound'))).toEqual({ allowed: false, reason: 'edge_forbidden', unavailable: false });
  });

  it('a check not answered in time fails closed; its late answer is ignored and the connection keeps serving', async () => {
    const { address } = await rawServer((socket, ask) => {
      const answer = encodeFrame({ id: ask.id, decision_id: 'd', result: { allowed: true, reason: whoAsked(ask.input) } });
      // The first ask is answered after its client gave up, the others at once.
      if (whoAsked(ask.input) === 'slow') setTimeout(() => socket.write(answer), 150);
      else socket.write(answer);
    });
    const policy = client(address, 50);
    expect(await policy.check(input('slow'))).toMatchObject({ allowed: false, unavailable: true, reason: expect.stringMatching(/did not answer within 50 ms/) });
    const later = policy.check(input('fast'));
    await new Promise((r) => setTimeout(r, 200));
    expect(await later).toEqual({ allowed: true, reason: 'fast', unavailable: false });
    expect(await policy.check(input('again'))).toMatchObject({ allowed: true, reason: 'again' });
  });

  it('every check waiting on a connection that drops fails closed; the next check connects again', async () => {
    let hangUp = true;
    const { address } = await rawServer((socket, ask) => {
      if (hangUp) {
        // Two asks arrive, then the sidecar dies without answering.
        if (ask.id === 1) socket.destroy();
        return;
      }
      socket.write(encodeFrame({ id: ask.id, decision_id: 'd', result: { allowed: true, reason: 'allowed' } }));
    });
    const policy = client(address);
    const waiting = [policy.check(input('a')), policy.check(input('b'))];
    for (const d of await Promise.all(waiting)) expect(d).toMatchObject({ allowed: false, unavailable: true, reason: expect.stringMatching(/closed the connection/) });
    hangUp = false;
    expect(await policy.check(input('c'))).toMatchObject({ allowed: true, unavailable: false });
  });

  it('a refusal, an answer without a boolean, and a sidecar without policy are all closed decisions', async () => {
    const { address } = await rawServer((socket, ask) => {
      const who = whoAsked(ask.input);
      const answer =
        who === 'refused' ? { id: ask.id, error: { code: 'AUDIT_UNAVAILABLE', message: 'ledger away' } }
        : who === 'no-boolean' ? { id: ask.id, decision_id: 'd', result: { allowed: 'yes' } }
        : { id: ask.id, decision_id: 'd', result: { allowed: false, reason: POLICY_NOT_LOADED } };
      socket.write(encodeFrame(answer));
    });
    const policy = client(address);
    expect(await policy.check(input('refused'))).toEqual({ allowed: false, unavailable: true, reason: 'policy sidecar refused the check: AUDIT_UNAVAILABLE: ledger away' });
    expect(await policy.check(input('no-boolean'))).toMatchObject({ allowed: false, unavailable: true, reason: expect.stringMatching(/no boolean/) });
    // Transient (the owner's push is on its way): the sender retries.
    expect(await policy.check(input('new-sidecar'))).toEqual({ allowed: false, unavailable: true, reason: POLICY_NOT_LOADED });
  });

  it('an id-less refusal or a bad frame drops the connection: every check on it fails closed', async () => {
    const { address } = await rawServer((socket, ask) => {
      if (whoAsked(ask.input) === 'garbage') socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
      else socket.write(encodeFrame({ id: null, error: { code: 'INVALID_FRAME', message: 'frame must be a JSON object' } }));
    });
    const policy = client(address);
    expect(await policy.check(input('x'))).toMatchObject({ allowed: false, unavailable: true, reason: expect.stringMatching(/refused the connection: frame must be a JSON object/) });
    expect(await policy.check(input('garbage'))).toMatchObject({ allowed: false, unavailable: true, reason: expect.stringMatching(/bad frame: .*over the .*cap/) });
  });

  it('after close() every check fails closed without a connection', async () => {
    const { checks, address } = await checkServer(allowOwner);
    const policy = client(address);
    expect((await policy.check(input('owner'))).allowed).toBe(true);
    policy.close();
    expect(await policy.check(input('owner'))).toMatchObject({ allowed: false, unavailable: true, reason: 'policy client closed' });
    const connections = () => new Promise<number>((resolve, reject) => checks.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    // The sidecar's side sees the hang-up a moment later.
    for (let i = 0; i < 100 && (await connections()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await connections()).toBe(0);
  });
});
