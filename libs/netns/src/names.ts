import { randomBytes } from 'node:crypto';

/** Every object a run creates is named rm-<run id>-..., so leftovers are recognisable. */
export const NAME_PREFIX = 'rm-';
export const RUN_NAME = /^rm-([0-9a-f]{4})-/;

export function newRunId(): string {
  return randomBytes(2).toString('hex');
}

export interface RunNames {
  runId: string;
  bridge: string;
  /** Namespace of a pod (or 'cp' for the control plane + KMS). */
  namespace(pod: string): string;
  /** Host side of the i-th veth (interface names are at most 15 characters). */
  hostVeth(index: number): string;
  /** Pod side before it is moved into the namespace and renamed eth0. */
  peerVeth(index: number): string;
}

export function runNames(runId: string): RunNames {
  const p = `${NAME_PREFIX}${runId}-`;
  return {
    runId,
    bridge: `${p}br`,
    namespace: (pod) => `${p}${pod}`,
    hostVeth: (i) => `${p}v${i}`,
    peerVeth: (i) => `${p}p${i}`,
  };
}
