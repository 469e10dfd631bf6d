import { chmod, chown, mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  assertIsolationSupport,
  createPodNetwork,
  hostForward,
  runDir,
  type HostForward,
  type PodNetwork,
} from '@reelmesh/netns';
import { PORT_FORWARDER } from '@reelmesh/app-port-forwarder';
import type { MeshSandbox } from './mesh';
import type { ProcessGroup } from './process-group';

export type Isolation = 'none' | 'netns';

export interface PodSandbox extends MeshSandbox {
  network: PodNetwork;
  /** Give a folder to a role (chown -R is not needed: it is new or the role's own). */
  giveDir(path: string, role: 'sidecar' | 'app'): Promise<void>;
  /** Let non-root pod processes reach a path the caller made (mkdtemp folders are 0700). */
  grantTraverse(path: string): Promise<void>;
}

/**
 * Isolated pods for the local runtime: one namespace per agent, the platform's own, and the
 * glue the runtime needs — spawn prefixes, file ownership for non-root pods, host port-forwards.
 * Torn down when the process group stops (normal exit, Ctrl-C) or by the next run's cleanup.
 */
export async function startSandbox(opts: { group: ProcessGroup; pods: string[]; logDir: string }): Promise<PodSandbox> {
  assertIsolationSupport();
  const network = await createPodNetwork({ pods: opts.pods });
  const forwards: HostForward[] = [];
  opts.group.onStopped(async () => {
    await Promise.all(forwards.map((f) => f.close()));
    await network.destroy();
  });
  const ids = network.identities;
  const idsOf = (role: 'sidecar' | 'app') => ids[role];
  const endpoint = (pod: string) => (pod === 'platform' ? network.platform : network.pods[pod]);

  const grantTraverse = async (path: string) => {
    for (let dir = path; ; dir = dirname(dir)) {
      const info = await stat(dir).catch(() => undefined);
      if (info?.isDirectory() && (info.mode & 0o001) === 0) await chmod(dir, (info.mode & 0o7777) | 0o001);
      if (dir === dirname(dir)) break;
    }
  };

  return {
    network,
    platformAddress: network.platform.address,
    command: (pod, role) => network.command(pod, role),
    podAddress: (pod) => endpoint(pod).address,
    async handOver(path, role) {
      await grantTraverse(dirname(path));
      await (await open(path, 'a', 0o600)).close();
      await chown(path, idsOf(role).uid, idsOf(role).gid);
    },
    async giveDir(path, role) {
      await mkdir(path, { recursive: true });
      await grantTraverse(dirname(path));
      await chown(path, idsOf(role).uid, idsOf(role).gid);
      await chmod(path, 0o700);
    },
    grantTraverse,
    async forward(pod, targets) {
      const dir = join(runDir(network.runId), pod);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const sockets = targets.map((target) => join(dir, `${String(target).replace(/[^\w.-]/g, '_')}.sock`));
      await opts.group.spawn({
        name: `${pod}/forward`,
        entry: PORT_FORWARDER.main,
        args: targets.flatMap((target, i) => ['--map', `${sockets[i]}=${target}`]),
        env: {},
        logFile: join(opts.logDir, `${pod}.forward.log`),
        wrap: network.command(pod, 'root'),
      });
      const made = await Promise.all(sockets.map((s) => hostForward(s)));
      forwards.push(...made);
      return made.map((f) => f.url);
    },
    allowAppEgress: (address, port) => network.allowAppEgress(address, port),
  };
}
