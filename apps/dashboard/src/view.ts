// Pure helpers of the page: what each view shows, computed from the state alone (no DOM, no
// browser), so they are unit-tested in node and the page's render code stays a thin DOM layer.
import type { ChunkPosition, DashboardState, DecisionView, MatrixCell, RunReport, StepProgress, TimelinePoint } from '@reelmesh/dashboard/model';

/** Series colours: distinct hues, each >= 3:1 against the panel (non-text contrast, checked in view.spec.ts). */
export const SERIES_COLOURS = ['#58a6ff', '#3fb950', '#d29922', '#f778ba', '#a5a5ff', '#39c5cf', '#ff9b6a', '#e3b341', '#7ee787', '#d2a8ff'];

/** "42%" for done/total; never "100%" before every chunk is done; an em dash while the total is unknown. */
export function percentText(done: number, total: number): string {
  if (!(total > 0)) return '—';
  if (done >= total) return '100%';
  return `${Math.min(99, Math.floor((Math.max(0, done) / total) * 100))}%`;
}

/** Done over total, 0..1 (0 while the total is unknown). */
export function ratio(done: number, total: number): number {
  return total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
}

/** Sum of done / sum of total over the steps whose total is known. */
export function overallProgress(progress: Record<string, StepProgress>): { done: number; total: number; percent: string } {
  let done = 0;
  let total = 0;
  for (const p of Object.values(progress)) {
    if (p.total > 0) {
      done += Math.min(p.done, p.total);
      total += p.total;
    }
  }
  return { done, total, percent: percentText(done, total) };
}

/** How many chunks were last seen at each agent. */
export function chunksByAgent(chunks: Record<string, ChunkPosition>): Map<string, number> {
  const count = new Map<string, number>();
  for (const c of Object.values(chunks)) count.set(c.agent, (count.get(c.agent) ?? 0) + 1);
  return count;
}

export interface DecisionFilter {
  text: string;
  deniedOnly: boolean;
}

/** The decisions to list, newest first: the text matches source, destination, path or reason (case-insensitive). */
export function filterDecisions(recent: readonly DecisionView[], filter: DecisionFilter): DecisionView[] {
  const needle = filter.text.trim().toLowerCase();
  const out: DecisionView[] = [];
  for (let i = recent.length - 1; i >= 0; i--) {
    const d = recent[i];
    if (filter.deniedOnly && d.allowed) continue;
    if (needle && ![d.source, d.destination, d.path, d.reason].some((f) => f.toLowerCase().includes(needle))) continue;
    out.push(d);
  }
  return out;
}

/** The access matrix as a grid: sources as rows, destinations as columns, in the matrix's agent order. */
export function matrixGrid(matrix: NonNullable<RunReport['matrix']>): { rows: string[]; columns: string[]; cell(source: string, destination: string): MatrixCell | undefined } {
  const order = (names: Set<string>) => [...matrix.agents.filter((a) => names.has(a)), ...[...names].filter((n) => !matrix.agents.includes(n)).sort()];
  const cells = new Map(matrix.cells.map((c) => [`${c.source}\u0000${c.destination}`, c]));
  return {
    rows: order(new Set(matrix.cells.map((c) => c.source))),
    columns: order(new Set(matrix.cells.map((c) => c.destination))),
    cell: (source, destination) => cells.get(`${source}\u0000${destination}`),
  };
}

/** A hash as people compare it: its first 12 characters. */
export function shortHash(hash: string | undefined): string {
  if (!hash) return '—';
  const bare = hash.includes(':') ? hash.slice(hash.indexOf(':') + 1) : hash;
  return bare.length > 12 ? `${bare.slice(0, 12)}…` : bare;
}

/** HH:MM:SS (UTC) of an ISO time; the text itself when it is not a date. */
export function clockTime(iso: string | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(11, 19);
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function formatSeconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '—';
  return s >= 100 ? `${Math.round(s)} s` : `${s.toFixed(1)} s`;
}

/** Bytes in binary units (B, KiB, MiB, GiB), as the volume sizes are read. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatRate(chunksPerSecond: number): string {
  return `${chunksPerSecond >= 10 ? chunksPerSecond.toFixed(0) : chunksPerSecond.toFixed(2)} chunks/s`;
}

/** The progress timeline as uPlot's aligned data: seconds, then chunks done per step (one series per step). */
export function timelineData(points: readonly TimelinePoint[], steps: readonly string[]): { x: number[]; series: Array<{ step: string; values: Array<number | null> }> } {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  return {
    x: sorted.map((p) => p.t),
    series: steps.map((step) => ({ step, values: sorted.map((p) => (step in p.done ? p.done[step] : null)) })),
  };
}

/** The steps a timeline has values for: the graph's order first, then any other the points name. */
export function timelineSteps(points: readonly TimelinePoint[], graphSteps: readonly string[]): string[] {
  const named = new Set<string>();
  for (const p of points) for (const s of Object.keys(p.done)) named.add(s);
  return [...graphSteps.filter((s) => named.has(s)), ...[...named].filter((s) => !graphSteps.includes(s)).sort()];
}

/** Per agent: wall seconds (first job start to last job end) and busy seconds, in the graph's agent order. */
export function agentTimes(result: RunReport['result'], agentOrder: readonly string[]): { agents: string[]; wall: number[]; busy: number[] } {
  const names = new Set([...Object.keys(result.steps), ...Object.keys(result.busySeconds)]);
  const agents = [...agentOrder.filter((a) => names.has(a)), ...[...names].filter((n) => !agentOrder.includes(n)).sort()];
  return { agents, wall: agents.map((a) => result.steps[a] ?? 0), busy: agents.map((a) => result.busySeconds[a] ?? 0) };
}

/** Processes by start-up time, slowest first. */
export function startupBars(startupMs: Record<string, number>): Array<{ name: string; ms: number }> {
  return Object.entries(startupMs)
    .filter(([, ms]) => Number.isFinite(ms))
    .map(([name, ms]) => ({ name, ms }))
    .sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name));
}

/** True when the report is the page's main view (report mode); live, it follows the live views once it exists. */
export function reportIsMain(state: DashboardState): boolean {
  return state.mode === 'report';
}

/** WCAG 2 contrast ratio of two #rrggbb colours. */
export function contrastRatio(a: string, b: string): number {
  const lum = (hex: string) => {
    const m = /^#([0-9a-f]{6})$/i.exec(hex.trim());
    if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
    const [r, g, bl] = [0, 2, 4].map((i) => {
      const c = parseInt(m[1].slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
