import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { orphanedFiles, renderRepoGeneratedFiles, staleFiles } from '@reelmesh/deploy';
import { buildGraph, filterJobOf, loadWorkflow, type Edge, type Workflow } from '@reelmesh/workflow';
import { ContractorError, planAddContractor, planRemoveContractor, WORKFLOW_FILE, type AddContractorOptions } from './plan';
import { applyChanges, diskFiles } from './repo-files';
import { copyRepo, treeFolders, treeHashes, unusedName } from './test-copy';
import { appendEntry, JOBS_COMMENT } from './workflow-edit';

// What the core reads and writes: the workflow, the apps, the path aliases and every generated folder.
const PREFIXES = ['policies', 'apps', 'k8s', 'istio', 'docker', 'docker-compose.yml', 'tsconfig.base.json'];
const NAME = unusedName('spec-subs');
const SECOND = unusedName('spec-subs-2');
const THIRD = unusedName('spec-two');

let dir: string;
beforeEach(() => {
  dir = copyRepo(PREFIXES);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const workflowOf = (): Workflow => loadWorkflow(join(dir, WORKFLOW_FILE));
/** An edge of the copy's workflow carrying `artifact` (derived, never pinned). */
const edgeCarrying = (artifact: string): Edge => {
  const edge = workflowOf().edges.find((candidate) => candidate.artifact === artifact);
  if (!edge) throw new Error(`the workflow has no ${artifact} edge`);
  return edge;
};
const addOptions = (edge: Edge, more: Partial<AddContractorOptions> = { filter: 'null' }): AddContractorOptions => ({
  name: NAME,
  after: edge.from,
  before: edge.to,
  artifact: edge.artifact,
  ...more,
});
const add = (options: AddContractorOptions) => applyChanges(dir, planAddContractor(diskFiles(dir), options).changes);
const remove = (name = NAME) => applyChanges(dir, planRemoveContractor(diskFiles(dir), name).changes);

/** Every generated file is what `reelmesh gen` would write, and none is left over. */
function expectGenerationFresh(workflow: Workflow) {
  const rendered = renderRepoGeneratedFiles(dir, workflow);
  expect(staleFiles(dir, rendered)).toEqual([]);
  expect(orphanedFiles(dir, rendered)).toEqual([]);
}

describe('contractor add then remove', () => {
  it('a filter job: the edge is split, the app scaffolded, everything regenerated; removing restores every file byte for byte', () => {
    const hashes = treeHashes(dir);
    const folders = treeFolders(dir);
    const edge = edgeCarrying('picture');
    add(addOptions(edge, { filter: 'drawbox=x=0:y=0:w=10:h=10:color=black:t=fill' }));

    const workflow = workflowOf();
    const graph = buildGraph(workflow);
    expect(graph.inputsOf(NAME)).toEqual([{ from: edge.from, to: NAME, artifact: edge.artifact }]);
    expect(graph.outputsOf(NAME)).toEqual([{ from: NAME, to: edge.to, artifact: edge.artifact }]);
    expect(workflow.edges).not.toContainEqual(edge);
    expect(workflow.agents).toContainEqual({ name: NAME, actor: NAME, app: NAME });
    expect(workflow.actors.map((actor) => actor.name)).toContain(NAME);
    expect(filterJobOf(workflow, NAME)?.filter).toBe('drawbox=x=0:y=0:w=10:h=10:color=black:t=fill');
    for (const file of ['project.json', 'src/main.ts', 'src/index.ts', 'src/app.ts', 'src/app.spec.ts']) expect(existsSync(join(dir, 'apps', NAME, file)), file).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'apps', NAME, 'project.json'), 'utf8')).tags).toEqual([`scope:${NAME}`, 'type:app']);
    expect(JSON.parse(readFileSync(join(dir, 'tsconfig.base.json'), 'utf8')).compilerOptions.paths[`@reelmesh/app-${NAME}`]).toEqual([`apps/${NAME}/src/index.ts`]);
    expect(existsSync(join(dir, `docker/${NAME}.Dockerfile`))).toBe(true);
    expectGenerationFresh(workflow);

    remove();
    expect(treeHashes(dir)).toEqual(hashes);
    expect(treeFolders(dir)).toEqual(folders);
  });

  it('a job module under an existing actor: the actor is kept, the module scaffolded; removing restores every file byte for byte', () => {
    const hashes = treeHashes(dir);
    const edge = edgeCarrying('sound');
    const before = workflowOf();
    const actor = before.agents.find((agent) => agent.name === buildGraph(before).agentOf(edge.from))!.actor;
    add(addOptions(edge, { job: 'level-trim', actor }));

    const workflow = workflowOf();
    expect(workflow.actors).toEqual(before.actors);
    expect(workflow.agents).toContainEqual({ name: NAME, actor, app: NAME });
    expect(workflow.steps).toContainEqual({ name: NAME, agent: NAME, job: 'level-trim' });
    expect(workflow.jobs ?? []).toEqual(before.jobs ?? []);
    const app = readFileSync(join(dir, 'apps', NAME, 'src/app.ts'), 'utf8');
    expect(app).toContain("import { levelTrimJob } from './jobs/level-trim';");
    expect(app).toContain("'level-trim': levelTrimJob(deps)");
    expect(readFileSync(join(dir, 'apps', NAME, 'src/jobs/level-trim.ts'), 'utf8')).toContain('filterJob(inputs.sound, outputs.sound');
    expect(JSON.parse(readFileSync(join(dir, 'apps', NAME, 'project.json'), 'utf8')).tags).toEqual([`scope:${actor}`, 'type:app']);
    expectGenerationFresh(workflow);

    remove();
    expect(treeHashes(dir)).toEqual(hashes);
  });

  it('keeps every comment, blank line and entry of the workflow as it was, in place', () => {
    const original = readFileSync(join(dir, WORKFLOW_FILE), 'utf8').split('\n');
    const edge = edgeCarrying('picture');
    add(addOptions(edge));
    const edited = readFileSync(join(dir, WORKFLOW_FILE), 'utf8').split('\n');
    // The edited file is the original with lines inserted, but for the one edge line it replaced.
    const taken = original.findIndex((line) => line.includes(`from: ${edge.from}, to: ${edge.to}, artifact: ${edge.artifact}`));
    const kept = original.filter((_, index) => index !== taken);
    let at = 0;
    for (const line of edited) if (at < kept.length && line === kept[at]) at++;
    expect(kept.slice(at), 'original lines missing or moved').toEqual([]);
    expect(original.filter((line) => line.trimStart().startsWith('#')).length).toBeGreaterThan(0);
    expect(edited.filter((line) => line.trimStart().startsWith('#'))).toEqual(
      expect.arrayContaining(original.filter((line) => line.trimStart().startsWith('#'))),
    );
    expect(edited).toContain(JOBS_COMMENT);
    // The two new edges sit where the taken one was, between the same neighbours.
    const first = edited.findIndex((line) => line.trim() === `- { from: ${edge.from}, to: ${NAME}, artifact: ${edge.artifact} }`);
    expect(edited[first + 1].trim()).toBe(`- { from: ${NAME}, to: ${edge.to}, artifact: ${edge.artifact} }`);
    expect([edited[first - 1], edited[first + 2]]).toEqual([original[taken - 1], original[taken + 1]]);
  });

  it('a second filter-job contractor joins the jobs: section, and removing both restores it', () => {
    const hashes = treeHashes(dir);
    const declared = (workflowOf().jobs ?? []).map((job) => job.name);
    const edge = edgeCarrying('picture');
    add(addOptions(edge));
    add({ ...addOptions({ from: NAME, to: edge.to, artifact: edge.artifact }), name: SECOND, filter: 'hflip' });
    expect(workflowOf().jobs?.map((job) => job.name)).toEqual([...declared, NAME, SECOND]);
    remove(SECOND);
    remove();
    expect(treeHashes(dir)).toEqual(hashes);
  });
});

describe('bad input is refused before anything is written', () => {
  const refusals: Array<[string, (wf: Workflow, edge: Edge) => Partial<AddContractorOptions>, RegExp]> = [
    ['an upper-case name', () => ({ name: 'Subs' }), /contractor name "Subs" is not a DNS-label name/],
    ['a name ending in "-"', () => ({ name: 'subs-' }), /is not a DNS-label name/],
    ['a name longer than 63', () => ({ name: `s${'x'.repeat(63)}` }), /is not a DNS-label name/],
    ['an existing agent', (wf) => ({ name: wf.agents[0].name }), /an agent named .* already exists/],
    ['an existing step', (wf) => ({ name: wf.steps.find((s) => !wf.agents.some((a) => a.name === s.name || a.app === s.name))!.name }), /a step named .* already exists/],
    ['an existing app folder', () => ({ name: 'control-plane' }), /an app named control-plane already exists/],
    ['an unknown --after', () => ({ after: 'no-such-step' }), /--after no-such-step: no such step \(steps: /],
    ['an unknown --before', () => ({ before: 'no-such-step' }), /--before no-such-step: no such step/],
    ['an unknown artifact', () => ({ artifact: 'hologram' }), /--artifact hologram: no edge of the workflow carries it \(artifacts: /],
    ['an edge that carries another artifact', () => ({ artifact: 'sound' }), /no edge .* carrying sound; between them: .*\(picture\)/],
    ['a reversed edge (a cycle)', (_, edge) => ({ after: edge.to, before: edge.from }), /no edge .* carrying picture; out of /],
    ['both --filter and --job', () => ({ filter: 'null', job: 'trim' }), /give exactly one of --filter/],
    ['neither --filter nor --job', () => ({ filter: undefined }), /give exactly one of --filter/],
    ['an invalid --job module name', () => ({ filter: undefined, job: 'Bad_Job' }), /--job module name "Bad_Job" is not a DNS-label name/],
    ['a filter on two lines', () => ({ filter: 'null\nnull' }), /--filter must be an ffmpeg filter graph on one line/],
    ['an invalid --actor', () => ({ actor: 'Owner' }), /--actor "Owner" is not a DNS-label name/],
    ['a name the platform already generates files under (istio/mesh)', () => ({ name: 'mesh' }), /clash with a folder or file the platform already generates \(istio\/mesh\//],
  ];

  it.each(refusals)('%s', (_, change, message) => {
    const hashes = treeHashes(dir);
    const workflow = workflowOf();
    const edge = edgeCarrying('picture');
    expect(() => planAddContractor(diskFiles(dir), { ...addOptions(edge), ...change(workflow, edge) })).toThrow(message);
    expect(() => planAddContractor(diskFiles(dir), { ...addOptions(edge), ...change(workflow, edge) })).toThrow(ContractorError);
    expect(treeHashes(dir)).toEqual(hashes);
  });

  it('an actor of that name unless --actor names it', () => {
    const path = join(dir, WORKFLOW_FILE);
    writeFileSync(path, appendEntry(readFileSync(path, 'utf8'), 'actors', { name: NAME, description: 'Already here' }));
    const edge = edgeCarrying('picture');
    expect(() => planAddContractor(diskFiles(dir), addOptions(edge))).toThrow(new RegExp(`an actor named ${NAME} already exists: pass --actor ${NAME}`));
    expect(planAddContractor(diskFiles(dir), addOptions(edge, { filter: 'null', actor: NAME })).edgesAdded).toHaveLength(2);
  });

  it('a job name a filter job already has', () => {
    const edge = edgeCarrying('picture');
    add(addOptions(edge));
    const hashes = treeHashes(dir);
    expect(() => planAddContractor(diskFiles(dir), { ...addOptions({ from: NAME, to: edge.to, artifact: edge.artifact }), name: THIRD, filter: undefined, job: NAME })).toThrow(
      `a filter job named ${NAME} already exists`,
    );
    expect(treeHashes(dir)).toEqual(hashes);
  });

  it('a workflow the edit would make invalid (validated with parseWorkflow before writing)', () => {
    const hashes = treeHashes(dir);
    // Passes the command's own checks; the workflow schema caps a filter graph's length.
    expect(() => planAddContractor(diskFiles(dir), addOptions(edgeCarrying('picture'), { filter: 'null,'.repeat(2000) + 'null' }))).toThrow(
      /^the workflow would not be valid, nothing written: policies\/workflow.yaml:\d+:\d+ jobs\[\d+\]\.filter/,
    );
    expect(treeHashes(dir)).toEqual(hashes);
  });

  it('remove: an unknown contractor, an agent with several steps, a step that is not one edge in and one out', () => {
    const wf = workflowOf();
    const graph = buildGraph(wf);
    expect(() => planRemoveContractor(diskFiles(dir), 'nobody')).toThrow(/no contractor named nobody: the workflow has no agent nobody/);
    const busy = wf.agents.find((agent) => graph.stepsOf(agent.name).length > 1);
    if (busy) expect(() => planRemoveContractor(diskFiles(dir), busy.name)).toThrow(new RegExp(`cannot remove ${busy.name}: it runs \\d+ steps`));
    const fanned = wf.agents.find((agent) => {
      const steps = graph.stepsOf(agent.name);
      return steps.length === 1 && (graph.inputsOf(steps[0].name).length !== 1 || graph.outputsOf(steps[0].name).length !== 1);
    });
    if (fanned) expect(() => planRemoveContractor(diskFiles(dir), fanned.name)).toThrow(/must have one input edge and one output edge of the same artifact/);
    expect(busy ?? fanned).toBeDefined();
  });
});

describe('applyChanges', () => {
  it('puts every file back when a write fails half way', () => {
    const hashes = treeHashes(dir);
    const plan = planAddContractor(diskFiles(dir), addOptions(edgeCarrying('picture')));
    const broken = [...plan.changes.slice(0, 5), { path: 'tsconfig.base.json/not-a-folder', content: 'x', previous: null }, ...plan.changes.slice(5)];
    expect(() => applyChanges(dir, broken)).toThrow();
    expect(treeHashes(dir)).toEqual(hashes);
    expect(existsSync(join(dir, 'apps', NAME))).toBe(false);
  });
});
