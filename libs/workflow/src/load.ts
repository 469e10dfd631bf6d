// Reading the workflow: YAML text -> syntax check -> schema -> semantic checks -> frozen Workflow.
// The YAML node tree is kept alongside the data so every issue can name its line and column.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { WorkflowError } from './errors';
import { locateIssues } from './locate';
import { checkSemantics } from './validate';
import { checkStructure } from './structure';
import { formatPath } from './path';
import type { Workflow, WorkflowIssue } from './types';

import { REPO_ROOT } from './repo-root';

/** policies/workflow.yaml at the repo root. */
export const DEFAULT_WORKFLOW_PATH = resolve(REPO_ROOT, 'policies/workflow.yaml');

/** A workflow is a page of YAML; anything far bigger is a mistake or an attack on the parser. */
export const MAX_WORKFLOW_BYTES = 1024 * 1024;

/** Parses and validates workflow YAML; throws WorkflowError listing every issue. */
export function parseWorkflow(text: string, file = '<inline>'): Workflow {
  if (Buffer.byteLength(text, 'utf8') > MAX_WORKFLOW_BYTES) {
    throw new WorkflowError(file, [{ path: '', message: `file is larger than ${MAX_WORKFLOW_BYTES} bytes` }]);
  }
  const lines = new LineCounter();
  // core schema: no timestamps or custom types; duplicate keys are errors.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, schema: 'core', strict: true, uniqueKeys: true });
  const syntax = [...doc.errors, ...doc.warnings].map((error) => yamlIssue(error, lines));
  if (syntax.length > 0) throw new WorkflowError(file, syntax);
  if (doc.contents === null) {
    throw new WorkflowError(file, [{ path: '', line: 1, column: 1, message: 'file is empty (expected a workflow mapping)' }]);
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new WorkflowError(file, [{ path: '', message: `cannot read YAML: ${(error as Error).message}` }]);
  }
  const structural = checkStructure(value);
  if (structural.length > 0) throw new WorkflowError(file, locateIssues(doc, lines, structural));
  const semantic = checkSemantics(value as Workflow);
  if (semantic.length > 0) throw new WorkflowError(file, locateIssues(doc, lines, semantic));
  return deepFreeze(value as Workflow);
}

/** Reads and validates a workflow file (default: the repo's policies/workflow.yaml). */
export function loadWorkflow(path: string = DEFAULT_WORKFLOW_PATH): Workflow {
  const shown = displayPath(path);
  let text: string;
  try {
    if (statSync(path).size > MAX_WORKFLOW_BYTES) {
      throw new Error(`file is larger than ${MAX_WORKFLOW_BYTES} bytes`);
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new WorkflowError(shown, [{ path: '', message: `cannot read workflow file: ${(error as Error).message}` }]);
  }
  return parseWorkflow(text, shown);
}

/** Validates an already-parsed value (e.g. from JSON); issues carry paths but no line numbers. */
export function validateWorkflow(value: unknown, file = '<object>'): Workflow {
  const structural = checkStructure(value);
  const issues = structural.length > 0 ? structural : checkSemantics(value as Workflow);
  if (issues.length > 0) {
    throw new WorkflowError(file, issues.map((issue): WorkflowIssue => ({ path: formatPath(issue.at), message: issue.message })));
  }
  return deepFreeze(structuredClone(value) as Workflow);
}

function yamlIssue(error: YAMLError, lines: LineCounter): WorkflowIssue {
  const { line, col } = lines.linePos(error.pos[0]);
  return { path: '', line, column: col, message: `invalid YAML: ${error.message}` };
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(path);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
