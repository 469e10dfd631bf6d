// The multi-cluster overlay's changes to an actor's base: AWS KMS credentials from IAM roles for
// service accounts (IRSA) instead of static access keys. Each ServiceAccount is annotated with its
// role (EKS's pod identity webhook then injects AWS_ROLE_ARN and a projected web-identity token into
// the pod), and the access-key variables are removed, so the AWS SDK's default credential chain
// finds the web identity. The role ARNs are placeholders the operator replaces.
import { KMS_ENV } from '@reelmesh/envelope';
import { ownerOf } from '@reelmesh/workflow';
import { CONTROL_PLANE_NAME, KMS_REGION } from '../settings';
import type { Topology } from '../topology';

/** EKS IRSA: the IAM role a ServiceAccount's pods assume. */
export const IRSA_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** The AWS SDK gets IRSA credentials from STS (AssumeRoleWithWebIdentity), regional endpoint. */
export const AWS_STS_HOST = `sts.${KMS_REGION}.amazonaws.com`;
export const IRSA_PATCHES_FILE = 'irsa-patches.yaml';

/** The placeholder role of one workload: one role per ServiceAccount, in its actor's account. */
export function irsaRoleArn(actor: string, workload: string): string {
  return `arn:aws:iam::${actor.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_ACCOUNT_ID:role/reelmesh-${workload}`;
}

/** Workloads of one namespace that call KMS, each with its container name. */
export function kmsWorkloads(topology: Topology, namespace: string): Array<{ name: string; container: string }> {
  const ns = topology.namespaces.find((n) => n.name === namespace)!;
  const agents = ns.agents.map((agent) => ({ name: agent.name, container: 'agent' }));
  return ownerOf(topology.workflow).actor === namespace ? [...agents, { name: CONTROL_PLANE_NAME, container: CONTROL_PLANE_NAME }] : agents;
}

/** Strategic-merge patches (one file per namespace, several documents). */
export function multiClusterPatches(topology: Topology, namespace: string): Array<{ file: string; body: object[] }> {
  const body = kmsWorkloads(topology, namespace).flatMap(({ name, container }) => [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, annotations: { [IRSA_ANNOTATION]: irsaRoleArn(namespace, name) } } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: container,
                // `$patch: delete` removes the list entry with this merge key (name).
                env: [KMS_ENV.accessKeyId, KMS_ENV.secretAccessKey].map((variable) => ({ name: variable, $patch: 'delete' })),
              },
            ],
          },
        },
      },
    },
  ]);
  return [{ file: IRSA_PATCHES_FILE, body }];
}
