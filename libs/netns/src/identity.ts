// Who may use a pod's veth is decided by the owner of the socket (as Istio's init container does
// with uid 1337): sidecars run under one uid/gid, apps under another, neither root.
export interface PodIdentities {
  sidecar: { uid: number; gid: number };
  app: { uid: number; gid: number };
}

export const DEFAULT_IDENTITIES: PodIdentities = {
  sidecar: { uid: 1337, gid: 1337 },
  app: { uid: 1338, gid: 1338 },
};

export type PodRole = 'sidecar' | 'app' | 'root';

/**
 * The command prefix that runs a program inside namespace `ns` as `role`. setpriv drops every
 * capability with the uid change and sets no_new_privs, so the app cannot rewrite the rules.
 */
export function nsCommand(ns: string, role: PodRole, ids: PodIdentities = DEFAULT_IDENTITIES): string[] {
  const base = ['ip', 'netns', 'exec', ns];
  if (role === 'root') return base;
  const { uid, gid } = ids[role];
  return [...base, 'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--no-new-privs', '--'];
}
