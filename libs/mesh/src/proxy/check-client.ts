import { connect, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder } from '@reelmesh/policy';
import { parseListenAddress } from '@reelmesh/http-kit';
import type { OpaInput } from './opa-input';
import { decisionOf, unavailable, type PolicyClient, type PolicyDecision } from './policy-client';

export interface CheckClientOptions {
  /** The policy sidecar's check socket: unix:/abs/path.sock, or a loopback host:port. */
  address: string;
  timeoutMs?: number;
}

/** Checks waiting for an answer at once; past this a check fails closed at once (a stuck sidecar). */
const MAX_IN_FLIGHT = 1024;

/**
 * Asks a policy sidecar on its check socket (@reelmesh/policy check-protocol.ts): one persistent
 * connection, checks pipelined on it and matched to answers by id. Every failure is a closed
 * decision: no answer in time, a refusal, a connection that drops (every check on it), a sidecar
 * that is not there. A dropped connection is opened again by the next check.
 */
export function createCheckClient(opts: CheckClientOptions): PolicyClient {
  const at = parseListenAddress(opts.address);
  const timeoutMs = opts.timeoutMs ?? 250;
  let connection: Connection | undefined;
  let inFlight = 0;
  let nextId = 0;
  let closed = false;

  /** One connection and the checks waiting on it: a connection that drops fails only its own. */
  interface Connection {
    socket: Socket;
    waiting: Map<number, (d: PolicyDecision) => void>;
  }

  function open(): Connection {
    const socket = 'path' in at ? connect(at.path) : connect(at.port, at.host);
    const c: Connection = { socket, waiting: new Map() };
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        let message: { id?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
        try {
          message = JSON.parse(frame.toString('utf8'));
        } catch {
          return drop(c, 'policy sidecar sent a frame that is not JSON');
        }
        if (typeof message?.id !== 'number') {
          // An id-less refusal is about the connection: the sidecar closes it.
          return drop(c, `policy sidecar refused the connection: ${String(message?.error?.message ?? 'no id in its answer')}`);
        }
        const settle = c.waiting.get(message.id);
        // A check that timed out is no longer waiting: its late answer is ignored.
        if (!settle) continue;
        settle(message.error ? unavailable(`policy sidecar refused the check: ${String(message.error.code)}: ${String(message.error.message)}`) : decisionOf(message.result));
      }
      if (decoder.error) drop(c, `policy sidecar sent a bad frame: ${decoder.error.message}`);
    });
    socket.on('error', (error) => drop(c, `policy sidecar unreachable: ${error.message}`));
    socket.on('close', () => drop(c, 'policy sidecar closed the connection'));
    return c;
  }

  /** Every check still waiting on this connection fails closed; the next check connects again. */
  function drop(c: Connection, reason: string): void {
    if (connection === c) connection = undefined;
    c.socket.destroy();
    for (const settle of [...c.waiting.values()]) settle(unavailable(reason));
  }

  function check(input: OpaInput): Promise<PolicyDecision> {
    if (closed) return Promise.resolve(unavailable('policy client closed'));
    if (inFlight >= MAX_IN_FLIGHT) return Promise.resolve(unavailable(`${MAX_IN_FLIGHT} policy checks already waiting for the sidecar`));
    const c = (connection ??= open());
    return new Promise((resolve) => {
      const id = nextId;
      nextId = nextId >= Number.MAX_SAFE_INTEGER ? 0 : nextId + 1;
      const timer = setTimeout(() => finish(unavailable(`policy sidecar did not answer within ${timeoutMs} ms`)), timeoutMs);
      const finish = (d: PolicyDecision) => {
        if (!c.waiting.delete(id)) return;
        inFlight--;
        clearTimeout(timer);
        resolve(d);
      };
      c.waiting.set(id, finish);
      inFlight++;
      c.socket.write(encodeFrame({ id, input }));
    });
  }

  return {
    check,
    close() {
      closed = true;
      if (connection) drop(connection, 'policy client closed');
    },
  };
}
