// Distribution plots (the paper's Figures 3 and 4): one box per group with every observation as a
// jittered point over it, compiled from Vega-Lite and rendered headless by Vega's SVG renderer.
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface DistributionPlot {
  title: string;
  /** Axis label of the measured value, with its unit. */
  valueLabel: string;
  groupLabel: string;
  /** Group name -> observations; groups are drawn in this order. */
  groups: Record<string, readonly number[]>;
  /** Log scale for values spanning orders of magnitude. */
  logScale?: boolean;
}

export function distributionSpec(plot: DistributionPlot): TopLevelSpec {
  const order = Object.keys(plot.groups);
  if (order.length === 0) throw new RangeError(`plot "${plot.title}" has no groups`);
  const values = order.flatMap((group) => plot.groups[group].map((value, i) => ({ group, value, jitter: ((i * 0.618034) % 1) - 0.5 })));
  const x = { field: 'group', type: 'nominal' as const, sort: order, title: plot.groupLabel, axis: { labelAngle: -20 } };
  const y = { field: 'value', type: 'quantitative' as const, title: plot.valueLabel, scale: plot.logScale ? { type: 'log' as const } : { zero: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: plot.title,
    width: Math.max(240, 90 * order.length),
    height: 320,
    data: { values },
    layer: [
      { mark: { type: 'point', opacity: 0.25, size: 8, filled: true }, encoding: { x, xOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [-1.6, 1.6] } }, y, color: { value: '#888' } } },
      { mark: { type: 'boxplot', extent: 1.5, opacity: 0.7, size: 28, median: { color: 'black' } }, encoding: { x, y, color: { field: 'group', type: 'nominal', sort: order, legend: null } } },
    ],
  };
}

/** Renders a distribution plot to a standalone SVG document. */
export async function renderDistributionSvg(plot: DistributionPlot): Promise<string> {
  const { spec } = compile(distributionSpec(plot));
  const view = new View(parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
