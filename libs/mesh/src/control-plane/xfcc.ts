// The caller's identity as the control plane's own sidecar saw it: Envoy's x-forwarded-client-cert
// header (XFCC). Format (Envoy HTTP connection manager docs, "x-forwarded-client-cert"): elements
// separated by ',', one per proxy hop; in each, `Key=Value` pairs separated by ';' (By, Hash, Cert,
// Chain, Subject, URI, DNS); a value holding ',' ';' or '=' is double-quoted, with '"' escaped as \".
// With SANITIZE_SET (our Compose Envoy) the header holds exactly the element of the verified client
// certificate; with APPEND_FORWARD (Istio's inbound default) the sidecar appends that element after
// whatever the client sent. Either way the LAST element is the one the sidecar wrote.

export const XFCC_HEADER = 'x-forwarded-client-cert';

/** The elements of an XFCC value, each as key (lower case) -> values; throws on a malformed value. */
export function parseXfcc(value: string): Array<Map<string, string[]>> {
  const elements: Array<Map<string, string[]>> = [];
  let element = new Map<string, string[]>();
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`malformed ${XFCC_HEADER}: ${why}`);
  };
  while (i <= value.length) {
    // key
    const eq = value.indexOf('=', i);
    if (eq < 0) fail('a pair without "="');
    const key = value.slice(i, eq).trim().toLowerCase();
    if (!/^[a-z]+$/.test(key)) fail(`bad key ${JSON.stringify(key)}`);
    i = eq + 1;
    // value: quoted or bare
    let v = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) fail('unterminated quoted value');
        const c = value[i];
        if (c === '\\' && value[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          v += c;
          i++;
        }
      }
    } else {
      const end = value.slice(i).search(/[;,]/);
      v = end < 0 ? value.slice(i) : value.slice(i, i + end);
      if (v.includes('"')) fail('a quote inside a bare value');
      i += v.length;
    }
    element.set(key, [...(element.get(key) ?? []), v.trim()]);
    if (i >= value.length) break;
    const sep = value[i];
    if (sep === ',') {
      elements.push(element);
      element = new Map();
    } else if (sep !== ';') {
      fail(`unexpected ${JSON.stringify(sep)} after a value`);
    }
    i++;
  }
  elements.push(element);
  return elements;
}

/**
 * The SPIFFE id of the immediate client: the single URI= of the last element. Throws if the header
 * is malformed, or that element names no URI or more than one (which identity would it be?).
 */
export function xfccSpiffeId(value: string): string {
  const last = parseXfcc(value).at(-1)!;
  const uris = last.get('uri') ?? [];
  if (uris.length !== 1 || !uris[0]) throw new Error(`${XFCC_HEADER} must name exactly one URI for the client, found ${uris.length}`);
  return uris[0];
}
