// The markdown report: a targets table (met / not met, the anchors beside ours) then one section
// per suite with its tables and plots.

export type Cell = string | number | null | undefined;

export interface Table {
  columns: string[];
  rows: Cell[][];
}

export interface TargetCheck {
  /** What is measured, e.g. "policy sidecar start-up overhead". */
  name: string;
  /** The target, e.g. "<= 5%". */
  target: string;
  ours: string;
  /** The reference figure to put beside ours, and where it comes from. */
  anchor?: string;
  source?: string;
  /** null: not measured in this run (suite skipped). */
  met: boolean | null;
}

export interface ReportSection {
  title: string;
  paragraphs?: string[];
  tables?: Table[];
  /** SVG file names (relative to the report) to embed. */
  plots?: string[];
}

export interface MarkdownReport {
  title: string;
  preamble: string[];
  targets: TargetCheck[];
  sections: ReportSection[];
}

/** Fixed decimals for tables; '-' for a missing figure. */
export function fmt(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 10 ** -digits) return value.toExponential(2);
  return value.toFixed(digits);
}

function cell(value: Cell): string {
  if (value === null || value === undefined) return '-';
  return (typeof value === 'number' ? (Number.isInteger(value) ? String(value) : fmt(value)) : value).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderTable(table: Table): string {
  const head = `| ${table.columns.map(cell).join(' | ')} |`;
  const rule = `|${table.columns.map(() => '---').join('|')}|`;
  return [head, rule, ...table.rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');
}

function verdict(met: boolean | null): string {
  return met === null ? 'not measured' : met ? 'met' : 'NOT met';
}

export function renderMarkdown(report: MarkdownReport): string {
  const out: string[] = [`# ${report.title}`, '', ...report.preamble.flatMap((p) => [p, '']), '## Targets', ''];
  out.push(
    renderTable({
      columns: ['measure', 'target', 'ours', 'verdict', 'reference', 'source'],
      rows: report.targets.map((t) => [t.name, t.target, t.ours, verdict(t.met), t.anchor, t.source]),
    }),
    '',
  );
  for (const section of report.sections) {
    out.push(`## ${section.title}`, '');
    for (const p of section.paragraphs ?? []) out.push(p, '');
    for (const table of section.tables ?? []) out.push(renderTable(table), '');
    for (const plot of section.plots ?? []) out.push(`![${plot}](${plot})`, '');
  }
  return out.join('\n');
}
