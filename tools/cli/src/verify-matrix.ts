import { request } from 'node:http';
import { handoffPath } from '@reelmesh/addressing';
import { connectOptions } from '@reelmesh/http-kit';
import { accessMatrix, isAllowed, type Workflow } from '@reelmesh/workflow';
import type { LocalRuntime } from '@reelmesh/runtime';

export const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

/** One call of the access matrix: who called whom how, what the workflow expects and what happened. */
export interface MatrixCall {
  source: string;
  destination: string;
  method: string;
  path: string;
  expected: 'allow' | 'deny';
  actual: 'allow' | 'deny';
}

export interface VerifyRow extends MatrixCall {
  status: number;
  code?: string;
}

export interface VerifyReport {
  attempts: number;
  expectedAllowed: number;
  allowed: number;
  unexpectedAllows: number;
  unexpectedDenies: number;
  rows: VerifyRow[];
}

/** Every handoff path of the workflow, plus paths no policy should ever open. */
export function candidatePaths(workflow: Workflow): string[] {
  const workflowId = workflow.metadata.id;
  const handoffs = workflow.edges.map((e) => handoffPath({ workflowId, step: e.to, artifact: e.artifact, chunkIndex: 0 }));
  // The same handoffs with a canonical-looking but non-canonical chunk index, and a traversal out of one.
  return [...new Set(handoffs), `${handoffs[0].slice(0, -1)}007`, '/v1/status', '/v1/runs', `${handoffs[0]}/../../x`, '/admin'];
}

/** One call from `source`'s app, through its outbound sidecar (its endpoint), to `destination`. */
export function attempt(
  outbound: string,
  destination: string,
  method: string,
  path: string,
  opts: { body?: Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; code?: string }> {
  const body = opts.body ?? Buffer.from('{}');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...connectOptions(outbound),
        method,
        path,
        headers: { host: destination, 'content-type': 'application/json', ...opts.headers, 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = JSON.parse(Buffer.concat(chunks).toString('utf8'))?.error?.code;
          } catch {
            // not JSON: the app answered something else
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Codes only the mesh answers with: the call never reached the destination app. */
export const MESH_DENIALS = new Set(['POLICY_DENIED', 'POLICY_UNAVAILABLE', 'UNKNOWN_DESTINATION', 'UPSTREAM_IDENTITY_MISMATCH']);

/** The local mesh's verdict on an answer: denied when the mesh answered it, allowed when the app did. */
export function localVerdict(code: string | undefined): 'allow' | 'deny' {
  return code && MESH_DENIALS.has(code) ? 'deny' : 'allow';
}

/**
 * Try every (source, destination, method, path) through the real sidecars and compare with the
 * access matrix derived from the workflow. "allow" means the destination app received the call.
 */
export async function verifyMatrix(runtime: LocalRuntime): Promise<VerifyReport> {
  const workflow = runtime.workflow;
  const matrix = accessMatrix(workflow);
  const paths = candidatePaths(workflow);
  const rows: VerifyRow[] = [];
  const agents = workflow.agents.map((a) => a.name);
  const jobs: Array<() => Promise<void>> = [];
  for (const source of agents) {
    // The source app's seat: its outbound sidecar, with the pod's token the sidecar requires of its app.
    const { pod, headers } = runtime.agents[source];
    if (!pod) throw new Error('verify needs the mesh (pods with sidecars)');
    for (const destination of agents)
      for (const method of METHODS)
        for (const path of paths)
          jobs.push(async () => {
            const expected = isAllowed(matrix, source, destination, method, path) ? 'allow' : 'deny';
            let { status, code } = await attempt(pod.outboundUrl, destination, method, path, { headers });
            // A policy sidecar slower than the proxy's timeout is a transient 503 (still a denial,
            // never forwarded): ask again, since the question here is what the policy decides.
            for (let retry = 1; retry <= 3 && code === 'POLICY_UNAVAILABLE'; retry++) {
              await new Promise((r) => setTimeout(r, 100 * retry));
              ({ status, code } = await attempt(pod.outboundUrl, destination, method, path, { headers }));
            }
            const actual = localVerdict(code);
            rows.push({ source, destination, method, path, expected, actual, status, code });
          });
  }
  // A few calls in flight at once: enough to be quick, few enough that no decision times out.
  const workers = Array.from({ length: 8 }, async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await job();
  });
  await Promise.all(workers);
  return summarizeRows(rows);
}

/** The report of a set of attempted rows, sorted the same way for every target (local mesh, Compose, Kubernetes). */
export function summarizeRows(attempted: readonly VerifyRow[]): VerifyReport {
  const rows = [...attempted].sort((a, b) =>
    `${a.source} ${a.destination} ${a.method} ${a.path}`.localeCompare(`${b.source} ${b.destination} ${b.method} ${b.path}`),
  );
  return {
    attempts: rows.length,
    expectedAllowed: rows.filter((r) => r.expected === 'allow').length,
    allowed: rows.filter((r) => r.actual === 'allow').length,
    unexpectedAllows: rows.filter((r) => r.actual === 'allow' && r.expected === 'deny').length,
    unexpectedDenies: rows.filter((r) => r.actual === 'deny' && r.expected === 'allow').length,
    rows,
  };
}

/** A source x destination table: allowed/attempted per cell, '!' marking any mismatch. */
export function renderMatrix(report: VerifyReport, agents: string[]): string {
  const width = Math.max(...agents.map((a) => a.length), 'from \\ to'.length) + 2;
  const lines = [['from \\ to', ...agents].map((c) => c.padEnd(width)).join('')];
  for (const source of agents) {
    const cells = agents.map((destination) => {
      const rows = report.rows.filter((r) => r.source === source && r.destination === destination);
      const allowed = rows.filter((r) => r.actual === 'allow').length;
      const bad = rows.some((r) => r.actual !== r.expected);
      return `${allowed}/${rows.length}${bad ? '!' : ''}`.padEnd(width);
    });
    lines.push([source.padEnd(width), ...cells].join(''));
  }
  return lines.join('\n');
}
