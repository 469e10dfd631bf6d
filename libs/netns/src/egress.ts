import { shIn } from './exec';
import type { PodIdentities } from './identity';

export const EGRESS_CHAIN = 'RM-EGRESS';

/**
 * The pod's egress lock (iptables-restore, applied atomically): anyone may use lo; only the
 * sidecar uid may leave through eth0, and only towards the mesh subnet; everything else is
 * logged (LOG, visible when the host enables net.netfilter.nf_log_all_netns) and rejected
 * (admin-prohibited: the caller fails at once with EHOSTUNREACH instead of hanging), with
 * per-uid counters that `egressDenials` reads back.
 */
export function egressRules(subnet: string, ids: PodIdentities): string {
  return [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    `:${EGRESS_CHAIN} - [0:0]`,
    `-A OUTPUT -j ${EGRESS_CHAIN}`,
    `-A ${EGRESS_CHAIN} -o lo -j ACCEPT`,
    `-A ${EGRESS_CHAIN} -o eth0 -d ${subnet} -m owner --uid-owner ${ids.sidecar.uid} --gid-owner ${ids.sidecar.gid} -j ACCEPT`,
    `-A ${EGRESS_CHAIN} -m owner --uid-owner ${ids.app.uid} -j LOG --log-prefix "rm-egress-deny app "`,
    `-A ${EGRESS_CHAIN} -m owner --uid-owner ${ids.app.uid} -m comment --comment app-denied -j REJECT --reject-with icmp-admin-prohibited`,
    `-A ${EGRESS_CHAIN} -j LOG --log-prefix "rm-egress-deny other "`,
    `-A ${EGRESS_CHAIN} -m comment --comment other-denied -j REJECT --reject-with icmp-admin-prohibited`,
    'COMMIT',
    '',
  ].join('\n');
}

export async function applyEgressRules(ns: string, subnet: string, ids: PodIdentities): Promise<void> {
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'iptables-restore'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`iptables-restore in ${ns} failed: ${stderr.trim()}`))));
    child.stdin.end(egressRules(subnet, ids));
  });
}

/**
 * One narrow hole for the app uid: a TCP port on one address of the platform namespace (the KMS,
 * for sealed storage; the control plane, for the app's own SVID and its audit events).
 */
export async function allowAppEgress(ns: string, ids: PodIdentities, address: string, port: number): Promise<void> {
  await shIn(ns, 'iptables', [
    '-I', EGRESS_CHAIN, '2', '-o', 'eth0', '-d', `${address}/32`, '-p', 'tcp', '--dport', String(port),
    '-m', 'owner', '--uid-owner', String(ids.app.uid), '-m', 'comment', '--comment', `app-platform-${port}`, '-j', 'ACCEPT',
  ]);
}

export interface EgressDenials {
  /** Packets the app uid tried to send anywhere but lo (and its KMS hole). */
  app: number;
  /** Packets of any other uid (root, a stray process) dropped. */
  other: number;
}

/** The drop counters of a pod's egress chain: the log of what was blocked. */
export async function egressDenials(ns: string): Promise<EgressDenials> {
  const out = await shIn(ns, 'iptables', ['-L', EGRESS_CHAIN, '-v', '-x', '-n']);
  const count = (comment: string) => {
    const line = out.split('\n').find((l) => l.includes(`/* ${comment} */`) && /\bREJECT\b/.test(l));
    return line ? Number(line.trim().split(/\s+/)[0]) : 0;
  };
  return { app: count('app-denied'), other: count('other-denied') };
}
