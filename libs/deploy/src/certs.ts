// `reelmesh certs`: the Compose mesh's identities. The project's CA (@reelmesh/mesh createCa) issues
// one SVID per pod (each agent, and the owner's control plane); the local KMS gets one SigV4
// credential per agent and one for the control plane's audit ledger; the owner's key signs the
// policy bundle every OPA sidecar loads. Keys are written 0600 into a folder that is never
// committed (.reelmesh/certs by default), laid out so each container mounts only what it uses:
//
//   ca/ca-cert.pem, ca/ca-key.pem      the CA (the control plane issues the apps' signing SVIDs with it)
//   <pod>/envoy/current/{cert,key,ca}.pem   the pod's Envoy SVID and the trust bundle; `current` is
//                                      a link to the newest generation (gen-*), swapped atomically
//   <pod>/kms.env                      KMS credentials (a Compose env_file, never mounted)
//   kms/principals.json                the KMS's credential table
//   policy/reelmesh.tar.gz, policy/owner-bundle.pub.pem   what OPA loads and verifies it with
//   owner-signing/bundle-key.pem       the owner's bundle-signing key: in no container
//
// `renew` re-issues only the SVID leaves (same CA, same KMS credentials and bundle): Envoy watches
// <pod>/envoy and takes the new pair without a restart.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KMS_ENV } from '@reelmesh/envelope';
import { LEDGER_AGENT, OWNER_BUNDLE_KEY_ID, signPolicyDirectory } from '@reelmesh/provenance';
import { generateAgentCredentials } from '@reelmesh/kms-local';
import { createCa } from '@reelmesh/mesh';
import { swapSymlinkSync, writeFileAtomicSync } from '@reelmesh/storage';
import { spiffeId, type Workflow } from '@reelmesh/workflow';
import { CERT_FILES, controlPlaneSpiffeId, CURRENT_CERTS } from './compose/envoy-config';
import { CONTROL_PLANE_NAME } from './settings';

/** The certificate layout, relative to the certs folder (one place: certs.ts writes it, compose-file.ts mounts it). */
export const CERTS_LAYOUT = {
  caDir: 'ca',
  caCert: 'ca/ca-cert.pem',
  caKey: 'ca/ca-key.pem',
  /** A pod's Envoy folder (an agent's, or the control plane's). */
  envoyDir: (pod: string) => `${pod}/envoy`,
  kmsEnv: (pod: string) => `${pod}/kms.env`,
  kmsDir: 'kms',
  principals: 'kms/principals.json',
  policyDir: 'policy',
  policyBundle: 'policy/reelmesh.tar.gz',
  policyPublicKey: 'policy/owner-bundle.pub.pem',
  ownerSigningKey: 'owner-signing/bundle-key.pem',
} as const;

/** Folder names of the layout an agent may not take. */
const RESERVED = new Set(['ca', 'kms', 'policy', 'owner-signing', CONTROL_PLANE_NAME]);

/** Default SVID lifetime: a working day; `reelmesh certs --renew` (e.g. from cron) before it ends. */
export const DEFAULT_CERT_LIFETIME_HOURS = 24;

/** A lifetime as the CLI takes it: `<n>h` or `<n>m` (or plain hours), in hours. */
export function parseLifetime(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([hm]?)$/.exec(text.trim());
  if (!match) throw new RangeError(`lifetime must be like 24h or 90m, got ${JSON.stringify(text)}`);
  return match[2] === 'm' ? Number(match[1]) / 60 : Number(match[1]);
}

export interface IssueCertsOptions {
  outDir: string;
  /** Folder with the policy bundle's data.json and Rego (policies/reelmesh). */
  policyDir: string;
  /** Bundle revision (default: now in ms; sidecars never go back to an older one). */
  revision?: number;
  /** SVID lifetime in hours (default DEFAULT_CERT_LIFETIME_HOURS). */
  ttlHours?: number;
  /** Only re-issue the SVID leaves from the existing CA; KMS credentials and the bundle stay. */
  renew?: boolean;
}

export interface IssuedCerts {
  outDir: string;
  /** Paths written, relative to outDir. */
  files: string[];
  /** When the SVIDs just issued expire. */
  notAfter: Date;
}

export async function issueComposeCerts(wf: Workflow, options: IssueCertsOptions): Promise<IssuedCerts> {
  const ttlHours = options.ttlHours ?? DEFAULT_CERT_LIFETIME_HOURS;
  if (!Number.isFinite(ttlHours) || ttlHours <= 0 || ttlHours > 24 * 30) throw new RangeError(`ttl must be 0-720 hours, got ${ttlHours}`);
  const clash = wf.agents.find((agent) => RESERVED.has(agent.name));
  if (clash) throw new Error(`agent "${clash.name}" has the name of a folder of the certs layout (${[...RESERVED].join(', ')}); rename it`);
  const out = options.outDir;
  if (options.renew && !existsSync(join(out, CERTS_LAYOUT.caKey))) throw new Error(`no CA in ${join(out, CERTS_LAYOUT.caDir)} to renew from: run \`reelmesh certs\` first`);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const files: string[] = [];
  const write = (rel: string, content: string | Buffer, mode: number) => {
    // Atomic: a key is never seen half-written; the new file has exactly `mode`.
    mkdirSync(dirname(join(out, rel)), { recursive: true, mode: 0o700 });
    writeFileAtomicSync(join(out, rel), content, { mode });
    files.push(rel);
  };

  // The CA root persists in ca/, so re-running (or renewing) issues leaves under the same trust bundle.
  const ca = await createCa({ trustDomain: wf.metadata.trustDomain, dir: join(out, CERTS_LAYOUT.caDir) });
  if (!options.renew) files.push(CERTS_LAYOUT.caCert, CERTS_LAYOUT.caKey);
  const pods = [...wf.agents.map((agent) => ({ name: agent.name, id: spiffeId(wf, agent.name) })), { name: CONTROL_PLANE_NAME, id: controlPlaneSpiffeId(wf) }];
  let notAfter = new Date(8.64e15);
  for (const pod of pods) {
    const svid = await ca.issue({ spiffeId: pod.id, ttlSeconds: ttlHours * 3600 });
    if (svid.notAfter < notAfter) notAfter = svid.notAfter;
    const generation = writeGeneration(out, CERTS_LAYOUT.envoyDir(pod.name), {
      [CERT_FILES.certificate]: { content: svid.chainPem, mode: 0o644 },
      [CERT_FILES.privateKey]: { content: svid.keyPem, mode: 0o600 },
      [CERT_FILES.trustBundle]: { content: ca.bundlePem, mode: 0o644 },
    });
    files.push(...generation);
  }
  if (options.renew) return { outDir: out, files, notAfter };

  // One KMS principal per agent, and the control plane's ledger's own (as the local runtime's).
  const credentials = generateAgentCredentials([...wf.agents.map((agent) => ({ name: agent.name })), { name: LEDGER_AGENT }]);
  for (const [pod, principal] of [...wf.agents.map((agent) => [agent.name, agent.name]), [CONTROL_PLANE_NAME, LEDGER_AGENT]]) {
    const credential = credentials.byAgent[principal];
    write(CERTS_LAYOUT.kmsEnv(pod), `${KMS_ENV.accessKeyId}=${credential.accessKeyId}\n${KMS_ENV.secretAccessKey}=${credential.secretAccessKey}\n`, 0o600);
  }
  write(CERTS_LAYOUT.principals, `${JSON.stringify(credentials.principals, null, 2)}\n`, 0o600);

  // The owner's bundle key persists (0600, outside every mounted folder): a re-run signs a newer
  // revision with the same key, so sidecars keep trusting it. Only the public half is mounted into OPA.
  const keyFile = join(out, CERTS_LAYOUT.ownerSigningKey);
  // Earlier versions kept it in owner/, the folder of an agent named `owner`: moved out of there.
  const legacyKeyFile = join(out, 'owner', 'bundle-key.pem');
  if (!existsSync(keyFile) && existsSync(legacyKeyFile)) {
    mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
    writeFileAtomicSync(keyFile, readFileSync(legacyKeyFile), { mode: 0o600 });
    rmSync(legacyKeyFile);
  }
  if (!existsSync(keyFile)) {
    write(CERTS_LAYOUT.ownerSigningKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  }
  const privateKey = readFileSync(keyFile, 'utf8');
  const { archive } = signPolicyDirectory({ policyDir: options.policyDir, privateKey, keyId: OWNER_BUNDLE_KEY_ID, revision: options.revision ?? Date.now() });
  mkdirSync(join(out, CERTS_LAYOUT.policyDir), { recursive: true, mode: 0o755 });
  write(CERTS_LAYOUT.policyBundle, archive, 0o644);
  write(CERTS_LAYOUT.policyPublicKey, createPublicKey(createPrivateKey(privateKey)).export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  return { outDir: out, files, notAfter };
}

/**
 * Writes `files` as a new generation folder in `dir` and points `dir/current` at it with one
 * rename (atomic): a reader through `current` sees the old set or the new set, never a mix.
 * The generation before stays (a reader may still be in it); older ones are removed.
 */
function writeGeneration(out: string, dir: string, files: Record<string, { content: string; mode: number }>): string[] {
  const abs = join(out, dir);
  mkdirSync(abs, { recursive: true, mode: 0o755 });
  const generation = `gen-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  mkdirSync(join(abs, generation), { mode: 0o755 });
  for (const [name, { content, mode }] of Object.entries(files)) writeFileAtomicSync(join(abs, generation, name), content, { mode });
  const link = join(abs, CURRENT_CERTS);
  const previous = existsSync(link) ? readdirSync(abs).find((entry) => entry.startsWith('gen-') && join(abs, entry) === resolveLink(link)) : undefined;
  // Relative, so it resolves the same on the host and inside the container that mounts `dir`.
  swapSymlinkSync(generation, link);
  for (const entry of readdirSync(abs)) {
    if (entry.startsWith('gen-') && entry !== generation && entry !== previous) rmSync(join(abs, entry), { recursive: true, force: true });
  }
  return Object.keys(files).map((name) => `${dir}/${CURRENT_CERTS}/${name}`);
}

function resolveLink(link: string): string | undefined {
  try {
    return join(dirname(link), readlinkSync(link));
  } catch {
    return undefined;
  }
}
