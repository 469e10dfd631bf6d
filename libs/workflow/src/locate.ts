// Maps a field path back to where it was written, using the YAML node ranges kept by the parser.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { formatPath, type RawIssue } from './path';
import type { WorkflowIssue } from './types';

/**
 * Adds line/column to each issue: the deepest node that exists on its path (the parent for a
 * missing field). Sorted by position so the report reads top to bottom like the file.
 */
export function locateIssues(doc: Document, lines: LineCounter, issues: readonly RawIssue[]): WorkflowIssue[] {
  const located = issues.map((issue): WorkflowIssue => {
    const offset = offsetOf(doc, issue);
    const path = formatPath(issue.at);
    if (offset === undefined) return { path, message: issue.message };
    const { line, col } = lines.linePos(offset);
    return { path, line, column: col, message: issue.message };
  });
  const MAX = Number.MAX_SAFE_INTEGER;
  return located.sort((a, b) => (a.line ?? MAX) - (b.line ?? MAX) || (a.column ?? 0) - (b.column ?? 0));
}

function offsetOf(doc: Document, issue: RawIssue): number | undefined {
  let node = resolve(doc, doc.contents);
  let offset = node?.range?.[0];
  for (const [i, segment] of issue.at.entries()) {
    let next: Node | null | undefined;
    if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment] as Node | undefined;
    } else if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair && issue.atKey && i === issue.at.length - 1 && isScalar(pair.key)) return pair.key.range?.[0] ?? offset;
      next = pair?.value as Node | null | undefined;
    }
    node = resolve(doc, next);
    if (!node?.range) break;
    offset = node.range[0];
  }
  return offset;
}

function resolve(doc: Document, node: unknown): Node | undefined {
  if (isAlias(node)) return node.resolve(doc) as Node | undefined;
  return (node ?? undefined) as Node | undefined;
}
