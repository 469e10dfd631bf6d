// Line edits of policies/workflow.yaml that keep every comment, blank line and layout: the YAML
// parser only finds where the items are; the text is changed a whole line at a time, each entry
// written as the one-line flow mapping the file uses. Removing undoes adding line for line.
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';

/** The comment the generator writes above a `jobs:` section it creates (and removes with it). */
export const JOBS_COMMENT = '# Filter jobs: work that is one ffmpeg filter chain, run by agent-kit itself (docs/contractors.md).';

export type Fields = Record<string, string | boolean>;

export interface Item {
  /** 0-based first and last line of the entry. */
  readonly start: number;
  readonly end: number;
  readonly value: Record<string, unknown>;
}

export interface Section {
  /** 0-based line of the `name:` key. */
  readonly keyLine: number;
  readonly items: readonly Item[];
}

/** Where the top-level list `name` and its entries are in `text` (undefined: no such key). */
export function sectionOf(text: string, name: string): Section | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: false });
  if (!isMap(doc.contents)) return undefined;
  const pair = doc.contents.items.find((candidate) => (candidate.key as { value?: unknown } | null)?.value === name);
  if (!pair) return undefined;
  const line = (offset: number) => lines.linePos(offset).line - 1;
  const keyNode = pair.key as YamlNode;
  const keyLine = line(keyNode.range![0]);
  if (!isSeq(pair.value)) return { keyLine, items: [] };
  const items = pair.value.items.map((node) => {
    const range = (node as YamlNode).range!;
    return { start: line(range[0]), end: line(Math.max(range[0], range[1] - 1)), value: (node as YamlNode).toJSON() as Record<string, unknown> };
  });
  return { keyLine, items };
}

/** `{ name: x, agent: y }`: a one-line flow mapping, each value plain unless YAML would read it as something else. */
export function flowEntry(fields: Fields): string {
  return `{ ${Object.entries(fields)
    .map(([key, value]) => `${key}: ${scalar(value)}`)
    .join(', ')} }`;
}

function scalar(value: string | boolean): string {
  if (typeof value === 'boolean') return String(value);
  // Plain is safe for names (a letter, then letters, digits, '-') that the core schema reads as strings.
  if (/^[a-z][a-z0-9-]*$/.test(value) && !/^(true|false|null)$/.test(value)) return value;
  if (/^[A-Za-z][A-Za-z0-9 .()-]*$/.test(value) && !/^(true|false|null|True|False|Null|TRUE|FALSE|NULL)$/.test(value)) return value;
  return JSON.stringify(value);
}

/** The "  - " that starts an entry's first line, and the indentation of its next lines. */
function entryPrefix(lines: readonly string[], item: Item | undefined, fallbackIndent = '  '): { first: string; rest: string } {
  const match = item ? /^(\s*-\s+)/.exec(lines[item.start]) : null;
  const first = match ? match[1] : `${fallbackIndent}- `;
  return { first, rest: ' '.repeat(first.length) };
}

function splice(text: string, start: number, deleteCount: number, inserted: readonly string[]): string {
  const lines = text.split('\n');
  lines.splice(start, deleteCount, ...inserted);
  return lines.join('\n');
}

function required(text: string, name: string): Section {
  const section = sectionOf(text, name);
  if (!section) throw new Error(`the workflow has no \`${name}:\` section`);
  return section;
}

/** Lines of a new entry written like `like` (flow or block mapping). */
function entryLines(lines: readonly string[], like: Item | undefined, fields: Fields): string[] {
  const prefix = entryPrefix(lines, like);
  const blockStyle = like !== undefined && !lines[like.start].slice(prefix.first.length).startsWith('{');
  if (!blockStyle) return [`${prefix.first}${flowEntry(fields)}`];
  return Object.entries(fields).map(([key, value], index) => `${index === 0 ? prefix.first : prefix.rest}${key}: ${scalar(value)}`);
}

/** Appends an entry to the top-level list `section`. */
export function appendEntry(text: string, section: string, fields: Fields): string {
  const { keyLine, items } = required(text, section);
  const lines = text.split('\n');
  const last = items.at(-1);
  return splice(text, last ? last.end + 1 : keyLine + 1, 0, entryLines(lines, last, fields));
}

/** Inserts an entry right after the entry of `section` whose `name` is `after`. */
export function insertEntryAfter(text: string, section: string, after: string, fields: Fields): string {
  const { items } = required(text, section);
  const item = items.find((candidate) => candidate.value.name === after);
  if (!item) throw new Error(`no ${section} entry named ${after}`);
  return splice(text, item.end + 1, 0, entryLines(text.split('\n'), item, fields));
}

/** Replaces the entry `match` picks with entries written the same way (none: the entry is deleted). */
export function replaceEntry(text: string, section: string, match: (value: Record<string, unknown>) => boolean, replacements: readonly Fields[]): string {
  const { items } = required(text, section);
  const item = items.find((candidate) => match(candidate.value));
  if (!item) throw new Error(`no matching ${section} entry`);
  const lines = text.split('\n');
  return splice(
    text,
    item.start,
    item.end - item.start + 1,
    replacements.flatMap((fields) => entryLines(lines, item, fields)),
  );
}

/**
 * Adds a filter job. Without a `jobs:` section, one is created right before the `edges:` key and
 * the comment block above it: JOBS_COMMENT, `jobs:`, the entry (and a blank line when the file
 * separates its sections with blank lines).
 */
export function addFilterJob(text: string, fields: Fields): string {
  if (sectionOf(text, 'jobs')) return appendEntry(text, 'jobs', fields);
  const edges = required(text, 'edges');
  const lines = text.split('\n');
  let at = edges.keyLine;
  while (at > 0 && lines[at - 1].startsWith('#')) at--;
  const spaced = at > 0 && lines[at - 1].trim() === '';
  const prefix = entryPrefix(lines, edges.items[0]);
  return splice(text, at, 0, [JOBS_COMMENT, 'jobs:', `${prefix.first}${flowEntry(fields)}`, ...(spaced ? [''] : [])]);
}

/** Removes the filter job `name`, and the `jobs:` section (with the generator's comment and spacing) when it was the last. */
export function removeFilterJob(text: string, name: string): string {
  const jobs = required(text, 'jobs');
  const item = jobs.items.find((candidate) => candidate.value.name === name);
  if (!item) throw new Error(`no filter job named ${name}`);
  if (jobs.items.length > 1) return splice(text, item.start, item.end - item.start + 1, []);
  const lines = text.split('\n');
  let start = jobs.keyLine;
  let end = item.end;
  if (start > 0 && lines[start - 1] === JOBS_COMMENT) start--;
  if (start > 0 && lines[start - 1].trim() === '' && end + 1 < lines.length && lines[end + 1].trim() === '') end++;
  return splice(text, start, end - start + 1, []);
}
