// The committed Istio ALLOW policies, Sidecar egress lists, OPA data and Compose Envoy routes each
// match the workflow's edges exactly: no extra principal, none missing. Expectations are computed
// here from the raw edges, not with the generators' own helpers.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { signPolicyDirectory, verifyBundle } from '@reelmesh/provenance';
import { ownerOf } from '@reelmesh/workflow';
import { parseYamlDocs, REPO_ROOT, workflow, type K8sObject } from './test-support';

const wf = workflow();
const td = wf.metadata.trustDomain;
const agentOfStep = new Map(wf.steps.map((step) => [step.name, step.agent]));
const actorOf = new Map(wf.agents.map((agent) => [agent.name, agent.actor]));
const crossEdges = wf.edges
  .map((edge) => ({ from: agentOfStep.get(edge.from)!, to: agentOfStep.get(edge.to)!, step: edge.to, artifact: edge.artifact }))
  .filter((edge) => edge.from !== edge.to);
const principal = (agent: string) => `${td}/ns/${actorOf.get(agent)}/sa/${agent}`;
const owner = ownerOf(wf).actor;
const spiffe = (agent: string) => `spiffe://${principal(agent)}`;
const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

function readDocs(path: string): K8sObject[] {
  return parseYamlDocs(readFileSync(`${REPO_ROOT}${path}`, 'utf8'));
}

describe('Istio ALLOW policies', () => {
  it.each(wf.agents.map((agent) => agent.name))('%s allows exactly its callers, on exactly their handoff paths', (name) => {
    const [policy] = readDocs(`istio/${actorOf.get(name)}/authorization-policy-${name}-allow.yaml`);
    const spec = policy.spec as { action: string; selector: { matchLabels: { app: string } }; rules: Rule[] };
    expect(policy.metadata.namespace).toBe(actorOf.get(name));
    expect(spec.action).toBe('ALLOW');
    expect(spec.selector.matchLabels.app).toBe(name);
    const actual = spec.rules.flatMap((rule) =>
      rule.from.flatMap((from) => from.source.principals.flatMap((p) => rule.to.flatMap((to) => to.operation.paths.map((path) => `${p} ${to.operation.methods.join(',')} ${path}`)))),
    );
    const expected = crossEdges
      .filter((edge) => edge.to === name)
      .map((edge) => `${principal(edge.from)} POST /v1/handoffs/${wf.metadata.id}/${edge.step}/${edge.artifact}/*`);
    expect(sorted(actual)).toEqual(sorted(expected));
    expect(actual).toHaveLength(expected.length);
  });

  it('every agent also sends everything but its probes (/health, /ready) to the in-pod OPA', () => {
    for (const agent of wf.agents) {
      const [policy] = readDocs(`istio/${agent.actor}/authorization-policy-${agent.name}-ext-authz.yaml`);
      expect(policy.spec).toMatchObject({
        action: 'CUSTOM',
        provider: { name: 'reelmesh-opa' },
        selector: { matchLabels: { app: agent.name } },
        rules: [{ to: [{ operation: { notPaths: ['/health', '/ready'] } }] }],
      });
    }
  });

  it("the mesh is STRICT mTLS and the KMS admits exactly the workflow agents and the owner's control plane (its ledger)", () => {
    const [peer] = readDocs('istio/mesh/peer-authentication-mesh-strict.yaml');
    expect(peer.metadata.namespace).toBe('istio-system');
    expect(peer.spec).toEqual({ mtls: { mode: 'STRICT' } });
    const [kms] = readDocs('istio/kms/authorization-policy-kms-local-allow.yaml');
    const principals = (kms.spec as { rules: Rule[] }).rules.flatMap((rule) => rule.from.flatMap((from) => from.source.principals));
    expect(sorted(principals)).toEqual(sorted([...wf.agents.map((agent) => principal(agent.name)), `${td}/ns/${owner}/sa/control-plane`]));
  });

  it("the owner's control plane admits exactly the workflow's agents (apps and their OPA sidecars share the pod identity)", () => {
    const [policy] = readDocs(`istio/${owner}/authorization-policy-control-plane-allow.yaml`);
    const spec = policy.spec as { action: string; selector: { matchLabels: { app: string } }; rules: Array<{ from: Rule['from']; to?: unknown }> };
    expect(policy.metadata.namespace).toBe(owner);
    expect(spec.action).toBe('ALLOW');
    expect(spec.selector.matchLabels.app).toBe('control-plane');
    const principals = spec.rules.flatMap((rule) => rule.from.flatMap((from) => from.source.principals));
    expect(sorted(principals)).toEqual(sorted(wf.agents.map((agent) => principal(agent.name))));
    expect(principals).toHaveLength(wf.agents.length);
    // The namespace's allow-nothing stays beside it: nothing else reaches the control plane.
    const [allowNothing] = readDocs(`istio/${owner}/authorization-policy-${owner}-allow-nothing.yaml`);
    expect(allowNothing.spec).toEqual({});
  });
});

interface Rule {
  from: Array<{ source: { principals: string[] } }>;
  to: Array<{ operation: { methods: string[]; paths: string[] } }>;
}

describe('Sidecar egress', () => {
  it.each(wf.agents.map((agent) => agent.name))("%s may reach exactly its next hops, the owner's control plane, the KMS and istiod", (name) => {
    const [sidecar] = readDocs(`istio/${actorOf.get(name)}/sidecar-${name}-egress.yaml`);
    const spec = sidecar.spec as { workloadSelector: { labels: { app: string } }; outboundTrafficPolicy: { mode: string }; egress: Array<{ hosts: string[] }> };
    expect(spec.workloadSelector.labels.app).toBe(name);
    expect(spec.outboundTrafficPolicy.mode).toBe('REGISTRY_ONLY');
    const hops = crossEdges.filter((edge) => edge.from === name).map((edge) => `${actorOf.get(edge.to)}/${edge.to}.${actorOf.get(edge.to)}.svc.cluster.local`);
    expect(spec.egress.flatMap((e) => e.hosts).sort()).toEqual(sorted([...hops, `${owner}/control-plane.${owner}.svc.cluster.local`, 'reelmesh-kms/*', 'istio-system/*']));
  });

  it("the owner's control plane may reach only the KMS (its ledger seals) and istiod", () => {
    const [sidecar] = readDocs(`istio/${owner}/sidecar-control-plane-egress.yaml`);
    expect(sidecar.spec).toEqual({
      workloadSelector: { labels: { app: 'control-plane' } },
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      egress: [{ hosts: ['reelmesh-kms/*', 'istio-system/*'] }],
    });
  });

  it('each namespace defaults to registry-only with no egress but the control plane', () => {
    for (const actor of wf.actors) {
      const [sidecar] = readDocs(`istio/${actor.name}/sidecar-${actor.name}-default.yaml`);
      expect(sidecar.spec).toEqual({ outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' }, egress: [{ hosts: ['istio-system/*'] }] });
    }
  });
});

describe('OPA data in the cluster and the access matrix', () => {
  const expectedEdges = sorted(crossEdges.map((edge) => `${spiffe(edge.to)} <- ${spiffe(edge.from)} ${edge.step}/${edge.artifact}`));

  it("the owner's signed bundle (what every OPA sidecar loads) holds exactly the workflow edges", () => {
    // Built and verified the way `reelmesh certs` / deploy.sh publish it.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { archive } = signPolicyDirectory({
      policyDir: `${REPO_ROOT}policies/reelmesh`, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), keyId: 'owner', revision: 1,
    });
    const data = verifyBundle(archive, publicKey, { keyId: 'owner' }).data.reelmesh as {
      workflow: { id: string };
      principals: Record<string, string>;
      edges: Record<string, Record<string, Record<string, Record<string, true>>>>;
    };
    expect(data.workflow.id).toBe(wf.metadata.id);
    expect(sorted(Object.keys(data.principals))).toEqual(sorted(wf.agents.map((agent) => spiffe(agent.name))));
    const actual = Object.entries(data.edges).flatMap(([destination, sources]) =>
      Object.entries(sources).flatMap(([source, steps]) =>
        Object.entries(steps).flatMap(([step, artifacts]) => Object.keys(artifacts).map((artifact) => `${destination} <- ${source} ${step}/${artifact}`)),
      ),
    );
    expect(sorted(actual)).toEqual(expectedEdges);
  });

  it('policies/generated/access-matrix.json lists exactly the cross-agent edges', () => {
    const matrix = JSON.parse(readFileSync(`${REPO_ROOT}policies/generated/access-matrix.json`, 'utf8')) as {
      rules: Array<{ source: string; destination: string; method: string; step: string; artifact: string }>;
    };
    expect(matrix.rules.map((r) => `${spiffe(r.destination)} <- ${spiffe(r.source)} ${r.step}/${r.artifact}`).sort()).toEqual(expectedEdges);
    expect(new Set(matrix.rules.map((r) => r.method))).toEqual(new Set(['POST']));
  });
});

describe('Compose Envoy configs', () => {
  it('route outbound only to the next hops, each pinned to its SPIFFE id; inbound fails closed', () => {
    const files = readdirSync(`${REPO_ROOT}docker/envoy`).filter((file) => file.endsWith('.yaml'));
    // One per agent pod, and the owner's control plane's.
    expect(sorted(files)).toEqual(sorted([...wf.agents.map((agent) => `${agent.name}.yaml`), 'control-plane.yaml']));
    for (const agent of wf.agents) {
      const [config] = readDocs(`docker/envoy/${agent.name}.yaml`) as unknown as EnvoyBootstrap[];
      const clusters = config.static_resources.clusters.filter((c) => c.name.startsWith('out-'));
      // The next hops, and the owner's control plane (signing SVIDs, audit, decision logs).
      const expected = sorted([...crossEdges.filter((edge) => edge.from === agent.name).map((edge) => edge.to), 'control-plane']);
      expect(sorted(clusters.map((c) => c.name.slice(4)))).toEqual(expected);
      for (const cluster of clusters) {
        // A static validation context, or the default one combined with the SDS trust bundle.
        const ctx = cluster.transport_socket!.typed_config.common_tls_context;
        const san = (ctx.validation_context ?? ctx.combined_validation_context?.default_validation_context)?.match_typed_subject_alt_names;
        const to = cluster.name.slice(4);
        const id = to === 'control-plane' ? `spiffe://${td}/ns/${owner}/sa/control-plane` : spiffe(to);
        expect(san).toEqual([{ san_type: 'URI', matcher: { exact: id } }]);
      }
      const text = readFileSync(`${REPO_ROOT}docker/envoy/${agent.name}.yaml`, 'utf8');
      expect(text).toContain('failure_mode_allow: false');
      expect(text).toContain('require_client_certificate: true');
    }
  });
});

interface EnvoyBootstrap {
  static_resources: {
    clusters: Array<{
      name: string;
      transport_socket?: {
        typed_config: {
          common_tls_context: {
            validation_context?: { match_typed_subject_alt_names: unknown };
            combined_validation_context?: { default_validation_context: { match_typed_subject_alt_names: unknown } };
          };
        };
      };
    }>;
  };
}
