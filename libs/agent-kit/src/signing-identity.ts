import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { createSigner, type SigningMaterial } from '@reelmesh/provenance';
import type { ProvenanceIdentity } from './chunk-provenance';

/** The SVID as the control plane's POST /v1/svid returns it. */
interface SvidResponse extends SigningMaterial {
  bundlePem: string;
  notAfter: string;
}

/**
 * Where the agent's signing identity comes from, read once at start-up:
 * - mesh: REELMESH_CONTROL_PLANE + REELMESH_BOOTSTRAP_TOKEN (the pod's token): the app fetches
 *   its own SVID and renews it at half-life;
 * - files (dev CA, compose): REELMESH_SIGNING_KEY, REELMESH_SIGNING_CHAIN, REELMESH_TRUST_BUNDLE;
 * - neither: no provenance (security-off baseline only).
 */
export async function loadSigningIdentity(env: NodeJS.ProcessEnv, logger?: Logger): Promise<ProvenanceIdentity | undefined> {
  if (env.REELMESH_CONTROL_PLANE && env.REELMESH_BOOTSTRAP_TOKEN) return fromControlPlane(env.REELMESH_CONTROL_PLANE, env.REELMESH_BOOTSTRAP_TOKEN, logger);
  if (env.REELMESH_SIGNING_KEY && env.REELMESH_SIGNING_CHAIN && env.REELMESH_TRUST_BUNDLE) {
    const [keyPem, chainPem, caBundlePem] = await Promise.all(
      [env.REELMESH_SIGNING_KEY, env.REELMESH_SIGNING_CHAIN, env.REELMESH_TRUST_BUNDLE].map((path) => readFile(path, 'utf8')),
    );
    const uri = (new X509Certificate(chainPem).subjectAltName ?? '').split(', ').find((s) => s.startsWith('URI:'));
    if (!uri) throw new Error(`${env.REELMESH_SIGNING_CHAIN}: the signing certificate has no SPIFFE id`);
    return { signer: createSigner({ spiffeId: uri.slice(4), keyPem, chainPem }), caBundlePem };
  }
  return undefined;
}

async function fromControlPlane(url: string, token: string, logger?: Logger): Promise<ProvenanceIdentity> {
  const fetchSvid = async (): Promise<SvidResponse> => {
    const res = await fetch(`${url.replace(/\/+$/, '')}/v1/svid`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    if (!res.ok) throw new Error(`control plane refused the SVID request: HTTP ${res.status}`);
    return (await res.json()) as SvidResponse;
  };
  let current = await fetchSvid();
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      fetchSvid()
        .then((svid) => {
          current = svid;
          schedule(halfLife(svid));
        })
        .catch((error: Error) => {
          logger?.warn({ err: error }, 'SVID renewal failed; retrying');
          schedule(1000);
        });
    }, delayMs);
    timer.unref();
  };
  schedule(halfLife(current));
  return { signer: createSigner(() => current), caBundlePem: current.bundlePem, stop: () => clearTimeout(timer) };
}

const halfLife = (svid: SvidResponse) => Math.max(1000, (Date.parse(svid.notAfter) - Date.now()) / 2);
