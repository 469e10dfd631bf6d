import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLedger, AuditShipper, createDevCa, createSigner, LEDGER_AGENT, LEDGER_LOG, verifyAuditLog } from '@reelmesh/provenance';
import { FsObjectStore } from '@reelmesh/storage';
import { startPolicySidecar, type PolicySidecar } from './server';
import { data, allowedInput, deniedInput } from './spec-support';


let sidecar: PolicySidecar | undefined;
afterEach(async () => {
  await sidecar?.stop();
  sidecar = undefined;
});

async function post(path: string, body: object) {
  const res = await fetch(`${sidecar!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('policy sidecar -> the owner\'s audit ledger', () => {
  it('ships every decision (OPA decision-log events) to the ledger, which stamps them with the pod identity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelmesh-policy-audit-'));
    const ca = await createDevCa();
    const ledger = await AuditLedger.open({ store: new FsObjectStore(dir), workflowId: 'feature-film', signer: createSigner(await ca.issue('spiffe://reelmesh.local/ns/owner/sa/audit-ledger')) });
    const server = createServer((req, res) => {
      void ledger.ingestRequest({ spiffeId: 'spiffe://reelmesh.local/ns/color/sa/color', agent: 'color', component: 'policy' }, req).then(
        (r) => res.end(JSON.stringify(r)),
        (e: Error) => res.writeHead(503).end(JSON.stringify({ code: 'AUDIT_UNAVAILABLE', message: e.message })),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const shipper = new AuditShipper({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/audit/logs`, token: 't', flushIntervalMs: 5 });
    try {
      sidecar = await startPolicySidecar({ data, auditSink: shipper });
      const allowed = await post('/v1/data/reelmesh/authz/allow', { input: allowedInput });
      await post('/v1/data/reelmesh/authz/allow', { input: deniedInput });
      await shipper.close();
      expect(ledger.size).toBe(2);
      const events: Array<Record<string, unknown>> = [];
      await ledger.checkpoint();
      const report = await verifyAuditLog({
        store: new FsObjectStore(dir), name: LEDGER_LOG, workflowId: 'feature-film', agent: LEDGER_AGENT, caBundle: ca.bundlePem,
        checkpointSigner: 'spiffe://reelmesh.local/ns/owner/sa/audit-ledger', onEntry: (e) => events.push(e.event),
      });
      expect(report.ok).toBe(true);
      expect(events.map((e) => (e.decision as { result: unknown }).result)).toEqual([true, false]);
      expect(events[0]).toMatchObject({ type: 'decision', by: { agent: 'color', component: 'policy' }, decision: { decision_id: allowed.body.decision_id } });
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails closed (503) once decisions cannot reach the ledger and its queue is full; no decision is taken unaudited', async () => {
    const shipper = new AuditShipper({ url: 'http://127.0.0.1:9/v1/audit/logs', token: 't', flushIntervalMs: 5, maxQueued: 2 });
    sidecar = await startPolicySidecar({ data, auditSink: shipper });
    expect((await post('/v1/data/reelmesh/authz/allow', { input: allowedInput })).body.result).toBe(true);
    expect((await post('/v1/data/reelmesh/authz/allow', { input: allowedInput })).body.result).toBe(true);
    const refused = await post('/v1/data/reelmesh/authz/allow', { input: allowedInput });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'audit_unavailable' });
    expect(shipper.stats()).toMatchObject({ queued: 2, delivered: 0 });
    await shipper.close(0);
  });
});
