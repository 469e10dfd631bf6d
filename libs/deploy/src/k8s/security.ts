// Hardened defaults shared by every container and pod we generate.

export function containerSecurity(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function podSecurity(fsGroup: number) {
  return {
    runAsNonRoot: true,
    fsGroup,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function labelsOf(name: string, component: string) {
  return { app: name, 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'reelmesh', 'app.kubernetes.io/component': component };
}
