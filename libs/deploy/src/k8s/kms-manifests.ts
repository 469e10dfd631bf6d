// The local KMS as an in-mesh Deployment (kind / single cluster). Agents reach it through their
// sidecars (mTLS) and still authenticate with SigV4 per agent; its key state is sealed on a volume.
import { LEDGER_AGENT } from '@reelmesh/provenance';
import { ownerOf, type Workflow } from '@reelmesh/workflow';
import { imageString, reelmeshImage } from '../images';
import { APP_UID, KMS_NAME, KMS_NAMESPACE, KMS_PORT, KMS_REGION, WORKFLOW_IN_IMAGE } from '../settings';
import { containerSecurity } from './security';
import { meshWorkloadManifests } from './workload';

/** Secret holding `principals.json` ({accessKeyId: {secretAccessKey, principal}}): made at deploy time. */
export const KMS_PRINCIPALS_SECRET = 'kms-local-principals';

/**
 * Pod Security Admission: enforce `baseline`, which our pods and the injected istio-proxy meet once
 * Istio's CNI plugin replaces the istio-init container (NET_ADMIN and NET_RAW are outside baseline;
 * the IstioOperator enables the CNI). `restricted` is warned and audited, not enforced: our own
 * containers meet it, the injected sidecars are not verified against it (docs/deploy.md).
 */
export const POD_SECURITY_ENFORCE = 'baseline';
export const POD_SECURITY_LABELS = {
  'pod-security.kubernetes.io/enforce': POD_SECURITY_ENFORCE,
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
};

export function kmsNamespace(): object {
  return namespace(KMS_NAMESPACE);
}

export function namespace(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'istio-injection': 'enabled', 'app.kubernetes.io/part-of': 'reelmesh', ...POD_SECURITY_LABELS } },
  };
}

export function kmsManifests(wf: Workflow): object[] {
  return meshWorkloadManifests({
    name: KMS_NAME,
    component: 'kms',
    port: { name: 'http-kms', port: KMS_PORT },
    // Its key state is sealed on it.
    claim: { name: `${KMS_NAME}-state`, storage: '1Gi' },
    pod: {
      initContainers: [
        {
          // kms-local insists on a 0600 principals file; a Secret mount under fsGroup is 0440.
          // Same uid as the KMS container: the copy is its own file.
          name: 'private-copy',
          image: imageString(reelmeshImage(KMS_NAME)),
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'install -m 0600 /etc/kms/principals.json /run/kms/principals.json'],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
          securityContext: containerSecurity(APP_UID),
          volumeMounts: [
            { name: 'principals', mountPath: '/etc/kms', readOnly: true },
            { name: 'private', mountPath: '/run/kms' },
          ],
        },
      ],
      containers: [
        {
          name: KMS_NAME,
          image: imageString(reelmeshImage(KMS_NAME)),
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'http-kms', containerPort: KMS_PORT, protocol: 'TCP' }],
          env: [
            { name: 'REELMESH_KMS_DATA_DIR', value: '/var/lib/kms' },
            { name: 'REELMESH_KMS_HOST', value: '0.0.0.0' },
            { name: 'REELMESH_KMS_PORT', value: String(KMS_PORT) },
            { name: 'REELMESH_KMS_REGION', value: KMS_REGION },
            { name: 'REELMESH_KMS_PRINCIPALS_FILE', value: '/run/kms/principals.json' },
            // Provision the owner's workflow key and each contractor's asset key at start-up.
            { name: 'REELMESH_KMS_WORKFLOW', value: WORKFLOW_IN_IMAGE },
            // The owner's audit ledger (in the control plane) seals under the workflow key as its own principal.
            { name: 'REELMESH_KMS_PLATFORM_AGENTS', value: `${LEDGER_AGENT}:${ownerOf(wf).actor}` },
          ],
          // The KMS speaks only POST; a TCP probe says it listens without faking a request.
          readinessProbe: { tcpSocket: { port: 'http-kms' }, periodSeconds: 5 },
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          securityContext: containerSecurity(APP_UID),
          volumeMounts: [
            { name: 'state', mountPath: '/var/lib/kms' },
            { name: 'private', mountPath: '/run/kms', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'state', persistentVolumeClaim: { claimName: `${KMS_NAME}-state` } },
        { name: 'principals', secret: { secretName: KMS_PRINCIPALS_SECRET, defaultMode: 0o440 } },
        { name: 'private', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      ],
    },
  });
}
