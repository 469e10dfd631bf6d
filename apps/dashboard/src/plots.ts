/// <reference lib="dom" />
// The report's timings: the progress timeline and each agent's wall vs busy seconds with uPlot
// (canvas), the processes' start-up times as an SVG bar list (labelled text, readable without a chart).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RunReport, TimelinePoint } from '@reelmesh/dashboard/model';
import { agentTimes, formatMs, SERIES_COLOURS, startupBars, timelineData, timelineSteps } from './view';

const AXIS = '#c9d1d9';
const GRID = '#2b3440';

const axis = (label: string, extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({
  label,
  stroke: AXIS,
  grid: { stroke: GRID, width: 1 },
  ticks: { stroke: GRID, width: 1 },
  ...extra,
});

const widthOf = (el: HTMLElement) => Math.max(320, Math.floor(el.clientWidth || el.getBoundingClientRect().width || 600));

export class Plots {
  readonly #charts: uPlot[] = [];
  #observer?: ResizeObserver;

  constructor(
    private readonly timeline: HTMLElement,
    private readonly agents: HTMLElement,
    private readonly startup: HTMLElement,
  ) {}

  draw(report: RunReport, fallbackTimeline: readonly TimelinePoint[], graphSteps: readonly string[], graphAgents: readonly string[]): void {
    this.destroy();
    const points = report.timeline.length > 0 ? report.timeline : fallbackTimeline;
    const steps = timelineSteps(points, graphSteps);
    const data = timelineData(points, steps);
    this.timeline.replaceChildren();
    this.#charts.push(
      new uPlot(
        {
          width: widthOf(this.timeline),
          height: 240,
          scales: { x: { time: false } },
          axes: [axis('seconds since start'), axis('chunks done')],
          series: [{ label: 't (s)' }, ...steps.map((step, i) => ({ label: step, stroke: SERIES_COLOURS[i % SERIES_COLOURS.length], width: 2, spanGaps: true }))],
          legend: { live: true },
          cursor: { drag: { x: false, y: false } },
        },
        [data.x, ...data.series.map((s) => s.values)] as uPlot.AlignedData,
        this.timeline,
      ),
    );

    const times = agentTimes(report.result, graphAgents);
    const xs = times.agents.map((_, i) => i);
    const bars = uPlot.paths.bars;
    this.agents.replaceChildren();
    this.#charts.push(
      new uPlot(
        {
          width: widthOf(this.agents),
          height: 240,
          scales: { x: { time: false, range: () => [-0.6, Math.max(0, times.agents.length - 1) + 0.6] }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
          axes: [
            axis('agent', { splits: () => xs, values: (_u, splits) => splits.map((i) => times.agents[i] ?? '') }),
            axis('seconds'),
          ],
          series: [
            { label: 'agent', value: (_u, i) => (i === null ? '' : (times.agents[i] ?? '')) },
            { label: 'wall s', stroke: SERIES_COLOURS[0], fill: `${SERIES_COLOURS[0]}99`, width: 1, paths: bars?.({ size: [0.35, 48], align: -1 }), points: { show: false } },
            { label: 'busy s', stroke: SERIES_COLOURS[1], fill: `${SERIES_COLOURS[1]}99`, width: 1, paths: bars?.({ size: [0.35, 48], align: 1 }), points: { show: false } },
          ],
          cursor: { drag: { x: false, y: false } },
        },
        [xs, times.wall, times.busy],
        this.agents,
      ),
    );

    this.#drawStartup(report.startupMs);
    this.#observer = new ResizeObserver(() => {
      const [t, a] = this.#charts;
      t?.setSize({ width: widthOf(this.timeline), height: 240 });
      a?.setSize({ width: widthOf(this.agents), height: 240 });
    });
    this.#observer.observe(this.timeline.parentElement ?? this.timeline);
  }

  #drawStartup(startupMs: Record<string, number>): void {
    const rows = startupBars(startupMs);
    const NS = 'http://www.w3.org/2000/svg';
    const rowH = 24;
    const labelW = 170;
    const valueW = 80;
    const width = 560;
    const max = Math.max(1, ...rows.map((r) => r.ms));
    const root = document.createElementNS(NS, 'svg');
    const height = Math.max(rowH, rows.length * rowH) + 8;
    root.setAttribute('viewBox', `0 0 ${width} ${height}`);
    root.setAttribute('class', 'bars');
    root.setAttribute('role', 'img');
    root.setAttribute('aria-label', rows.length ? `Start-up times: ${rows.map((r) => `${r.name} ${formatMs(r.ms)}`).join(', ')}` : 'No start-up times recorded');
    const text = (x: number, y: number, s: string, cls: string, anchor = 'start') => {
      const t = document.createElementNS(NS, 'text');
      t.setAttribute('x', String(x));
      t.setAttribute('y', String(y));
      t.setAttribute('class', cls);
      t.setAttribute('text-anchor', anchor);
      t.textContent = s;
      return t;
    };
    if (rows.length === 0) root.append(text(0, 16, 'No start-up times recorded.', 'bar-label'));
    rows.forEach((r, i) => {
      const y = 4 + i * rowH;
      root.append(text(labelW - 8, y + 15, r.name.length > 24 ? `${r.name.slice(0, 23)}…` : r.name, 'bar-label', 'end'));
      const rect = document.createElementNS(NS, 'rect');
      rect.setAttribute('x', String(labelW));
      rect.setAttribute('y', String(y + 3));
      rect.setAttribute('height', String(rowH - 8));
      rect.setAttribute('width', String(Math.max(2, ((width - labelW - valueW) * r.ms) / max)));
      rect.setAttribute('rx', '3');
      rect.setAttribute('class', 'bar');
      root.append(rect);
      root.append(text(width - valueW + 6 - ((width - labelW - valueW) * (1 - r.ms / max)), y + 15, formatMs(r.ms), 'bar-value'));
    });
    this.startup.replaceChildren(root);
  }

  destroy(): void {
    this.#observer?.disconnect();
    for (const c of this.#charts.splice(0)) c.destroy();
  }
}
