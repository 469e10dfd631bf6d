import { MARKER_PATTERN, MEDIA_MAGIC, type Attempt } from './attempts';
import { readPcap, TCP_SYN, type TcpPacket } from './pcap';
import { TlsDirection } from './tls';
import type { MatrixCall } from '../verify-matrix';

/** A pod as seen from inside its namespace. */
export interface CapturedPod {
  name: string;
  address: string;
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  policyPort?: number;
  /** pcap file per interface: eth0 (the veth) and lo. */
  files: { eth0: string; lo: string };
}

export type Role = 'source-lo' | 'destination-lo' | 'self-lo' | 'source-veth' | 'destination-veth' | 'self-veth' | 'bystander-lo' | 'bystander-veth';

export interface Verdict extends MatrixCall {
  attempt: number;
  interface: string;
  role: Role;
  verdict: 'pass' | 'fail';
  findings: string[];
}

interface WindowFacts {
  /** Server ports of the flows that carried this attempt's marker. */
  markerPorts: Set<number>;
  /** Mesh (inbound-port) flows with packets from source to destination in the window. */
  meshFlows: Set<string>;
  /** Packets between the source's and destination's addresses in the window. */
  pairPackets: number;
  mediaMagic: number;
}

interface FlowState {
  tls?: TlsDirection;
  carry: Buffer;
}

const CARRY = 64;

function roleOf(pod: string, iface: 'eth0' | 'lo', a: Attempt): Role {
  const kind = iface === 'lo' ? 'lo' : 'veth';
  if (a.source === a.destination) return pod === a.source ? `self-${kind}` : `bystander-${kind}`;
  if (pod === a.source) return `source-${kind}`;
  if (pod === a.destination) return `destination-${kind}`;
  return `bystander-${kind}`;
}

/** One pass over one interface's capture: what each attempt left on it, and each TLS flow's health. */
function scanInterface(file: string, pods: CapturedPod[], attempts: Attempt[], byMarker: Map<string, Attempt>) {
  const facts = new Map<number, WindowFacts>();
  const factsOf = (id: number) => {
    let f = facts.get(id);
    if (!f) facts.set(id, (f = { markerPorts: new Set(), meshFlows: new Set(), pairPackets: 0, mediaMagic: 0 }));
    return f;
  };
  const addr = new Map(pods.map((p) => [p.name, p.address]));
  const inbound = new Set(pods.map((p) => `${p.address}:${p.inboundPort}`));
  const flows = new Map<string, FlowState>();
  let cursor = 0;
  for (const pkt of readPcap(file)) {
    const key = `${pkt.src}:${pkt.sport}>${pkt.dst}:${pkt.dport}`;
    const mesh = inbound.has(`${pkt.dst}:${pkt.dport}`) ? 'client' : inbound.has(`${pkt.src}:${pkt.sport}`) ? 'server' : undefined;
    let flow = flows.get(key);
    if (!flow) flows.set(key, (flow = { carry: Buffer.alloc(0), tls: mesh ? new TlsDirection(mesh) : undefined }));
    flow.tls?.push(pkt.seq, (pkt.flags & TCP_SYN) !== 0, pkt.payload);
    // The attempt whose window holds this packet (attempts are sequential, packets in time order).
    while (cursor < attempts.length && attempts[cursor].endUs < pkt.tsUs) cursor++;
    const inWindow = cursor < attempts.length && attempts[cursor].startUs <= pkt.tsUs ? attempts[cursor] : undefined;
    if (inWindow) {
      const s = addr.get(inWindow.source)!;
      const d = addr.get(inWindow.destination)!;
      if ((pkt.src === s && pkt.dst === d) || (pkt.src === d && pkt.dst === s)) {
        factsOf(inWindow.id).pairPackets++;
        if (mesh) factsOf(inWindow.id).meshFlows.add(mesh === 'client' ? key : reverse(pkt));
      }
    }
    if (!pkt.payload.length) continue;
    const text = Buffer.concat([flow.carry, pkt.payload]);
    for (const m of text.toString('latin1').matchAll(MARKER_PATTERN)) {
      if (m.index! + m[0].length <= flow.carry.length) continue; // already counted
      const attempt = byMarker.get(m[0]);
      if (attempt) factsOf(attempt.id).markerPorts.add(mesh === 'server' ? pkt.sport : pkt.dport);
    }
    const magicAt = text.indexOf(MEDIA_MAGIC);
    if (magicAt >= 0 && magicAt + MEDIA_MAGIC.length > flow.carry.length && inWindow) factsOf(inWindow.id).mediaMagic++;
    flow.carry = text.subarray(Math.max(0, text.length - CARRY));
  }
  // A client flow is only as good as its server direction (which proves TLS 1.3 was chosen).
  const flowVerdict = (clientKey: string): string | undefined => {
    const serverKey = clientKey.replace(/^(.*)>(.*)$/, '$2>$1');
    const client = flows.get(clientKey)?.tls;
    const server = flows.get(serverKey)?.tls;
    if (client?.problem) return `client side: ${client.problem}`;
    if (server?.problem) return `server side: ${server.problem}`;
    if (server && server.records > 0 && server.tls13 !== true) return 'no TLS 1.3 ServerHello';
    return undefined;
  };
  return { facts, flowVerdict };
}

function reverse(p: TcpPacket): string {
  return `${p.dst}:${p.dport}>${p.src}:${p.sport}`;
}

/** Verdicts for every attempt on every pod's veth and loopback. */
export function classify(pods: CapturedPod[], attempts: Attempt[]): Verdict[] {
  const byMarker = new Map(attempts.map((a) => [a.marker, a]));
  const sorted = [...attempts].sort((a, b) => a.startUs - b.startUs);
  const podByName = new Map(pods.map((p) => [p.name, p]));
  const verdicts: Verdict[] = [];
  for (const pod of pods) {
    for (const iface of ['eth0', 'lo'] as const) {
      const { facts, flowVerdict } = scanInterface(pod.files[iface], pods, sorted, byMarker);
      for (const a of attempts) {
        const role = roleOf(pod.name, iface, a);
        const f = facts.get(a.id) ?? { markerPorts: new Set<number>(), meshFlows: new Set<string>(), pairPackets: 0, mediaMagic: 0 };
        const src = podByName.get(a.source)!;
        const dst = podByName.get(a.destination)!;
        const findings: string[] = [];
        // Where the plaintext request may legitimately appear: a pod's own loopback only.
        const allowedPorts = new Set<number>();
        if (iface === 'lo' && pod.name === a.source) allowedPorts.add(src.outboundPort);
        if (iface === 'lo' && pod.name === a.destination) {
          allowedPorts.add(dst.appPort);
          if (dst.policyPort) allowedPorts.add(dst.policyPort);
        }
        for (const port of f.markerPorts) if (!allowedPorts.has(port)) findings.push(`request marker visible in plaintext (flow to port ${port})`);
        if (iface === 'eth0' && f.mediaMagic) findings.push(`media magic bytes visible ${f.mediaMagic}x`);
        if (role === 'source-lo' || role === 'self-lo') {
          if (!f.markerPorts.has(src.outboundPort)) findings.push('the request never reached the source sidecar (capture missed it?)');
        }
        if (role === 'destination-lo' || role === 'self-lo') {
          const reachedApp = f.markerPorts.has(dst.appPort);
          if (reachedApp && a.expected === 'deny') findings.push('denied call reached the destination app');
          if (!reachedApp && a.expected === 'allow') findings.push('allowed call never reached the destination app');
        }
        if (role === 'source-veth' || role === 'destination-veth') {
          if (f.meshFlows.size === 0) findings.push('no mTLS traffic from source to destination seen');
          for (const flow of f.meshFlows) {
            const problem = flowVerdict(flow);
            if (problem) findings.push(`flow ${flow} is not TLS 1.3 only: ${problem}`);
          }
        }
        if (role.startsWith('bystander') || role === 'self-veth') {
          if (f.pairPackets) findings.push(`${f.pairPackets} packets of the exchange seen by a bystander`);
        }
        if (a.actual !== a.expected) findings.push(`decision ${a.actual}, expected ${a.expected}`);
        verdicts.push({
          attempt: a.id,
          source: a.source,
          destination: a.destination,
          method: a.method,
          path: a.path,
          expected: a.expected,
          actual: a.actual,
          interface: `${pod.name}/${iface}`,
          role,
          verdict: findings.length ? 'fail' : 'pass',
          findings,
        });
      }
    }
  }
  return verdicts.sort((x, y) => x.attempt - y.attempt || x.interface.localeCompare(y.interface));
}
