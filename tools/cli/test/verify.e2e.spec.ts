import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generatePolicyData, startPolicySidecar } from '@reelmesh/policy';
import { startLocalRuntime } from '@reelmesh/runtime';
import { accessMatrix, loadWorkflow } from '@reelmesh/workflow';
import { candidatePaths, METHODS, verifyMatrix, type VerifyReport } from '../src/verify-matrix';
import { lastJsonLine, reelmesh } from './helpers';

const workflow = loadWorkflow();
const agents = workflow.agents.length;

describe('reelmesh verify: every call of the access matrix through the real sidecars', () => {
  it('allows exactly the workflow edges and denies everything else', async () => {
    const result = await reelmesh(['verify', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = lastJsonLine<VerifyReport>(result.stdout);
    expect(report.attempts).toBe(agents * agents * METHODS.length * candidatePaths(workflow).length);
    expect(report.expectedAllowed).toBe(accessMatrix(workflow).length);
    expect(report.allowed).toBe(report.expectedAllowed);
    expect(report.unexpectedAllows).toBe(0);
    expect(report.unexpectedDenies).toBe(0);
    const allowed = report.rows.filter((r) => r.actual === 'allow');
    // One allowed call per rule of the matrix derived from the workflow: its own source and destination.
    expect(allowed.map((r) => `${r.source}->${r.destination}`).sort()).toEqual(accessMatrix(workflow).map((rule) => `${rule.source}->${rule.destination}`).sort());
    // Allowed calls reached the destination app, which refused the empty body itself (not the mesh).
    for (const r of allowed) {
      expect(r.method).toBe('POST');
      expect(r.code).not.toBe('POLICY_DENIED');
    }
    // Every denial came from the mesh with a reason, never from the app.
    for (const r of report.rows.filter((x) => x.actual === 'deny')) expect(r.code).toBe('POLICY_DENIED');
    // `/007` is not chunk 7: on a real edge the mesh refuses it as it refuses any non-handoff path
    // (the receiver refuses it too when called directly: libs/handoff's router tests).
    const leadingZeros = report.rows.filter((r) => r.path.endsWith('/007'));
    const onEdges = leadingZeros.filter((r) => r.method === 'POST' && accessMatrix(workflow).some((e) => e.source === r.source && e.destination === r.destination));
    expect(onEdges.length).toBeGreaterThan(0);
    for (const r of leadingZeros) expect({ status: r.status, code: r.code }).toEqual({ status: 403, code: 'POLICY_DENIED' });
  }, 180_000);

  describe('with the proxies pointed at another OPA-compatible server', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelmesh-opa-url-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('gives the same answers with no other change', async () => {
      const opa = await startPolicySidecar({ data: generatePolicyData(workflow) });
      const runtime = await startLocalRuntime({
        dataRoot: join(dir, 'data'),
        stateDir: join(dir, 'state'),
        exportDir: join(dir, 'out'),
        ingestDir: dir,
        encryption: false,
        meshOptions: { policyUrl: opa.url },
      });
      try {
        expect(runtime.group.processes.some((p) => p.name.endsWith('/policy'))).toBe(false);
        const report = await verifyMatrix(runtime);
        expect(report.unexpectedAllows + report.unexpectedDenies).toBe(0);
        expect(report.allowed).toBe(accessMatrix(workflow).length);
      } finally {
        await runtime.stop();
        await opa.stop();
      }
    }, 180_000);
  });
});
