// Semantic validation: the cross-references and graph shape a schema cannot express.
// Runs only on a structurally valid workflow, so every field here has its declared type.
import type { Workflow } from './types';
import type { RawIssue } from './path';

/** Every semantic problem in a structurally valid workflow, in a stable order. */
export function checkSemantics(wf: Workflow): RawIssue[] {
  const references = unknownReferences(wf);
  const issues: RawIssue[] = [...duplicateNames(wf), ...references, ...endpointRules(wf), ...conformRules(wf), ...filterJobRules(wf)];
  // Graph-shape checks would only echo a dangling reference, so they wait until every name resolves.
  if (references.length === 0) issues.push(...disconnectedSteps(wf), ...cycles(wf));
  return issues;
}

function duplicateNames(wf: Workflow): RawIssue[] {
  const issues: RawIssue[] = [];
  for (const [list, noun] of [['actors', 'actor'], ['agents', 'agent'], ['steps', 'step'], ['jobs', 'job']] as const) {
    const firstAt = new Map<string, number>();
    (wf[list] ?? []).forEach(({ name }, index) => {
      const first = firstAt.get(name);
      if (first === undefined) firstAt.set(name, index);
      else issues.push({ at: [list, index, 'name'], message: `duplicate ${noun} name "${name}" (first defined at ${list}[${first}])` });
    });
  }
  return issues;
}

function unknown(noun: string, name: string, known: readonly { name: string }[]): string {
  return `unknown ${noun} "${name}" (known: ${known.map((item) => item.name).join(', ')})`;
}

function unknownReferences(wf: Workflow): RawIssue[] {
  const issues: RawIssue[] = [];
  const actors = new Set(wf.actors.map((actor) => actor.name));
  const agents = new Set(wf.agents.map((agent) => agent.name));
  const steps = new Set(wf.steps.map((step) => step.name));
  wf.agents.forEach((agent, i) => {
    if (!actors.has(agent.actor)) issues.push({ at: ['agents', i, 'actor'], message: unknown('actor', agent.actor, wf.actors) });
  });
  wf.steps.forEach((step, i) => {
    if (!agents.has(step.agent)) issues.push({ at: ['steps', i, 'agent'], message: unknown('agent', step.agent, wf.agents) });
  });
  wf.edges.forEach((edge, i) => {
    for (const end of ['from', 'to'] as const) {
      if (!steps.has(edge[end])) issues.push({ at: ['edges', i, end], message: unknown('step', edge[end], wf.steps) });
    }
  });
  return issues;
}

/** Sources only emit, sinks only receive, and a step receives each artifact name once. */
function endpointRules(wf: Workflow): RawIssue[] {
  const issues: RawIssue[] = [];
  const byName = new Map(wf.steps.map((step) => [step.name, step]));
  wf.steps.forEach((step, i) => {
    if (step.source && step.sink) issues.push({ at: ['steps', i], message: `step "${step.name}" cannot be both source and sink` });
  });
  const received = new Map<string, number>();
  wf.edges.forEach((edge, i) => {
    if (byName.get(edge.to)?.source) {
      issues.push({ at: ['edges', i, 'to'], message: `source step "${edge.to}" cannot have inputs` });
    }
    if (byName.get(edge.from)?.sink) {
      issues.push({ at: ['edges', i, 'from'], message: `sink step "${edge.from}" cannot have outputs` });
    }
    const key = `${edge.to}\u0000${edge.artifact}`;
    const first = received.get(key);
    if (first === undefined) received.set(key, i);
    else {
      issues.push({
        at: ['edges', i, 'artifact'],
        message: `step "${edge.to}" already receives artifact "${edge.artifact}" (from edges[${first}])`,
      });
    }
  });
  return issues;
}

function disconnectedSteps(wf: Workflow): RawIssue[] {
  const issues: RawIssue[] = [];
  const fed = new Set(wf.edges.map((edge) => edge.to));
  const consumed = new Set(wf.edges.map((edge) => edge.from));
  wf.steps.forEach((step, i) => {
    if (!step.source && !fed.has(step.name)) {
      issues.push({ at: ['steps', i], message: `step "${step.name}" is not a source but no edge feeds it` });
    }
    if (!step.sink && !consumed.has(step.name)) {
      issues.push({ at: ['steps', i], message: `step "${step.name}" is not a sink but no edge consumes its output` });
    }
  });
  return issues;
}

/** Depth-first search; each back edge closes one cycle, reported at that edge. */
function cycles(wf: Workflow): RawIssue[] {
  const issues: RawIssue[] = [];
  const out = new Map<string, { to: string; index: number }[]>(wf.steps.map((step) => [step.name, []]));
  wf.edges.forEach((edge, index) => out.get(edge.from)?.push({ to: edge.to, index }));
  const done = new Set<string>();
  const stack: string[] = [];

  const visit = (name: string): void => {
    stack.push(name);
    for (const { to, index } of out.get(name) ?? []) {
      const onStack = stack.indexOf(to);
      if (onStack >= 0) {
        const loop = [...stack.slice(onStack), to].join(' -> ');
        issues.push({ at: ['edges', index], message: `cycle in the step graph: ${loop}` });
      } else if (!done.has(to)) {
        visit(to);
      }
    }
    stack.pop();
    done.add(name);
  };
  for (const step of wf.steps) if (!done.has(step.name)) visit(step.name);
  return issues;
}

/** A conform names its methods: a new picture size needs its scaler, a new frame rate its method. */
function conformRules(wf: Workflow): RawIssue[] {
  const conform = wf.media.delivery.conform;
  const issues: RawIssue[] = [];
  if (conform?.resolution && !conform.scaler) {
    issues.push({ at: ['media', 'delivery', 'conform'], message: 'a conform to a new resolution must name its scaler (scaler: lanczos, bicubic, spline or bilinear)' });
  }
  if (conform?.frameRate && !conform.frameRateMethod) {
    issues.push({ at: ['media', 'delivery', 'conform'], message: 'a conform to a new frame rate must name its method (frameRateMethod: nearest)' });
  }
  return issues;
}

/**
 * A filter job is declared to be run: every declared one is named by a step, and its step is a
 * one-in, same-out transform (one input artifact, handed on under that same artifact name), since
 * one filter chain turns one stream into one stream of the same kind.
 */
function filterJobRules(wf: Workflow): RawIssue[] {
  const issues: RawIssue[] = [];
  (wf.jobs ?? []).forEach((job, i) => {
    if (!wf.steps.some((step) => step.job === job.name)) {
      issues.push({ at: ['jobs', i, 'name'], message: `filter job "${job.name}" is declared but no step runs it (remove it, or name it in a step's job)` });
    }
  });
  const filters = new Set((wf.jobs ?? []).map((job) => job.name));
  wf.steps.forEach((step, i) => {
    if (!filters.has(step.job)) return;
    const inputs = [...new Set(wf.edges.filter((e) => e.to === step.name).map((e) => e.artifact))];
    const outputs = [...new Set(wf.edges.filter((e) => e.from === step.name).map((e) => e.artifact))];
    if (step.source || step.sink || inputs.length !== 1 || outputs.length !== 1 || outputs[0] !== inputs[0]) {
      issues.push({
        at: ['steps', i, 'job'],
        message:
          `step "${step.name}" runs filter job "${step.job}", which takes one input artifact and hands on that same artifact ` +
          `(this step receives ${inputs.join(', ') || 'nothing'} and hands on ${outputs.join(', ') || 'nothing'}); write a job module for anything else (docs/contractors.md)`,
      });
    }
  });
  return issues;
}
