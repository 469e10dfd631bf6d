// Shapes shared by the engine, the generator and the sidecar server.

/**
 * The data document the Rego reads as `data.reelmesh` (policies/reelmesh/data.json).
 * Nested maps, not lists, so every lookup is a key access: edges[destination][source][step][artifact].
 */
export interface PolicyData {
  /** Marker for humans; ignored by the policy. */
  readonly _generated?: string;
  readonly workflow: { readonly id: string; readonly trustDomain: string };
  /** Every principal the workflow knows: SPIFFE id -> agent name. */
  readonly principals: Readonly<Record<string, string>>;
  /** destination principal -> source principal -> destination step -> artifact -> true. */
  readonly edges: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, true>>>>>>>>;
}

/**
 * Why a request was allowed or denied, in the order the policy checks them.
 * The Rego in policies/reelmesh/authz/authz.rego returns exactly these strings.
 */
export const DECISION_REASONS = [
  'input_missing',
  'source_principal_missing',
  'destination_principal_missing',
  'source_unknown',
  'destination_unknown',
  'edge_forbidden',
  'method_not_allowed',
  'path_not_handoff',
  'workflow_unknown',
  'handoff_not_allowed',
  'allowed',
] as const;
export type DecisionReason = (typeof DECISION_REASONS)[number];

export interface Decision {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
}

/** The `input` document opa-envoy-plugin builds (only the fields ReelMesh uses are typed). */
export interface PolicyInput {
  attributes: {
    source: { principal: string };
    destination: { principal: string };
    request: {
      http: {
        method: string;
        path: string;
        host?: string;
        headers?: Record<string, string>;
      };
    };
  };
  parsed_path?: string[];
  parsed_query?: Record<string, string[]>;
}

/** One shared test case: both `opa test` and the TypeScript engine must produce `expected`. */
export interface DecisionVector {
  readonly name: string;
  /** Absent when the case is "no input at all". */
  readonly input?: unknown;
  readonly expected: Decision;
}
