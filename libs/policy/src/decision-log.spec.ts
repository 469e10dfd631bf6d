import { setImmediate as nextTurn } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createDecisionLogger, type DecisionLogEntry } from './decision-log';
import { startPolicySidecar, type PolicySidecar } from './server';
import { allowedInput, data, deniedInput } from './spec-support';

/** A stream that keeps every write it was given, as written. */
function recorder() {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString('utf8'));
      done();
    },
  });
  const lines = () => writes.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionLogEntry);
  return { stream, writes, lines };
}

const entry = (n: number) => ({ path: 'reelmesh/authz/allow', input: null, result: n % 2 === 0, reason: 'allowed', duration_ms: n });

describe('decision logger', () => {
  it('writes nothing on the decision path: the decisions of one turn reach the stream in one write after it', async () => {
    const out = recorder();
    const log = createDecisionLogger(out.stream);
    const ids = Array.from({ length: 50 }, (_, n) => log(entry(n)));
    expect(out.writes).toHaveLength(0);
    await nextTurn();
    expect(out.writes).toHaveLength(1);
    expect(out.lines().map((l) => l.decision_id)).toEqual(ids);
    expect(out.lines().map((l) => l.duration_ms)).toEqual(ids.map((_, n) => n));
  });

  it('flush() hands the pending decisions to the stream at once', () => {
    const out = recorder();
    const log = createDecisionLogger(out.stream);
    const ids = [log(entry(1)), log(entry(2))];
    log.flush();
    expect(out.lines().map((l) => l.decision_id)).toEqual(ids);
  });

  it('gives every decision to the audit sink at once', () => {
    const shipped: DecisionLogEntry[] = [];
    const log = createDecisionLogger(undefined, { record: (e) => shipped.push(e), accepting: () => true });
    const id = log(entry(3));
    expect(shipped).toEqual([expect.objectContaining({ decision_id: id, duration_ms: 3 })]);
  });
});

describe('decision log of a running sidecar', () => {
  let sidecar: PolicySidecar | undefined;
  afterEach(async () => {
    await sidecar?.stop();
    sidecar = undefined;
  });

  it('holds exactly one line per decision after a burst of concurrent requests and a stop', async () => {
    const out = recorder();
    sidecar = await startPolicySidecar({ data, decisionLog: out.stream });
    const url = `${sidecar.url}/v1/data/reelmesh/authz/decision`;
    const answers = await Promise.all(
      Array.from({ length: 120 }, async (_, n) => {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: n % 3 === 0 ? deniedInput : allowedInput }) });
        return (await res.json()) as { decision_id: string; result: { allowed: boolean } };
      }),
    );
    await sidecar.stop();
    sidecar = undefined;

    const lines = out.lines();
    expect(lines).toHaveLength(120);
    const byId = new Map(lines.map((l) => [l.decision_id, l]));
    for (const a of answers) expect(byId.get(a.decision_id)?.result).toEqual(a.result);
  });
});
