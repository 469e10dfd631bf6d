/// <reference lib="dom" />
// The workflow graph as SVG: drawn once per graph (layout.ts), then each agent's node updated in
// place (state, queue, chunks) so a burst of events costs a few attribute writes, not a redraw.
import type { AgentView, GraphView } from '@reelmesh/dashboard/model';
import { layoutGraph, NODE_HEIGHT, NODE_WIDTH } from './layout';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

interface NodeParts {
  group: SVGGElement;
  state: SVGTextElement;
  pill: SVGRectElement;
  queue: SVGTextElement;
  chunks: SVGTextElement;
  title: SVGTitleElement;
  steps: string;
}

export class GraphDrawing {
  readonly #nodes = new Map<string, NodeParts>();
  #key = '';

  constructor(private readonly host: HTMLElement) {}

  /** Draw the graph (again only when it changed). */
  draw(graph: GraphView): void {
    const key = JSON.stringify(graph);
    if (key === this.#key) return;
    this.#key = key;
    this.#nodes.clear();
    const layout = layoutGraph(graph);
    const root = svg('svg', {
      viewBox: `0 0 ${Math.ceil(layout.width)} ${Math.ceil(layout.height)}`,
      width: Math.ceil(layout.width),
      height: Math.ceil(layout.height),
      role: 'group',
      'aria-label': `Workflow ${graph.title}: ${graph.agents.length} agents of ${graph.actors.length} actors`,
      class: 'graph',
    });
    const defs = svg('defs', {});
    const marker = svg('marker', { id: 'arrowhead', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' });
    marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
    defs.append(marker);
    root.append(defs);

    for (const a of layout.actors) {
      const g = svg('g', { class: 'actor', 'data-actor': a.name });
      g.append(svg('title', {}, `${a.name}: ${a.description}`));
      g.append(svg('rect', { x: a.x, y: a.y, width: a.width, height: a.height, rx: 10, class: 'actor-box' }));
      g.append(svg('text', { x: a.x + 12, y: a.y + 17, class: 'actor-name' }, a.name));
      root.append(g);
    }
    for (const e of layout.edges) {
      const d = e.points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
      const g = svg('g', { class: 'arrow', 'data-from': e.from, 'data-to': e.to });
      g.append(svg('title', {}, `${e.from} → ${e.to}: ${e.label}`));
      g.append(svg('path', { d, class: 'arrow-line', 'marker-end': 'url(#arrowhead)' }));
      if (e.labelAt) {
        const w = e.label.length * 7 + 12;
        g.append(svg('rect', { x: e.labelAt.x - w / 2, y: e.labelAt.y - 9, width: w, height: 18, rx: 4, class: 'arrow-label-bg' }));
        g.append(svg('text', { x: e.labelAt.x, y: e.labelAt.y + 4, class: 'arrow-label', 'text-anchor': 'middle' }, e.label));
      }
      root.append(g);
    }
    for (const a of layout.agents) {
      const g = svg('g', { class: 'agent state-starting', 'data-agent': a.name, 'data-state': 'starting', transform: `translate(${a.x} ${a.y})` });
      const title = svg('title', {});
      g.append(title);
      g.append(svg('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 8, class: 'agent-box' }));
      g.append(svg('rect', { width: 6, height: NODE_HEIGHT, rx: 3, class: 'agent-stripe' }));
      g.append(svg('text', { x: 16, y: 22, class: 'agent-name' }, a.name));
      const pill = svg('rect', { x: NODE_WIDTH - 86, y: 8, width: 76, height: 20, rx: 10, class: 'agent-pill' });
      const state = svg('text', { x: NODE_WIDTH - 48, y: 22, class: 'agent-state', 'text-anchor': 'middle' }, 'starting');
      g.append(pill, state);
      const steps = a.steps.join(', ') + (a.selfArtifacts.length ? ` (↻ ${a.selfArtifacts.join(', ')})` : '');
      g.append(svg('text', { x: 16, y: 44, class: 'agent-steps' }, steps.length > 28 ? `${steps.slice(0, 27)}…` : steps));
      const queue = svg('text', { x: 16, y: 64, class: 'agent-detail' }, 'queue 0 active · 0 queued');
      const chunks = svg('text', { x: 16, y: 82, class: 'agent-detail' }, 'chunks here: 0');
      g.append(queue, chunks);
      root.append(g);
      this.#nodes.set(a.name, { group: g, state, pill, queue, chunks, title, steps });
    }
    this.host.replaceChildren(root);
  }

  /** Write an agent's live numbers into its node. */
  update(agents: Record<string, AgentView>, chunksHere: Map<string, number>): void {
    for (const [name, parts] of this.#nodes) {
      const a = agents[name];
      const state = a?.state ?? 'starting';
      if (parts.group.getAttribute('data-state') !== state) {
        parts.group.setAttribute('data-state', state);
        parts.group.setAttribute('class', `agent state-${state}`);
        parts.state.textContent = state;
      }
      const queue = `queue ${a?.active ?? 0} active · ${a?.queued ?? 0} queued`;
      if (parts.queue.textContent !== queue) parts.queue.textContent = queue;
      const chunks = `chunks here: ${chunksHere.get(name) ?? 0}`;
      if (parts.chunks.textContent !== chunks) parts.chunks.textContent = chunks;
      const title = `${name} (${a?.actor ?? ''}): ${state}; steps ${parts.steps}; ${queue}; ${chunks}`;
      if (parts.title.textContent !== title) parts.title.textContent = title;
    }
  }
}
