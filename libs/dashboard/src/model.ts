// The owner's dashboard: what the page shows, and the events that change it. One pure reducer
// (applyEvent) runs in the CLI (the state a new page gets as its snapshot) and in the page (the
// events pushed after it), so both always agree. Lists that grow with the run are bounded here.
// The wire format is documented in docs/dashboard.md.
// Browser-safe: the page imports this module alone as @reelmesh/dashboard/model (no node: imports here).

/** Where an agent's pod is, derived from its processes and its queue. */
export type AgentState = 'starting' | 'ready' | 'busy' | 'restarting' | 'failed' | 'stopped';
/** A supervised process, as the runtime's process group sees it. */
export type ProcessState = 'starting' | 'running' | 'backoff' | 'restarting' | 'crashloop' | 'stopped';

/** The workflow file, as a graph: actors are groups, agents nodes, arrows the handoffs between agents. */
export interface GraphView {
  id: string;
  title: string;
  owner: string;
  actors: Array<{ name: string; description: string }>;
  agents: Array<{ name: string; actor: string; steps: string[] }>;
  /** One per workflow edge: the step-to-step edge drawn between the agents that run the steps. */
  arrows: Array<{ from: string; to: string; fromStep: string; toStep: string; artifact: string }>;
  steps: Array<{ name: string; agent: string; source: boolean; sink: boolean }>;
}

export interface ProcessView {
  name: string;
  /** The agent whose pod it belongs to; absent for the platform (control plane, KMS). */
  agent?: string;
  role: 'app' | 'proxy' | 'policy' | 'control-plane' | 'kms' | 'other';
  state: ProcessState;
  pid?: number;
  /** Milliseconds from spawn to its ready line (first start). */
  startupMs?: number;
  restarts: number;
}

export interface AgentView {
  name: string;
  actor: string;
  state: AgentState;
  /** Jobs running and waiting in the agent's bounded queue. */
  active: number;
  queued: number;
  steps: Record<string, { received: number; completed: number; failed: number; busyMs: number }>;
  /** KMS calls, and plaintext bytes sealed into the agent's volume. */
  kms?: { generateDataKey: number; decrypt: number; failures: number; sealedBytes?: number };
  provenance?: { recordsSigned: number; chainsVerified: number; signMs: number; verifyMs: number };
  maxRssBytes?: number;
}

export interface StepProgress {
  step: string;
  agent: string;
  done: number;
  total: number;
  /** Chunks per second over the last few seconds (0 when idle). */
  chunksPerSecond: number;
}

/** The last place a chunk was seen: received by `agent` for `step` (from the ledger's handoffs). */
export interface ChunkPosition {
  chunk: number;
  agent: string;
  step: string;
  time: string;
}

export interface DecisionView {
  id: string;
  time: string;
  /** The pod whose policy sidecar decided (the destination's). */
  agent: string;
  source: string;
  destination: string;
  method: string;
  path: string;
  allowed: boolean;
  reason: string;
}

/** A chunk an agent refused because its provenance did not hold (the broken link is in `reason`). */
export interface RefusalView {
  time: string;
  agent: string;
  from: string;
  step: string;
  artifact: string;
  chunk: number;
  reason: string;
}

export interface CheckpointView {
  index: number;
  from: number;
  to: number;
  head: string;
  time: string;
  signedBy: string;
}

export interface ErrorView {
  time: string;
  /** The process (or agent) it came from. */
  source: string;
  message: string;
  /** The log line that explains it, when one was found. */
  logLine?: string;
}

export interface RunView {
  state: 'starting' | 'running' | 'done' | 'failed' | 'stopped';
  chunks?: number;
  startedAt?: string;
  finishedAt?: string;
  runDir?: string;
  deliverable?: string;
  format?: string;
  error?: string;
}

/** One point of the progress timeline: seconds since the run started, chunks done per step. */
export interface TimelinePoint {
  t: number;
  done: Record<string, number>;
}

/** The access matrix of `reelmesh verify`, one cell per (source, destination). */
export interface MatrixCell {
  source: string;
  destination: string;
  attempts: number;
  expectedAllowed: number;
  allowed: number;
  /** Calls whose outcome differed from the workflow's expectation. */
  mismatches: number;
}

/** What a finished run leaves in its folder (`report.json`) for `reelmesh dashboard <run-dir>`. */
export interface RunReport {
  version: 1;
  workflowId: string;
  runDir: string;
  finishedAt: string;
  result: {
    deliverable: string;
    chunks: number;
    format?: string;
    wallSeconds: number;
    startupSeconds: number;
    runSeconds: number;
    /** agent -> wall seconds from its first job start to its last job end. */
    steps: Record<string, number>;
    /** agent -> seconds spent inside jobs. */
    busySeconds: Record<string, number>;
    kmsCalls: number;
    provenance: { recordsSigned: number; chainsVerified: number; signMs: number; verifyMs: number };
    restarts: Record<string, number>;
    security: { mesh: boolean; encryption: boolean };
  };
  /** The deliverable's own check (`reelmesh verify <deliverable> --ca`): ok, or what failed. */
  verification: { ok: boolean; summary: string; checks: Array<{ name: string; ok: boolean; detail?: string }> };
  /** The access matrix tried on the live mesh before it stopped (absent without the mesh). */
  matrix?: { agents: string[]; attempts: number; unexpectedAllows: number; unexpectedDenies: number; cells: MatrixCell[] };
  /** Processes' start-up times (ms) and the progress timeline. */
  startupMs: Record<string, number>;
  timeline: TimelinePoint[];
  decisions: { allowed: number; denied: number };
  ledger: LedgerView;
}

export interface LedgerView {
  entries: number;
  head?: string;
  checkpoint?: CheckpointView;
}

export interface DashboardState {
  version: 1;
  /** `live`: pushed from a running mesh; `report`: read from a finished run's folder. */
  mode: 'live' | 'report';
  graph: GraphView;
  run: RunView;
  agents: Record<string, AgentView>;
  processes: Record<string, ProcessView>;
  progress: Record<string, StepProgress>;
  /** chunk index -> where it was last seen (at most MAX_CHUNKS chunks, the latest kept). */
  chunks: Record<string, ChunkPosition>;
  decisions: { recent: DecisionView[]; allowed: number; denied: number };
  provenance: { refusals: RefusalView[]; refused: number };
  ledger: LedgerView;
  /** KMS calls and bytes sealed, summed over every agent (kept in step with `agents` by the reducer). */
  kms: { generateDataKey: number; decrypt: number; failures: number; sealedBytes: number };
  errors: BoundedList<ErrorView>;
  timeline: TimelinePoint[];
  report?: RunReport;
}

/** A bounded list and how many were ever added. */
export interface BoundedList<T> {
  recent: T[];
  total: number;
}

export type DashboardEvent =
  | { type: 'snapshot'; state: DashboardState }
  | { type: 'run'; run: RunView }
  | { type: 'process'; process: ProcessView }
  | { type: 'agent'; agent: AgentView }
  | { type: 'progress'; progress: StepProgress }
  | { type: 'chunk'; position: ChunkPosition }
  | { type: 'decision'; decision: DecisionView }
  | { type: 'refusal'; refusal: RefusalView }
  | { type: 'ledger'; ledger: LedgerView }
  | { type: 'error'; error: ErrorView }
  | { type: 'timeline'; point: TimelinePoint }
  | { type: 'report'; report: RunReport };

export const MAX_DECISIONS = 500;
export const MAX_REFUSALS = 100;
export const MAX_ERRORS = 100;
export const MAX_CHUNKS = 5_000;
export const MAX_TIMELINE = 600;

export function emptyState(graph: GraphView, mode: DashboardState['mode'] = 'live'): DashboardState {
  return {
    version: 1,
    mode,
    graph,
    run: { state: 'starting' },
    agents: Object.fromEntries(
      graph.agents.map((a) => [a.name, { name: a.name, actor: a.actor, state: 'starting', active: 0, queued: 0, steps: {} } satisfies AgentView]),
    ),
    processes: {},
    progress: Object.fromEntries(graph.steps.map((s) => [s.name, { step: s.name, agent: s.agent, done: 0, total: 0, chunksPerSecond: 0 }])),
    chunks: {},
    decisions: { recent: [], allowed: 0, denied: 0 },
    provenance: { refusals: [], refused: 0 },
    ledger: { entries: 0 },
    kms: { generateDataKey: 0, decrypt: 0, failures: 0, sealedBytes: 0 },
    errors: { recent: [], total: 0 },
    timeline: [],
  };
}

const pushBounded = <T>(list: T[], item: T, max: number): T[] => (list.length >= max ? [...list.slice(list.length - max + 1), item] : [...list, item]);

/** Keep every other point once the timeline is full: the whole run stays drawn, at half the resolution. */
function addPoint(timeline: TimelinePoint[], point: TimelinePoint): TimelinePoint[] {
  const next = [...timeline, point];
  return next.length > MAX_TIMELINE ? next.filter((_, i) => i % 2 === 0 || i === next.length - 1) : next;
}

/** The state after one event. Never mutates its arguments. */
export function applyEvent(state: DashboardState, event: DashboardEvent): DashboardState {
  switch (event.type) {
    case 'snapshot':
      return event.state;
    case 'run':
      return { ...state, run: event.run };
    case 'process':
      return { ...state, processes: { ...state.processes, [event.process.name]: event.process } };
    case 'agent': {
      const agents = { ...state.agents, [event.agent.name]: event.agent };
      return { ...state, agents, kms: kmsTotals(agents) };
    }
    case 'progress':
      return { ...state, progress: { ...state.progress, [event.progress.step]: event.progress } };
    case 'chunk': {
      const key = String(event.position.chunk);
      const chunks = { ...state.chunks, [key]: event.position };
      const keys = Object.keys(chunks);
      if (keys.length > MAX_CHUNKS) for (const k of keys.map(Number).sort((a, b) => a - b).slice(0, keys.length - MAX_CHUNKS)) delete chunks[String(k)];
      return { ...state, chunks };
    }
    case 'decision': {
      const d = event.decision;
      return {
        ...state,
        decisions: {
          recent: pushBounded(state.decisions.recent, d, MAX_DECISIONS),
          allowed: state.decisions.allowed + (d.allowed ? 1 : 0),
          denied: state.decisions.denied + (d.allowed ? 0 : 1),
        },
      };
    }
    case 'refusal':
      return { ...state, provenance: { refusals: pushBounded(state.provenance.refusals, event.refusal, MAX_REFUSALS), refused: state.provenance.refused + 1 } };
    case 'ledger':
      return { ...state, ledger: { ...event.ledger, checkpoint: event.ledger.checkpoint ?? state.ledger.checkpoint } };
    case 'error':
      return { ...state, errors: { recent: pushBounded(state.errors.recent, event.error, MAX_ERRORS), total: state.errors.total + 1 } };
    case 'timeline':
      return { ...state, timeline: addPoint(state.timeline, event.point) };
    case 'report':
      return { ...state, report: event.report };
  }
}

/** KMS calls over every agent, as the page shows them in one line. */
export function kmsTotals(agents: Record<string, AgentView>): DashboardState['kms'] {
  const total = { generateDataKey: 0, decrypt: 0, failures: 0, sealedBytes: 0 };
  for (const a of Object.values(agents)) {
    total.sealedBytes += a.kms?.sealedBytes ?? 0;
    total.generateDataKey += a.kms?.generateDataKey ?? 0;
    total.decrypt += a.kms?.decrypt ?? 0;
    total.failures += a.kms?.failures ?? 0;
  }
  return total;
}
