import type { WorkflowIssue } from './types';

/** Thrown for any invalid workflow: carries every issue found, not just the first. */
export class WorkflowError extends Error {
  readonly code = 'WORKFLOW_INVALID' as const;
  readonly issues: readonly WorkflowIssue[];
  readonly file: string;

  constructor(file: string, issues: readonly WorkflowIssue[]) {
    super(issues.map((issue) => formatIssue(file, issue)).join('\n'));
    this.name = 'WorkflowError';
    this.file = file;
    this.issues = issues;
  }
}

/** 'policies/workflow.yaml:57:27 edges[3].to: unknown step "grde"' — the shape editors can jump to. */
export function formatIssue(file: string, issue: WorkflowIssue): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}
