// One path semantics for every target: Istio's meshConfig pathNormalization DECODE_AND_MERGE_SLASHES
// (https://istio.io/latest/docs/reference/config/security/normalization/), which Envoy implements
// with HttpConnectionManager `path_with_escaped_slashes_action: UNESCAPE_AND_FORWARD` (%2F %5C
// decoded), `normalize_path: true` (RFC 3986 normalisation, backslash -> slash) and
// `merge_slashes: true`, in that order. The local proxy applies this before the policy sees the
// path and forwards the result to the app, as Envoy does; the policy then judges the canonical path.

/** The error code of a request whose target cannot be normalised (answered 400). */
export const PATH_NOT_NORMALIZABLE = 'PATH_NOT_NORMALIZABLE';

export type RequestPathResult =
  | {
      readonly ok: true;
      /** The normalised request target: `path` followed by `query`, what the policy sees and the app gets. */
      readonly target: string;
      /** The normalised path, no query. */
      readonly path: string;
      /** The query string as received, with its leading '?' ('' when there was none). Never normalised. */
      readonly query: string;
    }
  | { readonly ok: false; readonly code: typeof PATH_NOT_NORMALIZABLE; readonly reason: string };

/** RFC 3986 unreserved characters: percent-decoding these never changes what the path means. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** Characters a path may carry raw: unreserved, sub-delims, ':' '@', '/', '%' (escapes) and '\' (made '/'). */
const PATH_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%\\]$/;
/** A query may carry any visible ASCII but '#' (it is never normalised, only checked). */
const QUERY_CHAR = /^[\x21-\x22\x24-\x7e]$/;

const refuse = (reason: string): RequestPathResult => ({ ok: false, code: PATH_NOT_NORMALIZABLE, reason });

/**
 * Normalises an origin-form request target (`/path?query`):
 * 1. refused: not starting with '/', a '#' (Envoy rejects fragments), %00 (Istio: always 400), a
 *    '%' not followed by two hex digits, or a character RFC 3986 does not allow raw in a path
 *    (space, controls, non-ASCII, '"', '<', ...; Envoy would percent-encode those instead, which no
 *    policy path matches either);
 * 2. %2F %5C (any case) and percent-encoded unreserved characters decoded, once (no double decoding:
 *    %252e stays %252e); other escapes kept as sent;
 * 3. backslash -> slash, dot segments removed (RFC 3986 5.2.4; `..` above the root stays at the root);
 * 4. runs of slashes merged.
 * The query string is kept apart and appended unchanged.
 */
export function normalizeRequestPath(raw: string): RequestPathResult {
  if (typeof raw !== 'string' || raw[0] !== '/') return refuse('the request target must be origin-form (start with "/")');
  if (raw.includes('#')) return refuse('a fragment ("#") is not part of a request target');
  const mark = raw.indexOf('?');
  const rawPath = mark === -1 ? raw : raw.slice(0, mark);
  const query = mark === -1 ? '' : raw.slice(mark);
  for (const ch of query.slice(1)) if (!QUERY_CHAR.test(ch)) return refuse(`character ${JSON.stringify(ch)} is not allowed in a query`);

  // Steps 1 and 2: one pass over the escapes.
  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const ch = rawPath[i];
    if (!PATH_CHAR.test(ch)) return refuse(`character ${JSON.stringify(ch)} is not allowed raw in a path`);
    if (ch !== '%') {
      decoded += ch;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return refuse('a "%" not followed by two hex digits');
    const byte = parseInt(hex, 16);
    if (byte === 0) return refuse('%00 (NUL) in the path');
    const char = String.fromCharCode(byte);
    decoded += char === '/' || char === '\\' || UNRESERVED.test(char) ? char : `%${hex}`;
    i += 2;
  }

  // Step 3: backslashes are slashes, then RFC 3986 remove_dot_segments.
  const segments = decoded.replace(/\\/g, '/').split('/').slice(1);
  const out: string[] = [];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      // A trailing dot segment leaves the path ending in '/' ("/a/b/.." -> "/a/").
      if (last) out.push('');
      return;
    }
    out.push(segment);
  });
  // Step 4: merge slashes.
  const path = `/${out.join('/')}`.replace(/\/{2,}/g, '/');
  return { ok: true, target: path + query, path, query };
}
