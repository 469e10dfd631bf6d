// The owner's control plane in the owner's namespace: the audit ledger (apps' audit events and every
// OPA sidecar's decision log) and the issuer of the apps' provenance-signing SVIDs. It runs behind
// its own istio-proxy with --mesh-identity: a caller is the SPIFFE id in x-forwarded-client-cert,
// which istio-proxy sets from the client certificate it verified (STRICT mTLS); the
// AuthorizationPolicy `control-plane-allow` admits exactly the workflow's principals.
// Istio's own workload certificates cannot sign provenance: Istio's CA gives workload certificates
// the serverAuth and clientAuth key purposes only (istio/istio security/pkg/pki/util/
// generate_cert.go), our verifier requires id-kp-codeSigning (libs/provenance certificates.ts). So
// the apps get their signing SVIDs from here, from the CA `reelmesh certs` makes (--ca-cert/--ca-key).
import type { EnvSource } from '@reelmesh/agent-kit';
import { kmsEnvironment, KMS_ENV } from '@reelmesh/envelope';
import { ownerOf } from '@reelmesh/workflow';
import { imageString, reelmeshImage } from '../images';
import {
  APP_UID,
  CONTROL_PLANE_NAME,
  CONTROL_PLANE_PORT,
  DATA_DIR,
  serviceHost,
} from '../settings';
import type { Topology } from '../topology';
import { k8sEnv, kmsSecretName, POLICY_BUNDLE_CONFIGMAP, POLICY_KEY_CONFIGMAP } from './agent-manifests';
import { KMS_CONFIGMAP, kmsKey } from './kms-keys';
import { containerSecurity } from './security';
import { meshWorkloadManifests } from './workload';
import { controlPlaneCommand } from '../control-plane-args';

/** The CA `reelmesh certs` makes (ca/ca-cert.pem, ca/ca-key.pem): a Secret created at deploy time, never generated. */
export const CONTROL_PLANE_CA_SECRET = 'control-plane-ca';
export const controlPlaneStateClaim = `${CONTROL_PLANE_NAME}-state`;
const CA_DIR = '/etc/reelmesh/ca';
const POLICY_BUNDLE_DIR = '/policy-bundle';
const POLICY_KEY_DIR = '/policy-key';

/** Where the agents (and their OPA sidecars) reach the owner's control plane; istio-proxy originates mTLS. */
export function controlPlaneUrl(topology: Topology): string {
  return `http://${serviceHost(CONTROL_PLANE_NAME, ownerOf(topology.workflow).actor)}:${CONTROL_PLANE_PORT}`;
}

/** The program's command line in the cluster. */
export function controlPlaneArgs(topology: Topology): string[] {
  // Istio delivers inbound traffic to the pod IP; only istio-proxy reaches the port (STRICT mTLS + ALLOW policy).
  return controlPlaneCommand(topology.workflow, { listen: `0.0.0.0:${CONTROL_PLANE_PORT}`, caDir: CA_DIR, policyBundleDir: POLICY_BUNDLE_DIR, policyKeyDir: POLICY_KEY_DIR });
}

export function controlPlaneManifests(topology: Topology): object[] {
  const config = (key: string) => ({ from: 'config' as const, name: KMS_CONFIGMAP, key });
  const secret = (key: string) => ({ from: 'secret' as const, name: kmsSecretName(CONTROL_PLANE_NAME), key });
  // The ledger's own KMS principal (as locally): seals under the workflow key, trusts only it.
  const env = kmsEnvironment<EnvSource>({
    endpoint: config('endpoint'),
    region: config('region'),
    keyId: config(kmsKey(CONTROL_PLANE_NAME, 'keyId')),
    allowedKeyIds: config(kmsKey(CONTROL_PLANE_NAME, 'allowedKeyIds')),
    accessKeyId: secret(KMS_ENV.accessKeyId),
    secretAccessKey: secret(KMS_ENV.secretAccessKey),
  });
  const probe = (extra: object) => ({ httpGet: { path: '/health', port: 'http-control-plane' }, timeoutSeconds: 3, ...extra });
  return meshWorkloadManifests({
    name: CONTROL_PLANE_NAME,
    component: 'control-plane',
    port: { name: 'http-control-plane', port: CONTROL_PLANE_PORT },
    claim: { name: controlPlaneStateClaim, storage: '5Gi' },
    pod: {
      containers: [
        {
          name: CONTROL_PLANE_NAME,
          image: imageString(reelmeshImage(CONTROL_PLANE_NAME)),
          imagePullPolicy: 'IfNotPresent',
          args: controlPlaneArgs(topology),
          ports: [{ name: 'http-control-plane', containerPort: CONTROL_PLANE_PORT, protocol: 'TCP' }],
          env: [...Object.entries(env).map(([name, value]) => k8sEnv(name, value)), { name: 'TMPDIR', value: '/tmp' }],
          startupProbe: probe({ periodSeconds: 2, failureThreshold: 60 }),
          readinessProbe: probe({ periodSeconds: 5 }),
          livenessProbe: probe({ periodSeconds: 10, failureThreshold: 6 }),
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
          securityContext: containerSecurity(APP_UID),
          volumeMounts: [
            { name: 'state', mountPath: DATA_DIR },
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'ca', mountPath: CA_DIR, readOnly: true },
            { name: 'policy-bundle', mountPath: POLICY_BUNDLE_DIR, readOnly: true },
            { name: 'policy-key', mountPath: POLICY_KEY_DIR, readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'state', persistentVolumeClaim: { claimName: controlPlaneStateClaim } },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
        // Group-readable under fsGroup; nothing else in the pod reads it.
        { name: 'ca', secret: { secretName: CONTROL_PLANE_CA_SECRET, defaultMode: 0o440 } },
        { name: 'policy-bundle', configMap: { name: POLICY_BUNDLE_CONFIGMAP } },
        { name: 'policy-key', configMap: { name: POLICY_KEY_CONFIGMAP } },
      ],
    },
  });
}
