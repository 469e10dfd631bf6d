// Turns the policy data document into Map indexes, once per document, and rejects malformed
// documents up front: a policy we cannot read must never be half-applied (fail closed).

export class PolicyDataError extends Error {
  readonly code = 'POLICY_DATA_INVALID' as const;
  constructor(message: string) {
    super(`invalid policy data: ${message}`);
    this.name = 'PolicyDataError';
  }
}

/** destination -> source -> step -> artifacts. Maps (not objects) so keys like "__proto__" are plain keys. */
export type EdgeIndex = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>>;

export class CompiledPolicy {
  constructor(
    readonly workflowId: string,
    readonly principals: ReadonlySet<string>,
    readonly edges: EdgeIndex,
    /** Number of (source, destination, step, artifact) rules; for logs and benchmarks. */
    readonly ruleCount: number,
  ) {}
}

const cache = new WeakMap<object, CompiledPolicy>();

/** Validates and indexes a data document; the result is cached per document object. */
export function compilePolicy(data: unknown): CompiledPolicy {
  if (data instanceof CompiledPolicy) return data;
  if (isRecord(data)) {
    const hit = cache.get(data);
    if (hit) return hit;
  }
  const doc = record(data, 'data');
  const workflow = record(doc.workflow, 'workflow');
  const workflowId = workflow.id;
  if (typeof workflowId !== 'string' || workflowId === '') throw new PolicyDataError('workflow.id must be a non-empty string');

  const principals = new Set<string>();
  for (const [principal, agent] of Object.entries(record(doc.principals, 'principals'))) {
    if (typeof agent !== 'string') throw new PolicyDataError(`principals[${JSON.stringify(principal)}] must be an agent name`);
    principals.add(principal);
  }

  let ruleCount = 0;
  const edges = new Map<string, Map<string, Map<string, Set<string>>>>();
  for (const [destination, sources] of Object.entries(record(doc.edges, 'edges'))) {
    const bySource = new Map<string, Map<string, Set<string>>>();
    for (const [source, steps] of Object.entries(record(sources, `edges[${destination}]`))) {
      const byStep = new Map<string, Set<string>>();
      for (const [step, artifacts] of Object.entries(record(steps, `edges[${destination}][${source}]`))) {
        const allowed = new Set<string>();
        for (const [artifact, flag] of Object.entries(record(artifacts, `edges[${destination}][${source}][${step}]`))) {
          if (flag !== true) throw new PolicyDataError(`edges[${destination}][${source}][${step}][${artifact}] must be true`);
          allowed.add(artifact);
          ruleCount += 1;
        }
        byStep.set(step, allowed);
      }
      bySource.set(source, byStep);
    }
    edges.set(destination, bySource);
  }

  const compiled = new CompiledPolicy(workflowId, principals, edges, ruleCount);
  cache.set(doc, compiled);
  return compiled;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new PolicyDataError(`${where} must be an object`);
  return value;
}
