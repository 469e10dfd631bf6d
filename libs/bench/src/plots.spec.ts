import { describe, expect, it } from 'vitest';
import { distributionSpec, renderDistributionSvg } from './plots';

describe('distribution plots', () => {
  const groups = { with: [10, 11, 12, 13], without: [9, 10, 10.5] };

  it('draws one point per observation over one box per group, in the given order', async () => {
    const svg = await renderDistributionSvg({ title: 'Start-up', valueLabel: 'ms', groupLabel: 'group', groups });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    // 7 observations -> 7 symbol paths in the point layer
    const points = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/)?.[1] ?? '';
    expect(points.match(/<path /g)).toHaveLength(7);
    expect(svg).toContain('Start-up');
    expect(svg.indexOf('>with<')).toBeLessThan(svg.indexOf('>without<'));
  });

  it('switches the value axis to a log scale on request', () => {
    const spec = JSON.stringify(distributionSpec({ title: 't', valueLabel: 'ms', groupLabel: 'g', groups, logScale: true }));
    expect(spec).toContain('"type":"log"');
  });

  it('refuses a plot with no groups', async () => {
    await expect(renderDistributionSvg({ title: 't', valueLabel: 'ms', groupLabel: 'g', groups: {} })).rejects.toThrow(/no groups/);
  });
});
