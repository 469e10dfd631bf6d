import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createSigner, parseTrustBundle, splitPem } from '@reelmesh/provenance';
import { checkSvid, CONTROL_PLANE_STARTUP_WAIT_MS, ControlPlaneClient, SvidSource, whileUnreachable } from '@reelmesh/workload-identity';
import { AGENT_ENV } from './agent-env';
import type { ProvenanceIdentity } from './chunk-provenance';

/**
 * Where the agent's signing identity comes from, read once at start-up:
 * - mesh: the control plane, with the pod's bootstrap token (local mesh) or none (Compose, Istio:
 *   the control plane knows the pod by the identity its sidecar verified): the app holds its own
 *   SVID (the same identity as its proxy), renewed at half-life by the one SvidSource;
 * - files (dev CA, Compose): a signing key, its certificate chain and the trust bundle;
 * - neither: no provenance (security-off baseline only).
 */
export async function loadSigningIdentity(env: NodeJS.ProcessEnv, logger?: Logger): Promise<ProvenanceIdentity | undefined> {
  const controlPlane = env[AGENT_ENV.controlPlane];
  const token = env[AGENT_ENV.bootstrapToken];
  if (controlPlane) {
    const client = new ControlPlaneClient({ url: controlPlane, token: token || undefined });
    // An app (re)started while the control plane itself restarts waits for it (bounded) rather
    // than exit and spend its own restart budget on another process's outage.
    const source = await whileUnreachable(() => SvidSource.fromControlPlane(client), CONTROL_PLANE_STARTUP_WAIT_MS).catch((error: Error & { status?: number; code?: string }) => {
      client.close();
      throw new Error(`control plane refused the SVID request: HTTP ${error.status ?? '-'} ${error.code ?? ''}: ${error.message}`, { cause: error });
    });
    source.on('error', (error) => logger?.warn({ err: error }, 'SVID renewal failed; retrying'));
    return {
      signer: createSigner(() => source.current()),
      caBundlePem: source.current().bundlePem,
      // The owner names the policy in force in its deliverable's attestation.
      policy: async () => {
        const p = await client.policy();
        return { revision: p.bundle?.revision ?? String(p.revision), signed: p.signed, digest: { sha256: p.bundle?.sha256 ?? p.sha256 } };
      },
      stop: () => {
        source.stop();
        client.close();
      },
    };
  }
  const files = [env[AGENT_ENV.signingKey], env[AGENT_ENV.signingChain], env[AGENT_ENV.trustBundle]];
  if (files.every(Boolean)) {
    const [keyPem, chainPem, caBundlePem] = await Promise.all(files.map((path) => readFile(path!, 'utf8')));
    // Refused at start-up, not at the first record: the certificate must be one that may sign.
    let spiffeId: string;
    try {
      ({ spiffeId } = checkSvid(splitPem(chainPem), parseTrustBundle(caBundlePem), { use: 'signing' }));
    } catch (error) {
      throw new Error(`${env[AGENT_ENV.signingChain]}: this certificate cannot sign provenance: ${(error as Error).message}`, { cause: error });
    }
    return { signer: createSigner({ spiffeId, keyPem, chainPem }), caBundlePem };
  }
  return undefined;
}
