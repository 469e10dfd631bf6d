// The step graph of a validated workflow, with the lookups agents and generators need.
// Step lists come in topological order (ties broken by name); edges sorted by (from, to, artifact);
// agent lists sorted by name. Unknown names give empty lists / undefined, never a guess.
import { byFields, byString } from './order';
import type { Edge, Step, Workflow } from './types';

export interface WorkflowGraph {
  /** Every step, each after all the steps that feed it. */
  readonly topoOrder: readonly string[];
  readonly sourceSteps: readonly string[];
  readonly sinkSteps: readonly string[];
  step(name: string): Step | undefined;
  /** The agent that runs `step`. */
  agentOf(step: string): string | undefined;
  /** Steps run by `agent`, in topological order. */
  stepsOf(agent: string): readonly Step[];
  /** Edges into `step`. */
  inputsOf(step: string): readonly Edge[];
  /** Edges out of `step`. */
  outputsOf(step: string): readonly Edge[];
  /** Distinct other agents that `agent` sends artifacts to. */
  nextHops(agent: string): readonly string[];
  /** Distinct other agents that send artifacts to `agent`. */
  previousHops(agent: string): readonly string[];
}

const EMPTY: readonly never[] = Object.freeze([]);
const edgeOrder = byFields<Edge>('from', 'to', 'artifact');

export function buildGraph(wf: Workflow): WorkflowGraph {
  const steps = new Map(wf.steps.map((step) => [step.name, step]));
  const topoOrder = topologicalOrder(wf);
  const rank = new Map(topoOrder.map((name, index) => [name, index]));
  const inTopoOrder = (names: Iterable<string>) => Object.freeze([...names].sort((a, b) => rank.get(a)! - rank.get(b)!));

  const inputs = group(wf.edges, (edge) => edge.to, edgeOrder);
  const outputs = group(wf.edges, (edge) => edge.from, edgeOrder);
  const stepsByAgent = group(wf.steps, (step) => step.agent, (a, b) => rank.get(a.name)! - rank.get(b.name)!);

  const next = new Map<string, Set<string>>();
  const previous = new Map<string, Set<string>>();
  for (const edge of wf.edges) {
    const from = steps.get(edge.from)!.agent;
    const to = steps.get(edge.to)!.agent;
    if (from === to) continue; // same pod: no network hop
    addTo(next, from, to);
    addTo(previous, to, from);
  }
  const sortedHops = (hops: Map<string, Set<string>>) =>
    new Map([...hops].map(([agent, set]) => [agent, Object.freeze([...set].sort(byString))]));
  const nextHops = sortedHops(next);
  const previousHops = sortedHops(previous);

  return Object.freeze({
    topoOrder: Object.freeze(topoOrder),
    sourceSteps: inTopoOrder(wf.steps.filter((step) => step.source).map((step) => step.name)),
    sinkSteps: inTopoOrder(wf.steps.filter((step) => step.sink).map((step) => step.name)),
    step: (name: string) => steps.get(name),
    agentOf: (step: string) => steps.get(step)?.agent,
    stepsOf: (agent: string) => stepsByAgent.get(agent) ?? EMPTY,
    inputsOf: (step: string) => inputs.get(step) ?? EMPTY,
    outputsOf: (step: string) => outputs.get(step) ?? EMPTY,
    nextHops: (agent: string) => nextHops.get(agent) ?? EMPTY,
    previousHops: (agent: string) => previousHops.get(agent) ?? EMPTY,
  });
}

/** Kahn's algorithm, always taking the alphabetically first ready step. */
function topologicalOrder(wf: Workflow): string[] {
  const pending = new Map(wf.steps.map((step) => [step.name, 0]));
  for (const edge of wf.edges) pending.set(edge.to, (pending.get(edge.to) ?? 0) + 1);
  const ready = [...pending].filter(([, count]) => count === 0).map(([name]) => name);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort(byString);
    const name = ready.shift()!;
    order.push(name);
    for (const edge of wf.edges) {
      if (edge.from !== name) continue;
      const left = pending.get(edge.to)! - 1;
      pending.set(edge.to, left);
      if (left === 0) ready.push(edge.to);
    }
  }
  if (order.length !== pending.size) {
    throw new Error('workflow step graph is not valid (cycle or unknown step); validate it with parseWorkflow or validateWorkflow first');
  }
  return order;
}

function group<T>(items: readonly T[], keyOf: (item: T) => string, order: (a: T, b: T) => number): Map<string, readonly T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return new Map([...groups].map(([key, list]) => [key, Object.freeze(list.sort(order))]));
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  map.set(key, (map.get(key) ?? new Set()).add(value));
}
