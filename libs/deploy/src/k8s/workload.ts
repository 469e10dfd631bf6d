// The shape every stateful workload of the mesh shares (the agents, the owner's control plane): a
// ServiceAccount named like it (its Istio principal), a Service with one HTTP port, a volume claim
// that outlives its pods, and a one-replica Deployment behind a native istio-proxy sidecar.
import { APP_UID, TERMINATION_GRACE_SECONDS } from '../settings';
import { labelsOf, podSecurity } from './security';

export interface MeshWorkload {
  name: string;
  component: string;
  /** The one port: the `http-` name tells Istio the protocol (paths in AuthorizationPolicy, x-forwarded-client-cert). */
  port: { name: string; port: number };
  claim: { name: string; storage: string };
  /** Containers, init containers and volumes. */
  pod: object;
}

export function meshWorkloadManifests(workload: MeshWorkload): object[] {
  const labels = labelsOf(workload.name, workload.component);
  const metadata = { name: workload.name, labels };
  const { name, port } = workload;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata, automountServiceAccountToken: false },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata,
      spec: { selector: { app: name }, ports: [{ name: port.name, port: port.port, targetPort: port.name, protocol: 'TCP', appProtocol: 'http' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: workload.claim.name, labels },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: workload.claim.storage } } },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: {
        replicas: 1,
        // One writer per volume claim: never two pods on the same claim.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { app: name } },
        template: {
          metadata: {
            labels: { ...labels, 'sidecar.istio.io/inject': 'true' },
            annotations: {
              // The workload's first call must not race the Envoy sidecar.
              'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}',
              // istio-proxy as a Kubernetes native sidecar (an init container that keeps running):
              // it is stopped only after the main container has exited, so a draining app can still
              // hand its last outputs on and report them (a regular istio-proxy quits 5 s after SIGTERM).
              'sidecar.istio.io/nativeSidecar': 'true',
            },
          },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            // fsGroup: the claim is group-writable whatever uid the containers run as.
            securityContext: podSecurity(APP_UID),
            ...workload.pod,
          },
        },
      },
    },
  ];
}
