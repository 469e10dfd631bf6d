// Where the generated policy artifacts live and how they are written. OPA loads a directory's
// JSON under the directory's path, so policies/reelmesh/data.json becomes data.reelmesh and
// policies/vectors/decisions.json becomes data.vectors (`opa test policies/`); README files are ignored.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '@reelmesh/storage';
import { loadWorkflow, REPO_ROOT, type Workflow } from '@reelmesh/workflow';

export { REPO_ROOT } from '@reelmesh/workflow';
import { compilePolicy } from './compile';
import { GENERATED_MARKER, generateDecisionVectors, generatePolicyData } from './generate';
import type { DecisionVector, PolicyData } from './types';

export const POLICY_DATA_FILE = 'policies/reelmesh/data.json';
export const DECISION_VECTORS_FILE = 'policies/vectors/decisions.json';
export const DECISION_VECTORS_README = 'policies/vectors/README.md';
export const WORKFLOW_FILE = 'policies/workflow.yaml';

/** The repository root, found from this file so it works from any cwd. */
export const DEFAULT_POLICY_DATA_PATH = join(REPO_ROOT, POLICY_DATA_FILE);
export const DEFAULT_DECISION_VECTORS_PATH = join(REPO_ROOT, DECISION_VECTORS_FILE);

export interface GeneratedFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly content: string;
}

/** A workflow's policy data document as written to policies/reelmesh/data.json (a sidecar's --data). */
export function policyDataJson(wf: Workflow): string {
  return stableJson(generatePolicyData(wf));
}

/** The exact bytes `reelmesh gen` writes, so a test can check the committed files are fresh. */
export function renderGeneratedPolicyFiles(wf: Workflow): GeneratedFile[] {
  return [
    { path: POLICY_DATA_FILE, content: policyDataJson(wf) },
    // An array (OPA loads it as data.vectors), so the generated marker lives in the README beside it.
    { path: DECISION_VECTORS_FILE, content: `${JSON.stringify(generateDecisionVectors(wf), null, 2)}\n` },
    { path: DECISION_VECTORS_README, content: vectorsReadme() },
  ];
}

/** Regenerates the policy artifacts from <repoRoot>/policies/workflow.yaml; returns the paths written. */
export function writeGeneratedPolicyFiles(repoRoot: string, wf: Workflow = loadWorkflow(join(repoRoot, WORKFLOW_FILE))): string[] {
  const files = renderGeneratedPolicyFiles(wf);
  for (const file of files) writeAtomically(join(repoRoot, file.path), file.content);
  return files.map((file) => file.path);
}

/** Reads and validates a policy data document (default: the committed one). */
export function loadPolicyData(path: string = DEFAULT_POLICY_DATA_PATH): PolicyData {
  const data = JSON.parse(readFileSync(path, 'utf8')) as PolicyData;
  compilePolicy(data); // throws PolicyDataError for a malformed document
  return data;
}

export function loadDecisionVectors(path: string = DEFAULT_DECISION_VECTORS_PATH): DecisionVector[] {
  const vectors: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(vectors)) throw new Error(`${path}: decision vectors must be a JSON array`);
  return vectors as DecisionVector[];
}

/** JSON with object keys sorted (code-unit order, so "_generated" comes first) and a final newline. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/** A reader (or OPA) never sees half a generated file: @reelmesh/storage's one atomic writer. */
export function writeAtomically(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomicSync(path, content, { mode: 0o644 });
}

function vectorsReadme(): string {
  return `# Decision vectors

${GENERATED_MARKER}

\`decisions.json\` is a JSON array of \`{ name, input?, expected: { allowed, reason } }\`: every
allowed edge of the workflow, every forbidden pair of agents, wrong methods, malformed paths,
unknown and missing principals, and missing input (a vector without \`input\`).

Both sides read the same file:

- \`opa test policies/\` loads it as \`data.vectors\` and
  \`policies/reelmesh/authz/authz_test.rego\` checks every vector against the Rego;
- \`libs/policy\`'s Vitest suite checks every vector against the TypeScript engine.

Regenerate with \`reelmesh gen\` after editing \`policies/workflow.yaml\`.
`;
}
