import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { KmsError } from './errors';

/** What the verifier needs from an HTTP request: the raw target, raw headers and raw body. */
export interface SignedRequest {
  method: string;
  /** Request target as received (path plus optional query), e.g. `/` or `/a?b=c`. */
  url: string;
  /** Flat [name, value, name, value, ...] as node's `IncomingMessage.rawHeaders`. */
  rawHeaders: string[];
  body: Buffer;
}

export interface VerifyOptions {
  service: string;
  /** When set, the credential scope must name this region; otherwise any region is accepted. */
  region?: string;
  /** Looks up the secret for an access key id; undefined = unknown key. */
  secretFor(accessKeyId: string): string | undefined;
  /** Headers that must be covered by the signature besides host and x-amz-date. */
  requiredSignedHeaders?: string[];
  nowMs?: number;
  maxSkewMs?: number;
}

export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const FIVE_MINUTES = 5 * 60 * 1000;

/**
 * Verifies an AWS Signature Version 4 `Authorization` header by recomputing the canonical request
 * from what actually arrived. Throws a KmsError naming the reason; returns the caller on success.
 */
export function verifySigV4(req: SignedRequest, options: VerifyOptions): VerifiedCaller {
  const headers = collectHeaders(req.rawHeaders);
  const authorization = headers.get('authorization');
  if (!authorization) {
    throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const auth = parseAuthorization(authorization);
  const [accessKeyId, scopeDate, region, service, terminator] = auth.credential.split('/');
  if (!accessKeyId || !scopeDate || !region || !service || !terminator || auth.credential.split('/').length !== 5) {
    throw new KmsError('IncompleteSignatureException', 'Credential must be AKID/date/region/service/aws4_request');
  }

  const secret = options.secretFor(accessKeyId);
  if (secret === undefined) {
    throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }

  const amzDate = headers.get('x-amz-date');
  if (!amzDate) throw new KmsError('IncompleteSignatureException', 'X-Amz-Date header is required');
  const signedAt = parseAmzDate(amzDate);
  const now = options.nowMs ?? Date.now();
  if (Math.abs(now - signedAt) > (options.maxSkewMs ?? FIVE_MINUTES)) {
    throw new KmsError('InvalidSignatureException', `Signature expired: ${amzDate} is outside the allowed clock skew`);
  }
  if (scopeDate !== amzDate.slice(0, 8) || service !== options.service || terminator !== 'aws4_request') {
    throw new KmsError('InvalidSignatureException', 'Credential scope does not match the request');
  }
  if (options.region !== undefined && region !== options.region) {
    throw new KmsError('InvalidSignatureException', `Credential should be scoped to region ${options.region}`);
  }

  // The signature must cover the headers that give the request its meaning.
  for (const name of ['host', 'x-amz-date', ...(options.requiredSignedHeaders ?? [])]) {
    if (!auth.signedHeaders.includes(name)) {
      throw new KmsError('InvalidSignatureException', `Header ${name} must be signed`);
    }
  }

  const payloadHash = sha256Hex(req.body);
  const declaredHash = headers.get('x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== payloadHash) {
    throw new KmsError('InvalidSignatureException', 'x-amz-content-sha256 does not match the body');
  }

  const canonical = canonicalRequest(req, headers, auth.signedHeaders, payloadHash);
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  const expected = hmac(signingKey(secret, scopeDate, region, service), stringToSign).toString('hex');
  if (!constantTimeEqualHex(expected, auth.signature)) {
    throw new KmsError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
  return { accessKeyId, region };
}

interface ParsedAuthorization {
  credential: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(value: string): ParsedAuthorization {
  if (!value.startsWith(`${ALGORITHM} `)) {
    throw new KmsError('IncompleteSignatureException', `Authorization must use ${ALGORITHM}`);
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature || !/^[0-9a-f]{64}$/.test(signature)) {
    throw new KmsError('IncompleteSignatureException', 'Authorization needs Credential, SignedHeaders and Signature');
  }
  const names = signedHeaders.split(';');
  const sorted = [...names].sort();
  if (names.some((n, i) => n === '' || n !== n.toLowerCase() || n !== sorted[i] || names.indexOf(n) !== i)) {
    throw new KmsError('IncompleteSignatureException', 'SignedHeaders must be lowercase, sorted and unique');
  }
  return { credential, signedHeaders: names, signature };
}

/** Lowercased header names; repeated headers joined with commas, as SigV4 specifies. */
function collectHeaders(rawHeaders: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1].trim().replace(/\s+/g, ' ');
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous},${value}`);
  }
  return headers;
}

function canonicalRequest(
  req: SignedRequest,
  headers: Map<string, string>,
  signedHeaders: string[],
  payloadHash: string,
): string {
  const queryAt = req.url.indexOf('?');
  const path = queryAt === -1 ? req.url : req.url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : req.url.slice(queryAt + 1);
  const canonicalHeaders = signedHeaders.map((name) => {
    const value = headers.get(name);
    if (value === undefined) throw new KmsError('InvalidSignatureException', `Signed header ${name} is missing`);
    return `${name}:${value}\n`;
  });
  return [
    req.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    canonicalHeaders.join(''),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

/** Normalised, then URI-encoded per segment (non-S3 services encode the path as sent once more). */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  const normalised = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${trailing}`;
  return uriEscape(normalised).replace(/%2F/g, '/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const key = safeDecode(eq === -1 ? p : p.slice(0, eq));
      const value = eq === -1 ? '' : safeDecode(p.slice(eq + 1));
      return [uriEscape(key), uriEscape(value)] as const;
    })
    .filter(([key]) => key.toLowerCase() !== 'x-amz-signature');
  pairs.sort(([ak, av], [bk, bv]) => (ak === bk ? compare(av, bv) : compare(ak, bk)));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new KmsError('InvalidSignatureException', 'Malformed query string');
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded. */
function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) throw new KmsError('IncompleteSignatureException', 'X-Amz-Date must be YYYYMMDDTHHMMSSZ');
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function constantTimeEqualHex(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
