// The `input` document opa-envoy-plugin hands to Rego, built from what the inbound proxy knows.
// Keep this shape in sync with docs/mesh.md: the policy sidecar and real OPA read the same fields.

export interface OpaInput {
  attributes: {
    source: { principal: string };
    destination: { principal: string };
    request: {
      http: {
        method: string;
        path: string;
        host: string;
        protocol: string;
        headers: Record<string, string>;
      };
    };
  };
  parsed_path: string[];
  parsed_query: Record<string, string[]>;
}

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
  const q = p.url.indexOf('?');
  const pathOnly = q === -1 ? p.url : p.url.slice(0, q);
  return {
    attributes: {
      source: { principal: p.source },
      destination: { principal: p.destination },
      request: {
        http: {
          method: p.method,
          path: p.url,
          host: p.headers.host ?? '',
          protocol: `HTTP/${p.httpVersion}`,
          // Envoy lists the HTTP/2-style pseudo-headers too; keep the document identical.
          headers: { ':authority': p.headers.host ?? '', ':method': p.method, ':path': p.url, ...p.headers },
        },
      },
    },
    parsed_path: parsePath(pathOnly),
    parsed_query: q === -1 ? {} : parseQuery(p.url.slice(q + 1)),
  };
}

/** Like opa-envoy-plugin: leading slashes trimmed, split on "/", each segment URL-decoded. */
export function parsePath(path: string): string[] {
  return path
    .replace(/^\/+/, '')
    .split('/')
    .map((s) => safeDecode(s));
}

export function parseQuery(query: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) (out[k] ??= []).push(v);
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed escapes stay literal; the policy sees exactly what was sent
  }
}
