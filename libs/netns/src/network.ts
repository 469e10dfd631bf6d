import { existsSync } from 'node:fs';
import { sh, shIn } from './exec';
import { cleanupStale, destroyRun } from './cleanup';
import { allowAppEgress, applyEgressRules, egressDenials, type EgressDenials } from './egress';
import { DEFAULT_IDENTITIES, nsCommand, type PodIdentities, type PodRole } from './identity';
import { processStart, writeLedger, type Ledger } from './ledger';
import { newRunId, runNames, type RunNames } from './names';

export interface NetnsEndpoint {
  name: string;
  /** The network namespace (ip netns name). */
  ns: string;
  /** Its address on the bridge (inside the namespace, on eth0). */
  address: string;
  /** The host side of its veth, attached to the bridge. */
  hostVeth: string;
  /** The interface name inside the namespace. */
  iface: 'eth0';
}

export interface PodNetworkOptions {
  /** One namespace per pod (agent names). */
  pods: string[];
  /** First three octets of the private /24 used on this run's bridge only (default 10.213.0). */
  subnetPrefix?: string;
  identities?: PodIdentities;
  /** Remove leftovers of crashed runs first (default true). */
  cleanupFirst?: boolean;
}

export interface PodNetwork {
  runId: string;
  names: RunNames;
  /** e.g. 10.213.0.0/24 */
  subnet: string;
  bridge: string;
  identities: PodIdentities;
  pods: Record<string, NetnsEndpoint>;
  /** The control plane + KMS namespace. */
  platform: NetnsEndpoint;
  /** Another namespace on the bridge with no egress lock (tests: a listener outside the mesh). */
  addNamespace(name: string): Promise<NetnsEndpoint>;
  /** Command prefix running a program in a pod (or 'platform') namespace as a role. */
  command(pod: string, role: PodRole): string[];
  /** Let every pod's app uid reach address:port on the platform namespace (KMS, control plane); nothing else beyond lo. */
  allowAppEgress(address: string, port: number): Promise<void>;
  denials(pod: string): Promise<EgressDenials>;
  destroy(): Promise<void>;
}

const PLATFORM = 'cp';

/**
 * A bridge with no address on the host (nothing routes from it to anywhere), one namespace per
 * pod plus one for the platform, each with lo and a veth to the bridge. Every object is written
 * to the run's ledger before it is created, so `cleanupStale` can remove it after a crash.
 */
export async function createPodNetwork(opts: PodNetworkOptions): Promise<PodNetwork> {
  const ids = opts.identities ?? DEFAULT_IDENTITIES;
  const prefix = opts.subnetPrefix ?? '10.213.0';
  const subnet = `${prefix}.0/24`;
  if (opts.cleanupFirst !== false) await cleanupStale();
  const runId = newRunId();
  const names = runNames(runId);
  const ledger: Ledger = { runId, pid: process.pid, pidStart: processStart(process.pid) ?? '', namespaces: [], hostVeths: [] };
  let nextIndex = 0;
  let nextExtraHost = 200;

  const attach = async (name: string, host: number): Promise<NetnsEndpoint> => {
    const i = nextIndex++;
    const ns = names.namespace(name);
    const hostVeth = names.hostVeth(i);
    const address = `${prefix}.${host}`;
    ledger.namespaces.push(ns);
    ledger.hostVeths.push(hostVeth);
    writeLedger(ledger);
    await sh('ip', ['netns', 'add', ns]);
    await disableIpv6In(ns);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', names.peerVeth(i), 'netns', ns]);
    await disableIpv6On(hostVeth);
    await sh('ip', ['-n', ns, 'link', 'set', names.peerVeth(i), 'name', 'eth0']);
    await sh('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await sh('ip', ['link', 'set', hostVeth, 'master', names.bridge, 'up']);
    return { name, ns, address, hostVeth, iface: 'eth0' };
  };

  try {
    ledger.bridge = names.bridge;
    writeLedger(ledger);
    await sh('ip', ['link', 'add', names.bridge, 'type', 'bridge']);
    await disableIpv6On(names.bridge);
    await sh('ip', ['link', 'set', names.bridge, 'up']);
    const platform = await attach(PLATFORM, 2);
    const pods: Record<string, NetnsEndpoint> = {};
    for (const [i, pod] of opts.pods.entries()) {
      pods[pod] = await attach(pod, 10 + i);
      await applyEgressRules(pods[pod].ns, subnet, ids);
    }
    const byName = (pod: string) => (pod === 'platform' ? platform : pods[pod]);
    return {
      runId,
      names,
      subnet,
      bridge: names.bridge,
      identities: ids,
      pods,
      platform,
      addNamespace: (name) => attach(name, nextExtraHost++),
      command(pod, role) {
        const endpoint = byName(pod);
        if (!endpoint) throw new Error(`no namespace for pod ${pod}`);
        return nsCommand(endpoint.ns, role, ids);
      },
      async allowAppEgress(address, port) {
        for (const pod of Object.values(pods)) await allowAppEgress(pod.ns, ids, address, port);
      },
      denials: (pod) => egressDenials(byName(pod).ns),
      destroy: () => destroyRun(ledger),
    };
  } catch (error) {
    await destroyRun(ledger);
    throw error;
  }
}

/** No IPv6 anywhere: a link-local fe80:: address would be a path the IPv4 rules do not cover. */
async function disableIpv6In(ns: string): Promise<void> {
  if (!existsSync('/proc/sys/net/ipv6')) return;
  await shIn(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv6.conf.lo.disable_ipv6=1']);
}

async function disableIpv6On(link: string): Promise<void> {
  if (!existsSync('/proc/sys/net/ipv6')) return;
  await sh('sysctl', ['-q', '-w', `net.ipv6.conf.${link}.disable_ipv6=1`]);
}
