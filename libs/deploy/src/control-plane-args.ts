// The owner's control plane's command line, the same on every deployed target (Compose, Kubernetes):
// only where it listens and where its files are mounted differ.
import { ownerOf, type Workflow } from '@reelmesh/workflow';
import { POLICY_BUNDLE_FILE, POLICY_KEY_FILE } from './k8s/agent-manifests';
import { DATA_DIR } from './settings';

/** The CA `reelmesh certs` makes, as the control plane finds it in its mounted folder. */
export const CA_CERT_FILE = 'ca-cert.pem';
export const CA_KEY_FILE = 'ca-key.pem';

export interface ControlPlaneMounts {
  /** host:port inside its pod: loopback behind Compose's Envoy; all pod interfaces under Istio (STRICT mTLS). */
  listen: string;
  caDir: string;
  policyBundleDir: string;
  policyKeyDir: string;
}

export function controlPlaneCommand(wf: Workflow, at: ControlPlaneMounts): string[] {
  return [
    '--listen', at.listen,
    // Callers are who their client certificate says, as the pod's sidecar verified it (x-forwarded-client-cert).
    '--mesh-identity',
    '--trust-domain', wf.metadata.trustDomain,
    '--dir', `${DATA_DIR}/state`,
    // The apps' signing SVIDs chain to the CA the Envoys trust.
    '--ca-cert', `${at.caDir}/${CA_CERT_FILE}`,
    '--ca-key', `${at.caDir}/${CA_KEY_FILE}`,
    '--audit-dir', `${DATA_DIR}/audit`,
    '--audit-workflow', wf.metadata.id,
    '--audit-owner-actor', ownerOf(wf).actor,
    // The owner's signed bundle the OPA sidecars load is the policy in force it reports.
    '--bundle-key', `${at.policyKeyDir}/${POLICY_KEY_FILE}`,
    '--bundle', `${at.policyBundleDir}/${POLICY_BUNDLE_FILE}`,
  ];
}
