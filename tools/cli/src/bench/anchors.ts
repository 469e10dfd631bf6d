// Reference figures put beside ours in the bench report. They live in ONE place, the table
// "Reference figures the bench reads" of docs/benchmarks.md, next to the public source of each:
// this module only reads that table, so the doc and the report cannot disagree. It is read when
// the bench is loaded, so a broken table stops `reelmesh bench` before any suite runs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Anchor {
  figure: string;
  source: string;
}

export const BENCHMARKS_DOC = fileURLToPath(new URL('../../../../docs/benchmarks.md', import.meta.url));

/** The measures report.ts compares against a reference figure (the `key` column of the table). */
const KEYS = ['startup', 'policyMedian', 'policyGrowth', 'requestMedians', 'pairP99', 'opaDecision', 'tlsThroughput', 'rawAes', 'awsSdk', 'security', 'ffmpeg'] as const;
export type AnchorKey = (typeof KEYS)[number];

/** Rows `| \`key\` | measure | figure | source |` of the markdown; every key exactly once. */
export function parseAnchors(markdown: string, where = 'docs/benchmarks.md'): Record<AnchorKey, Anchor> {
  const found = new Map<string, Anchor>();
  for (const line of markdown.split('\n')) {
    const cells = line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
    const key = /^`(\w+)`$/.exec(cells[0] ?? '')?.[1];
    if (!key || cells.length !== 4) continue;
    if (!(KEYS as readonly string[]).includes(key)) throw new Error(`${where}: unknown reference figure \`${key}\` (the bench reads ${KEYS.join(', ')})`);
    if (found.has(key)) throw new Error(`${where}: reference figure \`${key}\` is listed twice`);
    if (!cells[2] || !cells[3]) throw new Error(`${where}: reference figure \`${key}\` needs a figure and a source`);
    found.set(key, { figure: cells[2], source: cells[3] });
  }
  const missing = KEYS.filter((k) => !found.has(k));
  if (missing.length > 0) throw new Error(`${where}: no reference figure for ${missing.map((k) => `\`${k}\``).join(', ')}`);
  return Object.fromEntries(found) as Record<AnchorKey, Anchor>;
}

export const ANCHORS = parseAnchors(readFileSync(BENCHMARKS_DOC, 'utf8'));

/** What the report says about the reference column (for its preamble). */
export const REFERENCE_NOTE =
  'Reference figures and their public sources are in docs/benchmarks.md; they were measured on other machines, so compare overheads and ratios, not absolute times.';
