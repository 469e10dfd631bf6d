// The workflow graph's layout (dagre, left to right): actors are clusters, agents nodes inside
// them, one arrow per pair of agents that hand off (its label: the artifacts). Pure: no DOM, so
// the geometry is unit-tested in node; graph-view.ts turns it into SVG.
import dagre, { type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre';
import type { GraphView } from '@reelmesh/dashboard/model';

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 92;
/** Room above a cluster's agents for the actor's name. */
export const ACTOR_LABEL_HEIGHT = 24;
const PAD = 16;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GraphLayout {
  width: number;
  height: number;
  actors: Array<Box & { name: string; description: string }>;
  agents: Array<Box & { name: string; actor: string; steps: string[]; selfArtifacts: string[] }>;
  edges: Array<{ from: string; to: string; label: string; points: Array<{ x: number; y: number }>; labelAt?: { x: number; y: number } }>;
}

const actorId = (name: string) => `actor\u0000${name}`;
const agentId = (name: string) => `agent\u0000${name}`;

/** Arrows between the same two agents drawn once, their artifacts listed together. */
export function agentEdges(graph: GraphView): Array<{ from: string; to: string; artifacts: string[] }> {
  const byPair = new Map<string, { from: string; to: string; artifacts: string[] }>();
  for (const a of graph.arrows) {
    const key = `${a.from}\u0000${a.to}`;
    const edge = byPair.get(key) ?? { from: a.from, to: a.to, artifacts: [] };
    if (!edge.artifacts.includes(a.artifact)) edge.artifacts.push(a.artifact);
    byPair.set(key, edge);
  }
  return [...byPair.values()];
}

export function layoutGraph(graph: GraphView): GraphLayout {
  const g = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>({ compound: true, multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 64, edgesep: 20, marginx: PAD, marginy: PAD + ACTOR_LABEL_HEIGHT });
  g.setDefaultEdgeLabel(() => ({}));
  const agentNames = new Set(graph.agents.map((a) => a.name));
  for (const actor of graph.actors) g.setNode(actorId(actor.name), { label: actor.name, width: 0, height: 0 });
  for (const agent of graph.agents) {
    g.setNode(agentId(agent.name), { width: NODE_WIDTH, height: NODE_HEIGHT });
    if (graph.actors.some((a) => a.name === agent.actor)) g.setParent(agentId(agent.name), actorId(agent.actor));
  }
  // An actor with no agents would be an empty cluster, which dagre cannot place.
  for (const actor of graph.actors) if (!graph.agents.some((a) => a.actor === actor.name)) g.removeNode(actorId(actor.name));
  const edges = agentEdges(graph).filter((e) => agentNames.has(e.from) && agentNames.has(e.to));
  for (const e of edges) {
    if (e.from === e.to) continue; // a step handing off to a step of the same agent: listed on the node
    const label = e.artifacts.join(', ');
    g.setEdge(agentId(e.from), agentId(e.to), { label, width: label.length * 7 + 12, height: 18, labelpos: 'c' });
  }
  dagre.layout(g);

  const box = (id: string): Box => {
    const n = g.node(id);
    return { x: (n.x ?? 0) - n.width / 2, y: (n.y ?? 0) - n.height / 2, width: n.width, height: n.height };
  };
  const actors = graph.actors
    .filter((a) => g.hasNode(actorId(a.name)))
    .map((a) => {
      const b = box(actorId(a.name));
      return { name: a.name, description: a.description, x: b.x, y: b.y - ACTOR_LABEL_HEIGHT, width: b.width, height: b.height + ACTOR_LABEL_HEIGHT };
    });
  const agents = graph.agents.map((a) => ({
    name: a.name,
    actor: a.actor,
    steps: a.steps,
    selfArtifacts: edges.find((e) => e.from === a.name && e.to === a.name)?.artifacts ?? [],
    ...box(agentId(a.name)),
  }));
  const laidEdges = edges
    .filter((e) => e.from !== e.to)
    .map((e) => {
      const label = g.edge(agentId(e.from), agentId(e.to));
      return {
        from: e.from,
        to: e.to,
        label: e.artifacts.join(', '),
        points: (label.points ?? []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y })),
        labelAt: label.x !== undefined && label.y !== undefined ? { x: label.x, y: label.y } : undefined,
      };
    });
  const all: Box[] = [...actors, ...agents];
  const width = Math.max(g.graph().width ?? 0, ...all.map((b) => b.x + b.width + PAD));
  const height = Math.max(g.graph().height ?? 0, ...all.map((b) => b.y + b.height + PAD));
  const top = Math.min(0, ...all.map((b) => b.y - PAD));
  if (top < 0) {
    for (const b of all) b.y -= top;
    for (const e of laidEdges) {
      for (const p of e.points) p.y -= top;
      if (e.labelAt) e.labelAt.y -= top;
    }
  }
  return { width, height: height - top, actors, agents, edges: laidEdges };
}
