// Structural checks of the generated Compose Envoy configs (docker/envoy/<agent>.yaml): things a
// schema cannot see but that break the mesh at run time.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spiffeId } from '@reelmesh/workflow';
import { CERTS_LAYOUT, issueComposeCerts } from './certs';
import { serviceMounts, type ComposeDocument } from './compose/compose-inspect';
import { CONTROL_PLANE_EGRESS_PORT, CONTROL_PLANE_NAME } from './settings';
import { parseYamlDocs, REPO_ROOT, workflow } from './test-support';

const wf = workflow();
/** Every pod with an Envoy: the workflow's agents and the owner's control plane. */
const pods = [...wf.agents.map((agent) => agent.name), CONTROL_PLANE_NAME];
const compose = parseYamlDocs(readFileSync(`${REPO_ROOT}docker-compose.yml`, 'utf8'))[0] as unknown as ComposeDocument;
const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const TLS_ORDER = ['TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'];

const envoyOf = (agent: string) => parseYamlDocs(readFileSync(`${REPO_ROOT}docker/envoy/${agent}.yaml`, 'utf8'))[0] as unknown;

/** Every value under `key`, anywhere in the document. */
function findAll(node: unknown, key: string, found: unknown[] = []): unknown[] {
  if (Array.isArray(node)) node.forEach((item) => findAll(item, key, found));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) found.push(v);
      findAll(v, key, found);
    }
  }
  return found;
}

/** What is wrong with a config's TLS versions: every tls_params needs a known min and max, min <= max. */
function tlsProblems(config: unknown): string[] {
  const contexts = findAll(config, 'common_tls_context') as Array<Record<string, unknown>>;
  if (contexts.length === 0) return ['no TLS context'];
  return contexts.flatMap((context) => {
    const p = (context.tls_params ?? {}) as Record<string, string>;
    const min = TLS_ORDER.indexOf(p.tls_minimum_protocol_version);
    const max = TLS_ORDER.indexOf(p.tls_maximum_protocol_version);
    if (min < 0 || max < 0) return [`min/max not both set: ${JSON.stringify(p)}`];
    return min <= max ? [] : [`min > max: ${JSON.stringify(p)}`];
  });
}

describe('docker/envoy/<agent>.yaml', () => {
  it.each(pods)('%s: every TLS context sets a minimum and a maximum version, min <= max', (agent) => {
    const config = envoyOf(agent);
    // The inbound context plus one per next hop.
    expect(findAll(config, 'common_tls_context').length).toBeGreaterThanOrEqual(1);
    expect(tlsProblems(config)).toEqual([]);
  });

  it('the check catches a TLS 1.3 minimum without a maximum (Envoy\'s client default max is 1.2), and min > max', () => {
    const config = envoyOf(wf.agents[0].name);
    const noMax = structuredClone(config);
    for (const p of findAll(noMax, 'tls_params') as Array<Record<string, string>>) delete p.tls_maximum_protocol_version;
    expect(tlsProblems(noMax).length).toBeGreaterThan(0);
    const inverted = structuredClone(config);
    for (const p of findAll(inverted, 'tls_params') as Array<Record<string, string>>) p.tls_maximum_protocol_version = 'TLSv1_2';
    expect(tlsProblems(inverted).length).toBeGreaterThan(0);
  });
});

describe('an OPA that is down or slow: fail closed, 503 (retried) in Compose and in the cluster', () => {
  it.each(wf.agents.map((agent) => agent.name))('%s: Compose Envoy ext_authz does not fail open and answers 503 on error', (agent) => {
    const filters = (findAll(envoyOf(agent), 'http_filters') as Array<Array<{ name: string; typed_config: Record<string, unknown> }>>)
      .flat()
      .filter((filter) => filter.name === 'envoy.filters.http.ext_authz');
    expect(filters.length).toBe(1);
    const config = filters[0].typed_config;
    expect(config['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz');
    expect(config.failure_mode_allow).toBe(false);
    expect(config.status_on_error).toEqual({ code: 'ServiceUnavailable' });
  });

  it('the IstioOperator extension provider does not fail open and answers 503 on error', () => {
    const operator = parseYamlDocs(readFileSync(`${REPO_ROOT}istio/install/istio-operator-reelmesh.yaml`, 'utf8'))[0];
    const providers = (operator.spec as { meshConfig: { extensionProviders: Array<{ name: string; envoyExtAuthzGrpc?: Record<string, unknown> }> } })
      .meshConfig.extensionProviders;
    const authz = providers.filter((provider) => provider.envoyExtAuthzGrpc);
    expect(authz.length).toBeGreaterThan(0);
    for (const provider of authz) {
      expect(provider.envoyExtAuthzGrpc!.failOpen, provider.name).toBe(false);
      expect(provider.envoyExtAuthzGrpc!.statusOnError, provider.name).toBe('503');
    }
  });
});

interface Listener {
  name: string;
  address: { socket_address: { address: string; port_value: number } };
  filter_chains: Array<{ transport_socket?: unknown; filters: Array<{ typed_config: Hcm }> }>;
}
interface Hcm {
  forward_client_cert_details?: string;
  set_current_client_cert_details?: Record<string, boolean>;
  normalize_path?: boolean;
  merge_slashes?: boolean;
  path_with_escaped_slashes_action?: string;
  route_config: { virtual_hosts: Array<{ routes: Array<{ route: { cluster: string } }> }> };
}
interface Cluster {
  name: string;
  load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }> };
  transport_socket?: unknown;
}
interface Bootstrap {
  static_resources: { listeners: Listener[]; clusters: Cluster[] };
}
const bootstrapOf = (pod: string) => envoyOf(pod) as Bootstrap;
const hcms = (config: unknown) =>
  (findAll(config, 'typed_config') as Array<Record<string, unknown>>).filter((c) => String(c['@type']).endsWith('HttpConnectionManager')) as unknown as Hcm[];
const sans = (context: unknown) => (findAll(context, 'match_typed_subject_alt_names') as Array<Array<{ san_type: string; matcher: Record<string, string> }>>).flat();
const endpoints = (cluster: Cluster) => cluster.load_assignment.endpoints.flatMap((e) => e.lb_endpoints.map((l) => l.endpoint.address.socket_address));
const clustersOf = (config: Bootstrap, listener: Listener) =>
  listener.filter_chains.flatMap((chain) => chain.filters.flatMap((f) => f.typed_config.route_config.virtual_hosts.flatMap((v) => v.routes.map((r) => r.route.cluster))))
    .map((name) => config.static_resources.clusters.find((c) => c.name === name)!);

describe('path semantics (defect 11): Envoy normalises as Istio does (DECODE_AND_MERGE_SLASHES)', () => {
  /** What is wrong with a config's path handling: every HCM must normalise, merge slashes and decode %2F/%5C. */
  const pathProblems = (config: unknown) =>
    hcms(config).flatMap((hcm) =>
      hcm.normalize_path === true && hcm.merge_slashes === true && hcm.path_with_escaped_slashes_action === 'UNESCAPE_AND_FORWARD' ? [] : [JSON.stringify({ n: hcm.normalize_path, m: hcm.merge_slashes, e: hcm.path_with_escaped_slashes_action })],
    );

  it.each(pods)('%s: every HTTP connection manager normalises the path before routing and ext_authz', (pod) => {
    const config = envoyOf(pod);
    expect(hcms(config).length).toBeGreaterThan(0);
    expect(pathProblems(config)).toEqual([]);
  });

  it('the check catches an HCM that forwards escaped slashes unchanged', () => {
    const config = structuredClone(envoyOf(wf.agents[0].name));
    hcms(config)[0].path_with_escaped_slashes_action = 'KEEP_UNCHANGED';
    expect(pathProblems(config).length).toBe(1);
  });
});

describe('certificates through SDS, renewed without a restart (defect 10)', () => {
  const sdsOf = (containerPath: string, service: ComposeDocument['services'][string]) => {
    const mount = serviceMounts(service).find((m) => containerPath.startsWith(`${m.target}/`));
    if (!mount) return undefined;
    return parseYamlDocs(readFileSync(`${REPO_ROOT}${posix.join(mount.source, containerPath.slice(mount.target.length + 1))}`, 'utf8'))[0] as unknown as {
      resources: Array<{ name: string; tls_certificate?: Record<string, { filename?: string; path?: string }>; validation_context?: Record<string, { filename?: string; path?: string }> }>;
    };
  };

  /** What is wrong with one TLS context: inline files, or SDS secrets whose files are not under a watched folder the Envoy mounts. */
  function sdsProblems(pod: string, config: unknown): string[] {
    const service = compose.services[`${pod}-envoy`];
    const contexts = findAll(config, 'common_tls_context') as Array<Record<string, unknown>>;
    if (contexts.length === 0) return ['no TLS context'];
    return contexts.flatMap((context) => {
      if (context.tls_certificates || context.validation_context) return ['certificate or trust bundle given inline (never reloaded)'];
      const certs = (context.tls_certificate_sds_secret_configs ?? []) as Array<{ name: string; sds_config: { path_config_source: { path: string } } }>;
      const validation = (context.combined_validation_context as { validation_context_sds_secret_config?: { name: string; sds_config: { path_config_source: { path: string } } } } | undefined)?.validation_context_sds_secret_config;
      if (certs.length !== 1 || !validation) return ['no SDS secret for the certificate or the trust bundle'];
      return [
        { config: certs[0], kind: 'tls_certificate' as const, files: ['certificate_chain', 'private_key'] },
        { config: validation, kind: 'validation_context' as const, files: ['trusted_ca'] },
      ].flatMap(({ config: secretConfig, kind, files }) => {
        const sds = sdsOf(secretConfig.sds_config.path_config_source.path, service);
        const secret = sds?.resources.find((r) => r.name === secretConfig.name)?.[kind];
        if (!secret) return [`${secretConfig.name}: no ${kind} in ${secretConfig.sds_config.path_config_source.path}`];
        const watched = secret.watched_directory?.path;
        if (!watched) return [`${secretConfig.name}: no watched_directory`];
        // The watched folder is the pod's certs folder, mounted as a folder (a file bind mount never shows a renewal).
        const mount = serviceMounts(service).find((m) => m.target === watched);
        if (mount?.source !== `./.reelmesh/certs/${CERTS_LAYOUT.envoyDir(pod)}`) return [`${secretConfig.name}: ${watched} is not the pod's certs folder`];
        return files.flatMap((field) => (secret[field]?.filename?.startsWith(`${watched}/`) ? [] : [`${secretConfig.name}: ${field} outside ${watched}`]));
      });
    });
  }

  it.each(pods)('%s: every TLS context reads its certificate and trust bundle through SDS from a watched folder', (pod) => {
    expect(sdsProblems(pod, envoyOf(pod))).toEqual([]);
  });

  it('the check catches an inline certificate and a secret without watched_directory', () => {
    const pod = wf.agents[0].name;
    const inline = structuredClone(envoyOf(pod));
    (findAll(inline, 'common_tls_context')[0] as Record<string, unknown>).tls_certificates = [{ certificate_chain: { filename: '/certs/cert.pem' } }];
    expect(sdsProblems(pod, inline).length).toBeGreaterThan(0);
    const unwatched = structuredClone(envoyOf(pod));
    for (const c of findAll(unwatched, 'tls_certificate_sds_secret_configs') as Array<Array<{ name: string }>>) c[0].name = 'not-in-the-file';
    expect(sdsProblems(pod, unwatched).length).toBeGreaterThan(0);
  });
});

describe("the control plane's pod and the way to it", () => {
  const cp = bootstrapOf(CONTROL_PLANE_NAME);
  const cpInbound = cp.static_resources.listeners.find((l) => l.name === 'inbound')!;
  const cpListen = (compose.services[`${CONTROL_PLANE_NAME}-app`].command ?? [])[(compose.services[`${CONTROL_PLANE_NAME}-app`].command ?? []).indexOf('--listen') + 1];

  it("admits exactly the workflow's SPIFFE ids and tells the control plane who calls (XFCC, URI only)", () => {
    const matchers = sans(cpInbound);
    expect(matchers.every((m) => m.san_type === 'URI' && Object.keys(m.matcher).join() === 'exact')).toBe(true);
    expect(matchers.map((m) => m.matcher.exact).sort()).toEqual(wf.agents.map((agent) => spiffeId(wf, agent.name)).sort());
    expect(findAll(cpInbound, 'require_client_certificate')).toEqual([true]);
    for (const hcm of hcms(cpInbound)) {
      expect(hcm.forward_client_cert_details).toBe('SANITIZE_SET');
      expect(hcm.set_current_client_cert_details).toEqual({ uri: true });
    }
    const targets = clustersOf(cp, cpInbound).flatMap(endpoints);
    expect(targets.map((t) => `${t.address}:${t.port_value}`)).toEqual([cpListen]);
  });

  it('agent Envoys never pass a client-supplied XFCC header on', () => {
    for (const agent of wf.agents) for (const hcm of hcms(envoyOf(agent.name))) expect(hcm.forward_client_cert_details, agent.name).toBe('SANITIZE');
  });

  it.each(wf.agents.map((agent) => agent.name))("%s: 127.0.0.1:CONTROL_PLANE_EGRESS_PORT leads over mTLS to the control plane's pod, whose certificate must carry the control plane's id", async (agent) => {
    const config = bootstrapOf(agent);
    const egress = config.static_resources.listeners.find((l) => l.address.socket_address.port_value === CONTROL_PLANE_EGRESS_PORT)!;
    expect(egress.address.socket_address.address).toBe('127.0.0.1');
    const [cluster] = clustersOf(config, egress);
    expect(endpoints(cluster)).toEqual([{ address: CONTROL_PLANE_NAME, port_value: cpInbound.address.socket_address.port_value }]);
    const matchers = sans(cluster.transport_socket);
    expect(matchers.length).toBe(1);
    // The id the control plane's Envoy presents is the one `reelmesh certs` issues it.
    expect(`URI:${matchers[0].matcher.exact}`).toBe(await controlPlaneCertificateSan());
  });
});

let issuedSan: Promise<string> | undefined;
/** The SAN of the control plane's certificate as `reelmesh certs` issues it (once per run). */
function controlPlaneCertificateSan(): Promise<string> {
  issuedSan ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reelmesh-envoy-certs-'));
    temps.push(dir);
    await issueComposeCerts(wf, { outDir: dir, policyDir: `${REPO_ROOT}policies/reelmesh`, renew: false });
    return new X509Certificate(readFileSync(join(dir, CERTS_LAYOUT.envoyDir(CONTROL_PLANE_NAME), 'current/cert.pem'))).subjectAltName!;
  })();
  return issuedSan;
}
