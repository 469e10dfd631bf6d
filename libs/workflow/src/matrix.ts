// The expected access-control matrix: exactly which agent may POST which handoff to which agent.
// Only edges between DIFFERENT agents appear: an edge inside one agent is a local hand-over and
// makes no network call, so the mesh must not allow one. Everything absent is denied.
import { handoffPattern, parseHandoffPath } from '@reelmesh/addressing';
import { buildGraph } from './graph';
import { byFields } from './order';
import { spiffeId } from './spiffe';
import type { Workflow } from './types';

export interface AccessRule {
  /** Calling agent. */
  readonly source: string;
  /** Receiving agent. */
  readonly destination: string;
  readonly method: 'POST';
  /** e.g. '/v1/handoffs/feature-film/demux/av/{chunk}' */
  readonly pathPattern: string;
  /** Receiving step. */
  readonly step: string;
  readonly artifact: string;
  readonly sourcePrincipal: string;
  readonly destinationPrincipal: string;
}

/** One rule per cross-agent edge, sorted by (source, destination, step, artifact). */
export function accessMatrix(wf: Workflow): AccessRule[] {
  const graph = buildGraph(wf);
  const rules: AccessRule[] = [];
  for (const edge of wf.edges) {
    const source = graph.agentOf(edge.from)!;
    const destination = graph.agentOf(edge.to)!;
    if (source === destination) continue;
    rules.push({
      source,
      destination,
      method: 'POST',
      pathPattern: handoffPattern(wf.metadata.id, edge.to, edge.artifact),
      step: edge.to,
      artifact: edge.artifact,
      sourcePrincipal: spiffeId(wf, source),
      destinationPrincipal: spiffeId(wf, destination),
    });
  }
  return rules.sort(byFields<AccessRule>('source', 'destination', 'step', 'artifact'));
}

/** True only if a rule allows exactly this call; `path` is the raw request path (a query string denies). */
export function isAllowed(
  matrix: readonly AccessRule[],
  source: string,
  destination: string,
  method: string,
  path: string,
): boolean {
  const address = parseHandoffPath(path);
  if (!address) return false;
  const pattern = handoffPattern(address.workflowId, address.step, address.artifact);
  return matrix.some(
    (rule) => rule.source === source && rule.destination === destination && rule.method === method && rule.pathPattern === pattern,
  );
}
