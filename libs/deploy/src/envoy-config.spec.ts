// Structural checks of the generated Compose Envoy configs (docker/envoy/<agent>.yaml): things a
// schema cannot see but that break the mesh at run time.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseYamlDocs, REPO_ROOT, workflow } from './test-support';

const wf = workflow();
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
  it.each(wf.agents.map((agent) => agent.name))('%s: every TLS context sets a minimum and a maximum version, min <= max', (agent) => {
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
