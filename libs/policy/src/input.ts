// Builds the `input` document exactly as opa-envoy-plugin hands it to Rego, so the local proxy,
// the decision vectors and a real Envoy + OPA pod all feed the policy the same shape.
import type { PolicyInput } from './types';

export interface RequestFacts {
  /** SPIFFE id from the caller's verified client certificate. */
  sourcePrincipal: string;
  /** SPIFFE id of the pod receiving the call. */
  destinationPrincipal: string;
  method: string;
  /** The raw request target (":path"), query string included. */
  path: string;
  host?: string;
  /** Lower-case header names, as Envoy reports them. Never put secrets here: inputs are logged in summary only, but still. */
  headers?: Record<string, string>;
}

export function buildPolicyInput(facts: RequestFacts): PolicyInput {
  const input: PolicyInput = {
    attributes: {
      source: { principal: facts.sourcePrincipal },
      destination: { principal: facts.destinationPrincipal },
      request: {
        http: {
          method: facts.method,
          path: facts.path,
          ...(facts.host === undefined ? {} : { host: facts.host }),
          headers: facts.headers ?? {},
        },
      },
    },
  };
  const parsed = parsePathAndQuery(facts.path);
  if (parsed) {
    input.parsed_path = parsed.path;
    input.parsed_query = parsed.query;
  }
  return input;
}

/**
 * opa-envoy-plugin's parsed_path / parsed_query: the DECODED path without leading slashes, split on
 * "/", and the query as name -> values. A path that does not decode gets neither (the plugin fails
 * to parse it too). Decoding is why the policy itself matches the raw path instead.
 */
export function parsePathAndQuery(target: string): { path: string[]; query: Record<string, string[]> } | undefined {
  const withoutFragment = target.split('#')[0];
  const mark = withoutFragment.indexOf('?');
  const rawPath = mark === -1 ? withoutFragment : withoutFragment.slice(0, mark);
  const rawQuery = mark === -1 ? '' : withoutFragment.slice(mark + 1);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  const query: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    (query[name] ??= []).push(value);
  }
  return { path: decoded.replace(/^\/+/, '').split('/'), query };
}
