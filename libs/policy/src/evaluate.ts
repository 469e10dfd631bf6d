// The TypeScript twin of policies/reelmesh/authz/authz.rego: same checks, same order, same
// reasons. Each check is a constant number of Map lookups, so a decision costs the same with
// 8 rules or 10,008. Keep the two files in step; the shared decision vectors prove they are, and
// conformance.spec.ts checks the engine against answers recorded from a real OPA.
//
// No input and input null are not "input_missing": OPA treats a request with no input, or with
// input null, as having no input document at all, so the first check that fails is the source
// principal ("source_principal_missing"). Only an input that is given but is no object (a list,
// a string, a number, a boolean) is "input_missing".
import { splitHandoffPath } from '@reelmesh/addressing';
import { compilePolicy, type CompiledPolicy } from './compile';
import type { Decision, DecisionReason, PolicyData } from './types';

/** Only POST carries a chunk handoff; everything else is denied. */
export const HANDOFF_METHOD = 'POST';

/** Decides one request. `data` is the policy data document (compiled once, then cached) or a compiled policy. */
export function evaluate(input: unknown, data: PolicyData | CompiledPolicy): Decision {
  const reason = decide(input, compilePolicy(data));
  return { allowed: reason === 'allowed', reason };
}

function decide(input: unknown, policy: CompiledPolicy): DecisionReason {
  // undefined or null: no input document (see above), so the source principal check fails next.
  if (input !== undefined && input !== null && !isObject(input)) return 'input_missing';
  const attributes = field(input, 'attributes');
  const source = principalOf(field(attributes, 'source'));
  if (source === undefined) return 'source_principal_missing';
  const destination = principalOf(field(attributes, 'destination'));
  if (destination === undefined) return 'destination_principal_missing';
  if (!policy.principals.has(source)) return 'source_unknown';
  if (!policy.principals.has(destination)) return 'destination_unknown';

  const edge = policy.edges.get(destination)?.get(source);
  if (edge === undefined) return 'edge_forbidden';

  const http = field(field(attributes, 'request'), 'http');
  if (field(http, 'method') !== HANDOFF_METHOD) return 'method_not_allowed';

  // The RAW path, split but never decoded or normalised, so "..", "%2F" or "//" cannot turn into a
  // path that matches. Only the shape and chunk index are checked there; the names are checked
  // here, by lookup, so an unknown one gets its own reason (as in the Rego).
  const handoff = splitHandoffPath(field(http, 'path'));
  if (handoff === undefined) return 'path_not_handoff';
  if (handoff.workflowId !== policy.workflowId) return 'workflow_unknown';
  if (edge.get(handoff.step)?.has(handoff.artifact) !== true) return 'handoff_not_allowed';
  return 'allowed';
}

function principalOf(peer: unknown): string | undefined {
  const principal = field(peer, 'principal');
  return typeof principal === 'string' && principal !== '' ? principal : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Like a Rego ref step: undefined unless `value` is an object that owns `key`. */
function field(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}
