import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  DEFAULT_WORKFLOW_PATH,
  accessMatrix,
  agentBySpiffeId,
  buildGraph,
  isAllowed,
  loadWorkflow,
  ownerOf,
  parseWorkflow,
  spiffeId,
} from './index';
import { handoffPath } from '@reelmesh/addressing';
import { FILM_SHAPED, MINI } from './mini-workflow.test-util';

// Lib behaviour is pinned on a film-shaped fixture; only 'the real policies/workflow.yaml' reads the
// shipped file, and it holds whatever a contractor adds to it (reelmesh contractor add).
const shipped = loadWorkflow();
const wf = parseWorkflow(FILM_SHAPED);
const graph = buildGraph(wf);
const matrix = accessMatrix(wf);

describe('the real policies/workflow.yaml', () => {
  it('loads from the default path and is frozen', () => {
    expect(DEFAULT_WORKFLOW_PATH).toMatch(/[/\\]policies[/\\]workflow\.yaml$/);
    expect(shipped.metadata).toEqual({ id: 'feature-film', title: 'Feature film post-production', trustDomain: 'reelmesh.local' });
    // The shipped film keeps the master's format: no conform.
    expect(shipped.media.delivery.conform).toBeUndefined();
    expect(shipped.media.intermediate).toEqual({ picture: 'x264-lossless', sound: 'pcm_s24le' });
    // The film's own seven agents (contractors added with `reelmesh contractor add` come on top).
    expect(shipped.agents.map((agent) => agent.name)).toEqual(expect.arrayContaining(['owner', 'vfx-1', 'vfx-2', 'vfx-3', 'color', 'hdr', 'sound']));
    expect(Object.isFrozen(shipped.edges[0])).toBe(true);
    expect(() => (shipped.steps as unknown as unknown[]).push({})).toThrow(TypeError);
  });

  it('reports a misspelt edge target at its line and column in the real file', () => {
    const original = readFileSync(DEFAULT_WORKFLOW_PATH, 'utf8');
    const index = shipped.edges.findIndex((edge) => !edge.to.endsWith('x'));
    const { from, to } = shipped.edges[index];
    const typo = `${to}x`;
    const text = original.replace(`{ from: ${from}, to: ${to},`, `{ from: ${from}, to: ${typo},`);
    expect(text).not.toBe(original);
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes(`to: ${typo},`)) + 1;
    const column = lines[line - 1].indexOf(`to: ${typo},`) + 5;
    expect(() => parseWorkflow(text, 'policies/workflow.yaml')).toThrow(
      `policies/workflow.yaml:${line}:${column} edges[${index}].to: unknown step "${typo}" (known: ${shipped.steps.map((step) => step.name).join(', ')})`,
    );
  });
});

describe('accessMatrix', () => {
  it('derives exactly the 8 agent edges, sorted', () => {
    expect(matrix.map((rule) => `${rule.source}->${rule.destination}`)).toEqual([
      'color->hdr',
      'hdr->owner',
      'owner->vfx-1',
      'sound->owner',
      'vfx-1->vfx-2',
      'vfx-1->vfx-3',
      'vfx-2->color',
      'vfx-3->sound',
    ]);
  });

  it('gives each rule its path pattern, step, artifact and both principals', () => {
    expect(matrix[2]).toEqual({
      source: 'owner',
      destination: 'vfx-1',
      method: 'POST',
      pathPattern: '/v1/handoffs/feature-film/demux/av/{chunk}',
      step: 'demux',
      artifact: 'av',
      sourcePrincipal: 'spiffe://reelmesh.local/ns/owner/sa/owner',
      destinationPrincipal: 'spiffe://reelmesh.local/ns/vfx/sa/vfx-1',
    });
    expect(matrix.map((rule) => rule.pathPattern)).toContain('/v1/handoffs/feature-film/assemble/sound/{chunk}');
  });

  it('leaves out edges between steps of the same agent (no network hop)', () => {
    const local = MINI.replace('{ name: assemble, agent: owner,', '{ name: assemble, agent: fx-1,');
    const rules = accessMatrix(parseWorkflow(local));
    expect(rules.map((rule) => `${rule.source}->${rule.destination}:${rule.step}`)).toEqual(['owner->fx-1:demux']);
    expect(buildGraph(parseWorkflow(local)).nextHops('fx-1')).toEqual([]);
  });

  it('does not depend on the order of the YAML lists', () => {
    const text = FILM_SHAPED;
    const edgesAt = text.indexOf('\nedges:\n') + '\nedges:\n'.length;
    const reversed = text.slice(0, edgesAt) + text.slice(edgesAt).trimEnd().split('\n').reverse().join('\n') + '\n';
    const shuffled = parseWorkflow(reversed);
    expect(shuffled.edges[0]).toEqual({ from: 'sound-master', to: 'assemble', artifact: 'sound' });
    expect(accessMatrix(shuffled)).toEqual(matrix);
    expect(buildGraph(shuffled).topoOrder).toEqual(graph.topoOrder);
  });
});

describe('isAllowed', () => {
  it('allows exactly the calls in the matrix', () => {
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', handoffPath({ workflowId: 'feature-film', step: 'demux', artifact: 'av', chunkIndex: 3 }))).toBe(true);
    expect(isAllowed(matrix, 'hdr', 'owner', 'POST', '/v1/handoffs/feature-film/assemble/picture/0')).toBe(true);
  });

  it('denies everything else', () => {
    const ok = '/v1/handoffs/feature-film/demux/av/3';
    expect(isAllowed(matrix, 'vfx-1', 'owner', 'POST', ok)).toBe(false); // reversed direction
    expect(isAllowed(matrix, 'vfx-2', 'vfx-1', 'POST', ok)).toBe(false); // bystander
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'GET', ok)).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'post', ok)).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', '/v1/handoffs/feature-film/demux/picture/3')).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', '/v1/handoffs/other-film/demux/av/3')).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', '/v1/handoffs/feature-film/demux/av/{chunk}')).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', '/v1/handoffs/feature-film/demux/av/03')).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', '/v1/handoffs/feature-film/demux/av/-1')).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', `${ok}?x=1`)).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', `${ok}/`)).toBe(false);
    expect(isAllowed(matrix, 'owner', 'vfx-1', 'POST', '/v1/handoffs/feature-film/demux/../demux/av/3')).toBe(false);
    expect(isAllowed([], 'owner', 'vfx-1', 'POST', ok)).toBe(false);
  });
});

describe('buildGraph', () => {
  it('orders steps topologically, ties broken by name', () => {
    expect(graph.topoOrder).toEqual(['split', 'demux', 'picture-fx', 'grade', 'hdr-master', 'sound-fx', 'sound-master', 'assemble']);
    for (const edge of wf.edges) {
      expect(graph.topoOrder.indexOf(edge.from)).toBeLessThan(graph.topoOrder.indexOf(edge.to));
    }
  });

  it('finds next and previous hops of every agent', () => {
    const hops = Object.fromEntries(wf.agents.map((a) => [a.name, { next: graph.nextHops(a.name), previous: graph.previousHops(a.name) }]));
    expect(hops).toEqual({
      owner: { next: ['vfx-1'], previous: ['hdr', 'sound'] },
      'vfx-1': { next: ['vfx-2', 'vfx-3'], previous: ['owner'] },
      'vfx-2': { next: ['color'], previous: ['vfx-1'] },
      'vfx-3': { next: ['sound'], previous: ['vfx-1'] },
      color: { next: ['hdr'], previous: ['vfx-2'] },
      hdr: { next: ['owner'], previous: ['color'] },
      sound: { next: ['owner'], previous: ['vfx-3'] },
    });
  });

  it('looks up steps, their agents, inputs and outputs', () => {
    expect(graph.sourceSteps).toEqual(['split']);
    expect(graph.sinkSteps).toEqual(['assemble']);
    expect(graph.step('grade')).toEqual({ name: 'grade', agent: 'color', job: 'grade' });
    expect(graph.agentOf('hdr-master')).toBe('hdr');
    expect(graph.stepsOf('owner').map((step) => step.name)).toEqual(['split', 'assemble']);
    expect(graph.inputsOf('assemble')).toEqual([
      { from: 'hdr-master', to: 'assemble', artifact: 'picture' },
      { from: 'sound-master', to: 'assemble', artifact: 'sound' },
    ]);
    expect(graph.outputsOf('demux')).toEqual([
      { from: 'demux', to: 'picture-fx', artifact: 'picture' },
      { from: 'demux', to: 'sound-fx', artifact: 'sound' },
    ]);
    expect(graph.inputsOf('split')).toEqual([]);
    expect(graph.outputsOf('assemble')).toEqual([]);
  });

  it('answers nothing for unknown names', () => {
    expect(graph.step('nope')).toBeUndefined();
    expect(graph.agentOf('nope')).toBeUndefined();
    expect(graph.stepsOf('nope')).toEqual([]);
    expect(graph.nextHops('nope')).toEqual([]);
    expect(graph.previousHops('nope')).toEqual([]);
  });

  it('refuses a cyclic workflow that skipped validation', () => {
    const cyclic = { ...wf, edges: [...wf.edges, { from: 'assemble', to: 'split', artifact: 'loop' }] };
    expect(() => buildGraph(cyclic)).toThrow(/not valid/);
  });
});

describe('SPIFFE ids', () => {
  it('gives every agent spiffe://<trustDomain>/ns/<actor>/sa/<agent>', () => {
    expect(wf.agents.map((agent) => spiffeId(wf, agent.name))).toEqual([
      'spiffe://reelmesh.local/ns/owner/sa/owner',
      'spiffe://reelmesh.local/ns/vfx/sa/vfx-1',
      'spiffe://reelmesh.local/ns/vfx/sa/vfx-2',
      'spiffe://reelmesh.local/ns/vfx/sa/vfx-3',
      'spiffe://reelmesh.local/ns/color/sa/color',
      'spiffe://reelmesh.local/ns/hdr/sa/hdr',
      'spiffe://reelmesh.local/ns/sound/sa/sound',
    ]);
    expect(() => spiffeId(wf, 'mallory')).toThrow('unknown agent "mallory"');
  });

  it('maps an id back to its agent only on an exact match', () => {
    expect(agentBySpiffeId(wf, 'spiffe://reelmesh.local/ns/vfx/sa/vfx-2')?.role).toBe('picture');
    expect(agentBySpiffeId(wf, 'spiffe://evil.local/ns/vfx/sa/vfx-2')).toBeUndefined();
    expect(agentBySpiffeId(wf, 'spiffe://reelmesh.local/ns/color/sa/vfx-2')).toBeUndefined();
    expect(agentBySpiffeId(wf, 'spiffe://reelmesh.local/ns/vfx/sa/vfx-2/')).toBeUndefined();
  });
});

describe('ownerOf', () => {
  it('is the actor and agent of the source step, whatever they are called', () => {
    const renamed = parseWorkflow(
      MINI.replace(/name: owner, description/, 'name: studio, description')
        .replace('{ name: owner, actor: owner, app: owner }', '{ name: ingest, actor: studio, app: owner }')
        .replace(/agent: owner/g, 'agent: ingest'),
    );
    expect(ownerOf(renamed)).toEqual({ actor: 'studio', agent: 'ingest' });
    expect(ownerOf(parseWorkflow(MINI))).toEqual({ actor: 'owner', agent: 'owner' });
  });
});
