import { describe, expect, it } from 'vitest';
import { fmt, renderMarkdown, renderTable } from './markdown';

describe('renderTable', () => {
  it('renders a GitHub table, escaping pipes and showing missing figures as -', () => {
    expect(renderTable({ columns: ['a', 'b'], rows: [['x|y', 1.23456], [null, undefined]] })).toBe('| a | b |\n|---|---|\n| x\\|y | 1.235 |\n| - | - |');
  });
});

describe('fmt', () => {
  it('keeps tiny p-values readable', () => {
    expect(fmt(0.00001234, 4)).toBe('1.23e-5');
    expect(fmt(Number.NaN)).toBe('-');
    expect(fmt(2, 1)).toBe('2.0');
  });
});

describe('renderMarkdown', () => {
  it('puts every target with its verdict and reference, then each section with its plots', () => {
    const md = renderMarkdown({
      title: 'Report',
      preamble: ['hello'],
      targets: [
        { name: 'overhead', target: '<= 5%', ours: '+1.0%', anchor: '+32.7%', source: 'paper', met: true },
        { name: 'ratio', target: '<= 1.05', ours: '1.2', met: false },
        { name: 'skipped', target: 'x', ours: '-', met: null },
      ],
      sections: [{ title: 'Start-up', paragraphs: ['text'], tables: [{ columns: ['c'], rows: [[1]] }], plots: ['startup.svg'] }],
    });
    expect(md).toContain('# Report');
    expect(md).toContain('| overhead | <= 5% | +1.0% | met | +32.7% | paper |');
    expect(md).toContain('| ratio | <= 1.05 | 1.2 | NOT met | - | - |');
    expect(md).toContain('| skipped | x | - | not measured | - | - |');
    expect(md.indexOf('## Targets')).toBeLessThan(md.indexOf('## Start-up'));
    expect(md).toContain('![startup.svg](startup.svg)');
  });
});
