// The one core behind `reelmesh contractor add|remove` and the Nx generators: check the request,
// then compute every file to write or delete (workflow, app, path alias, everything `reelmesh gen`
// derives) before anything is written. Bad input throws ContractorError with one readable line.
import { isName, NAME_HINT } from '@reelmesh/addressing';
import { GENERATED_ROOTS, isGeneratedContent, renderGeneratedFiles } from '@reelmesh/deploy';
import { buildGraph, filterJobOf, parseWorkflow, WorkflowError, type Edge, type Workflow } from '@reelmesh/workflow';
import type { FileChange, RepoFiles } from './repo-files';
import { appFiles } from './scaffold';
import { addFilterJob, appendEntry, insertEntryAfter, removeFilterJob, replaceEntry } from './workflow-edit';

export const WORKFLOW_FILE = 'policies/workflow.yaml';
export const TSCONFIG_FILE = 'tsconfig.base.json';

/** `reelmesh contractor add <name> --after <step> --before <step> --artifact <artifact> (--filter <graph> | --job <module>) [--actor <actor>]`. */
export interface AddContractorOptions {
  readonly name: string;
  readonly after: string;
  readonly before: string;
  readonly artifact: string;
  readonly filter?: string;
  readonly job?: string;
  readonly actor?: string;
}

/** Refused input, or a workflow the command cannot change: one line, nothing written. */
export class ContractorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractorError';
  }
}

export interface ContractorPlan {
  readonly action: 'add' | 'remove';
  readonly name: string;
  readonly step: string;
  readonly job: string;
  readonly jobKind: 'filter' | 'module';
  /** Edges the change deletes from the workflow, and those it adds. */
  readonly edgesRemoved: readonly Edge[];
  readonly edgesAdded: readonly Edge[];
  /** Every file written or deleted, workflow first, then app, alias and regenerated files (sorted). */
  readonly changes: readonly FileChange[];
}

export function planAddContractor(files: RepoFiles, options: AddContractorOptions): ContractorPlan {
  const { name, after, before, artifact } = options;
  const actor = options.actor ?? name;
  checkName('contractor name', name);
  if (options.actor !== undefined) checkName('--actor', options.actor);
  if ((options.filter === undefined) === (options.job === undefined)) {
    throw new ContractorError('give exactly one of --filter \'<ffmpeg filter graph>\' (a filter job in the workflow) or --job <module> (a job module in the app)');
  }
  if (options.job !== undefined) checkName('--job module name', options.job);
  if (options.filter !== undefined && (options.filter.trim() === '' || /[\r\n]/.test(options.filter))) {
    throw new ContractorError('--filter must be an ffmpeg filter graph on one line');
  }
  const job = options.job ?? name;

  const { text, workflow } = readWorkflow(files);
  const graph = buildGraph(workflow);
  // Clashes: one name is the agent, the step, the app (and its alias), the actor unless --actor, and the filter job.
  if (workflow.agents.some((agent) => agent.name === name)) throw new ContractorError(`an agent named ${name} already exists in ${WORKFLOW_FILE}`);
  if (graph.step(name)) throw new ContractorError(`a step named ${name} already exists in ${WORKFLOW_FILE}`);
  if (workflow.agents.some((agent) => agent.app === name) || files.exists(`apps/${name}`)) throw new ContractorError(`an app named ${name} already exists (apps/${name})`);
  if (aliasesOf(files).includes(appAlias(name))) throw new ContractorError(`the path alias ${appAlias(name)} already exists in ${TSCONFIG_FILE}`);
  if (options.actor === undefined && workflow.actors.some((candidate) => candidate.name === name)) {
    throw new ContractorError(`an actor named ${name} already exists: pass --actor ${name} to add the contractor to that actor, or choose another name`);
  }
  if (filterJobOf(workflow, job)) throw new ContractorError(`a filter job named ${job} already exists in ${WORKFLOW_FILE} (jobs:)`);
  if (options.filter !== undefined && workflow.steps.some((step) => step.job === job)) {
    throw new ContractorError(`steps already run a job named ${job}: a filter job of that name would replace it; choose another name`);
  }
  // Position: an existing edge after -> before carrying the artifact.
  const stepNames = workflow.steps.map((step) => step.name);
  for (const [flag, step] of [['--after', after], ['--before', before]] as const) {
    if (!graph.step(step)) throw new ContractorError(`${flag} ${step}: no such step (steps: ${stepNames.join(', ')})`);
  }
  const artifacts = [...new Set(workflow.edges.map((edge) => edge.artifact))].sort();
  if (!artifacts.includes(artifact)) throw new ContractorError(`--artifact ${artifact}: no edge of the workflow carries it (artifacts: ${artifacts.join(', ')})`);
  const taken = workflow.edges.find((edge) => edge.from === after && edge.to === before && edge.artifact === artifact);
  if (!taken) {
    const between = workflow.edges.filter((edge) => edge.from === after && edge.to === before);
    const out = graph.outputsOf(after);
    const there = between.length > 0 ? between : out;
    throw new ContractorError(
      `no edge ${after} -> ${before} carrying ${artifact}; ${between.length > 0 ? `between them` : `out of ${after}`}: ${there.length > 0 ? there.map(formatEdge).join(', ') : 'none'}`,
    );
  }

  let edited = text;
  if (!workflow.actors.some((candidate) => candidate.name === actor)) edited = appendEntry(edited, 'actors', { name: actor, description: `Contractor ${actor}` });
  edited = appendEntry(edited, 'agents', { name, actor, app: name });
  edited = insertEntryAfter(edited, 'steps', after, { name, agent: name, job });
  if (options.filter !== undefined) edited = addFilterJob(edited, { name: job, filter: options.filter });
  const added: Edge[] = [
    { from: after, to: name, artifact },
    { from: name, to: before, artifact },
  ];
  edited = replaceEntry(edited, 'edges', (value) => sameEdge(value, taken), added.map(edgeFields));
  const next = parseEdited(edited);

  const wanted = new Map<string, string | null>([[WORKFLOW_FILE, edited]]);
  for (const [path, content] of Object.entries(appFiles({ app: name, actor, step: name, artifact, jobModule: options.job }))) wanted.set(path, content);
  wanted.set(TSCONFIG_FILE, withAlias(files, appAlias(name), `apps/${name}/src/index.ts`));
  return {
    action: 'add',
    name,
    step: name,
    job,
    jobKind: options.filter !== undefined ? 'filter' : 'module',
    edgesRemoved: [taken],
    edgesAdded: added,
    changes: changesOf(files, wanted, next),
  };
}

/**
 * Undoes planAddContractor, from what the workflow says: the agent `name` runs one step with one
 * input edge and one output edge of the same artifact; that edge is restored where the input edge
 * was, and the agent, its step, its filter job and actor (when nothing else uses them), its app and
 * path alias go.
 */
export function planRemoveContractor(files: RepoFiles, name: string): ContractorPlan {
  checkName('contractor name', name);
  const { text, workflow } = readWorkflow(files);
  const graph = buildGraph(workflow);
  const agent = workflow.agents.find((candidate) => candidate.name === name);
  if (!agent) throw new ContractorError(`no contractor named ${name}: the workflow has no agent ${name} (agents: ${workflow.agents.map((a) => a.name).join(', ')})`);
  const steps = graph.stepsOf(name);
  if (steps.length !== 1) throw new ContractorError(`cannot remove ${name}: it runs ${steps.length} steps (${steps.map((s) => s.name).join(', ')}); a contractor runs exactly one`);
  const [step] = steps;
  const inputs = graph.inputsOf(step.name);
  const outputs = graph.outputsOf(step.name);
  if (step.source || step.sink || inputs.length !== 1 || outputs.length !== 1 || inputs[0].artifact !== outputs[0].artifact) {
    throw new ContractorError(
      `cannot remove ${name}: its step ${step.name} must have one input edge and one output edge of the same artifact to be bypassed (inputs: ${inputs.map(formatEdge).join(', ') || 'none'}; outputs: ${outputs.map(formatEdge).join(', ') || 'none'})`,
    );
  }
  const [input] = inputs;
  const [output] = outputs;
  const restored: Edge = { from: input.from, to: output.to, artifact: input.artifact };
  if (workflow.edges.some((edge) => sameEdge(edge, restored))) throw new ContractorError(`cannot remove ${name}: the edge ${formatEdge(restored)} it would restore already exists`);

  let edited = replaceEntry(text, 'edges', (value) => sameEdge(value, input), [edgeFields(restored)]);
  edited = replaceEntry(edited, 'edges', (value) => sameEdge(value, output), []);
  const filterJob = filterJobOf(workflow, step.job);
  if (filterJob && !workflow.steps.some((other) => other.name !== step.name && other.job === step.job)) edited = removeFilterJob(edited, step.job);
  edited = replaceEntry(edited, 'steps', (value) => value.name === step.name, []);
  edited = replaceEntry(edited, 'agents', (value) => value.name === name, []);
  if (!workflow.agents.some((other) => other.name !== name && other.actor === agent.actor)) edited = replaceEntry(edited, 'actors', (value) => value.name === agent.actor, []);
  const next = parseEdited(edited);

  const wanted = new Map<string, string | null>([[WORKFLOW_FILE, edited]]);
  if (!workflow.agents.some((other) => other.name !== name && other.app === agent.app)) {
    for (const path of files.listFiles(`apps/${agent.app}`)) wanted.set(path, null);
    if (aliasesOf(files).includes(appAlias(agent.app))) wanted.set(TSCONFIG_FILE, withoutAlias(files, appAlias(agent.app)));
  }
  return {
    action: 'remove',
    name,
    step: step.name,
    job: step.job,
    jobKind: filterJob ? 'filter' : 'module',
    edgesRemoved: [input, output],
    edgesAdded: [restored],
    changes: changesOf(files, wanted, next),
  };
}

/** What the plan does, for people: the edges, then one line per file (created, changed, deleted). */
export function describePlan(plan: ContractorPlan): string[] {
  const lines =
    plan.action === 'add'
      ? [`contractor add ${plan.name}: step ${plan.step} runs ${plan.jobKind} job ${plan.job}`]
      : [`contractor remove ${plan.name}: step ${plan.step} (${plan.jobKind} job ${plan.job})`];
  for (const edge of plan.edgesRemoved) lines.push(`edge ${plan.action === 'add' ? 'taken' : 'removed'}: ${formatEdge(edge)}`);
  for (const edge of plan.edgesAdded) lines.push(`edge ${plan.action === 'add' ? 'added' : 'restored'}: ${formatEdge(edge)}`);
  for (const change of plan.changes) lines.push(`${change.content === null ? 'deleted' : change.previous === null ? 'created' : 'changed'}: ${change.path}`);
  return lines;
}

export function formatEdge(edge: Edge): string {
  return `${edge.from} -> ${edge.to} (${edge.artifact})`;
}

function checkName(what: string, value: string): void {
  if (!isName(value)) throw new ContractorError(`${what} ${JSON.stringify(value)} is not ${NAME_HINT}`);
}

function readWorkflow(files: RepoFiles): { text: string; workflow: Workflow } {
  const text = files.read(WORKFLOW_FILE);
  if (text === null) throw new ContractorError(`${WORKFLOW_FILE} not found`);
  try {
    return { text, workflow: parseWorkflow(text, WORKFLOW_FILE) };
  } catch (error) {
    if (error instanceof WorkflowError) throw new ContractorError(`${WORKFLOW_FILE} is not valid; fix it first: ${error.message.split('\n')[0]}`);
    throw error;
  }
}

/** The edited workflow must still be valid (graph semantics included): else nothing is written. */
function parseEdited(text: string): Workflow {
  try {
    return parseWorkflow(text, WORKFLOW_FILE);
  } catch (error) {
    if (error instanceof WorkflowError) throw new ContractorError(`the workflow would not be valid, nothing written: ${error.message.split('\n')[0]}`);
    throw error;
  }
}

function sameEdge(value: Record<string, unknown> | Edge, edge: Edge): boolean {
  return value.from === edge.from && value.to === edge.to && value.artifact === edge.artifact;
}

function edgeFields(edge: Edge): Record<string, string> {
  return { from: edge.from, to: edge.to, artifact: edge.artifact };
}

function appAlias(app: string): string {
  return `@reelmesh/app-${app}`;
}

function readTsconfig(files: RepoFiles): { compilerOptions: { paths: Record<string, string[]> } } {
  const text = files.read(TSCONFIG_FILE);
  if (text === null) throw new ContractorError(`${TSCONFIG_FILE} not found`);
  const json = JSON.parse(text) as { compilerOptions?: { paths?: Record<string, string[]> } };
  if (!json.compilerOptions?.paths) throw new ContractorError(`${TSCONFIG_FILE} has no compilerOptions.paths`);
  if (`${JSON.stringify(json, null, 2)}\n` !== text) throw new ContractorError(`${TSCONFIG_FILE} is not formatted as JSON with 2-space indentation; reformat it first so the alias can be added and removed exactly`);
  return json as { compilerOptions: { paths: Record<string, string[]> } };
}

function aliasesOf(files: RepoFiles): string[] {
  return Object.keys(readTsconfig(files).compilerOptions.paths);
}

/** tsconfig.base.json with the alias appended to `paths` (the file is plain 2-space JSON, so removal restores it exactly). */
function withAlias(files: RepoFiles, alias: string, target: string): string {
  const json = readTsconfig(files);
  json.compilerOptions.paths[alias] = [target];
  return `${JSON.stringify(json, null, 2)}\n`;
}

function withoutAlias(files: RepoFiles, alias: string): string {
  const json = readTsconfig(files);
  delete json.compilerOptions.paths[alias];
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * The file changes: `wanted` (workflow, app, alias), then what `reelmesh gen` derives from the new
 * workflow, and the generated files it no longer renders (orphans) deleted. Unchanged files are left out.
 */
function changesOf(files: RepoFiles, wanted: Map<string, string | null>, workflow: Workflow): FileChange[] {
  const generated = renderGeneratedFiles(workflow, (path) => files.read(path) ?? undefined);
  const rendered = new Set(generated.map((file) => file.path));
  // Two parts of the deployment rendering one file: a name that is also a platform folder (istio/mesh, k8s/base/kms...).
  const twice = generated.find((file, index) => generated.findIndex((other) => other.path === file.path) !== index);
  if (twice) throw new ContractorError(`the new names clash with a folder or file the platform already generates (${twice.path} would be rendered twice); choose another name`);
  const regenerated = new Map<string, string | null>(generated.map((file) => [file.path, file.content]));
  for (const root of GENERATED_ROOTS) {
    for (const path of files.listFiles(root)) {
      if (!rendered.has(path) && isGeneratedContent(files.read(path) ?? '')) regenerated.set(path, null);
    }
  }
  const changes: FileChange[] = [];
  const add = (path: string, content: string | null) => {
    const previous = files.read(path);
    if (previous !== content) changes.push({ path, content, previous });
  };
  for (const [path, content] of wanted) add(path, content);
  for (const [path, content] of [...regenerated].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (!wanted.has(path)) add(path, content);
  return changes;
}
