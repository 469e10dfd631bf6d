// The `input` document opa-envoy-plugin hands to Rego, built from what the inbound proxy knows.
// One builder for the whole repo lives in @reelmesh/policy (the decision vectors use it too);
// the proxy adds what Envoy also reports: the protocol and the HTTP/2-style pseudo-headers.
import { buildPolicyInput, type PolicyInput } from '@reelmesh/policy';

export type OpaInput = PolicyInput & {
  attributes: { request: { http: { host: string; protocol: string; headers: Record<string, string> } } };
  parsed_path: string[];
  parsed_query: Record<string, string[]>;
};

export interface InputParts {
  source: string;
  destination: string;
  method: string;
  /** Path including the query string, as Envoy reports it. */
  url: string;
  httpVersion: string;
  headers: Record<string, string>;
}

export function buildOpaInput(p: InputParts): OpaInput {
  const host = p.headers.host ?? '';
  const input = buildPolicyInput({
    sourcePrincipal: p.source,
    destinationPrincipal: p.destination,
    method: p.method,
    path: p.url,
    host,
    headers: { ':authority': host, ':method': p.method, ':path': p.url, ...p.headers },
  }) as OpaInput;
  input.attributes.request.http.protocol = `HTTP/${p.httpVersion}`;
  // A path that does not decode has no parsed form; the policy matches the raw path anyway.
  input.parsed_path ??= [];
  input.parsed_query ??= {};
  return input;
}
