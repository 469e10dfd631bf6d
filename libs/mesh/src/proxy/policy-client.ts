import http from 'node:http';
import { POLICY_NOT_LOADED } from '@reelmesh/policy';
import { connectOptions, connectTarget } from '@reelmesh/http-kit';
import type { OpaInput } from './opa-input';

export interface PolicyDecision {
  allowed: boolean;
  reason: string;
  /** True when no valid decision was obtained (down, error, slow, malformed): fail closed. */
  unavailable: boolean;
}

export interface PolicyClientOptions {
  /** The policy sidecar: http://127.0.0.1:8181, or unix:<path> inside the pod. */
  url: string;
  /** OPA data path of the decision document. */
  decisionPath?: string;
  timeoutMs?: number;
}

export interface PolicyClient {
  check(input: OpaInput): Promise<PolicyDecision>;
  close(): void;
}

const MAX_RESPONSE_BYTES = 64 * 1024;
/** Checks in flight at once per proxy (one per inbound request waiting for its decision). */
const MAX_CONNECTIONS = 64;

/** Asks an OPA-REST-shaped policy sidecar; every failure mode becomes a closed decision. */
export function createPolicyClient(opts: PolicyClientOptions): PolicyClient {
  const target = connectTarget(opts.url);
  if ('tls' in target && target.tls) throw new Error(`policy URL must be plain http:// on the pod or unix:, got ${opts.url}`);
  const where = connectOptions(opts.url);
  const path = `${target.basePath}/v1/data/${opts.decisionPath ?? 'reelmesh/authz/decision'}`;
  const timeoutMs = opts.timeoutMs ?? 250;
  // One persistent connection per check in flight, reused check after check (lifo: the warmest
  // first); a burst beyond the cap waits for a free one instead of opening ever more.
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', maxSockets: MAX_CONNECTIONS, maxFreeSockets: MAX_CONNECTIONS });

  function check(input: OpaInput): Promise<PolicyDecision> {
    const payload = JSON.stringify({ input });
    return new Promise((resolve) => {
      let settled = false;
      const finish = (d: PolicyDecision) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(d);
      };
      const req = http.request(
        {
          ...where,
          path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            return finish(unavailable(`policy sidecar answered HTTP ${res.statusCode}`));
          }
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
            if (body.length > MAX_RESPONSE_BYTES) {
              req.destroy();
              finish(unavailable('policy response too large'));
            }
          });
          res.on('end', () => finish(parseDecision(body)));
          res.on('error', () => finish(unavailable('policy response aborted')));
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        finish(unavailable(`policy sidecar did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (err) => finish(unavailable(`policy sidecar unreachable: ${err.message}`)));
      req.end(payload);
    });
  }

  return { check, close: () => agent.destroy() };
}

function parseDecision(body: string): PolicyDecision {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return unavailable('policy response is not JSON');
  }
  return decisionOf((doc as { result?: unknown } | null)?.result);
}

/**
 * What an answer's `result` (OPA's reelmesh/authz/decision document) means for the proxy, whatever
 * carried it (the REST API or the check socket).
 */
export function decisionOf(value: unknown): PolicyDecision {
  const result = value as { allowed?: unknown; reason?: unknown } | undefined;
  // Only a literal boolean counts; an undefined document (OPA's {} for a missing rule) is closed.
  if (!result || typeof result !== 'object' || typeof result.allowed !== 'boolean') {
    return unavailable('policy response has no boolean result.allowed');
  }
  const reason = typeof result.reason === 'string' ? result.reason : result.allowed ? 'allowed' : 'denied by policy';
  // A policy sidecar that holds no policy yet (just started or restarted, the owner's push on its
  // way) denies everything: still closed, but transient (503), so the sender retries.
  return { allowed: result.allowed, reason, unavailable: !result.allowed && reason === POLICY_NOT_LOADED };
}

export function unavailable(reason: string): PolicyDecision {
  return { allowed: false, reason, unavailable: true };
}
