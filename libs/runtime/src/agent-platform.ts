// What the local runtime gives one agent, as an AgentPlatform for agentEnvironment (the one
// environment builder of every target). Kept apart from the process wiring so the deployment
// parity test can set it beside what Compose and Kubernetes give the same agent.
import type { AgentPlatform } from '@reelmesh/agent-kit';
import type { MeshPod } from './mesh';

export interface LocalAgentPlatformInput {
  workflowPath: string;
  dataDir: string;
  /** Where the app listens (its pod's Unix socket or loopback port). */
  listen: string;
  /** In the mesh: the pod (outbound listener, pod token, identity). Without: every app's URL. */
  pod?: Pick<MeshPod, 'outboundUrl' | 'podToken' | 'identity'>;
  peers: Record<string, string>;
  ingestDir: string;
  exportDir: string;
  kms?: AgentPlatform['kms'];
  concurrency?: number;
  logLevel?: string;
}

export function localAgentPlatform(input: LocalAgentPlatformInput): AgentPlatform {
  const { pod } = input;
  return {
    workflowPath: input.workflowPath,
    dataDir: input.dataDir,
    listen: input.listen,
    next: pod ? { outboundProxy: pod.outboundUrl } : { peers: input.peers },
    podToken: pod?.podToken,
    ownerDirs: { ingest: input.ingestDir, export: input.exportDir },
    kms: input.kms,
    // The app's own workload identity (its SVID from the control plane) signs provenance; the
    // control plane also hosts the owner's audit ledger the app reports to.
    identity: pod?.identity,
    concurrency: input.concurrency,
    logLevel: input.logLevel ?? 'info',
  };
}
