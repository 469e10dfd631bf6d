// A replaced pod or a killed container resumes its agent's work (docs/deploy.md, "When a pod is
// replaced"), checked on the committed generated files for every agent of the workflow: probes that
// tell ready (/ready) from alive (/health), the sealed volume on a claim that outlives the pod, one
// pod per claim, a grace period that covers the longest job; in Compose the same with healthchecks
// and restart policies.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PersistentVolumeClaim } from 'kubernetes-models/v1';
import {
  APP_DRAIN_SECONDS,
  APP_PORT,
  DATA_DIR,
  JOB_BOUND_CHUNK_SECONDS,
  LONGEST_JOB_SECONDS,
  TERMINATION_GRACE_SECONDS,
} from './settings';
import { parseYamlDocs, REPO_ROOT, workflow, type K8sObject } from './test-support';

const wf = workflow();
const read = (path: string) => readFileSync(`${REPO_ROOT}${path}`, 'utf8');

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}
interface Container {
  name: string;
  ports?: Array<{ name: string; containerPort: number }>;
  restartPolicy?: string;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface AgentDeployment {
  spec: {
    replicas: number;
    strategy: { type: string };
    template: {
      metadata: { annotations: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        initContainers?: Container[];
        containers: Container[];
        volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: object }>;
      };
    };
  };
}

/** The port a probe names, as a number: a named port is looked up in the container. */
function probePort(container: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}

describe.each(wf.agents.map((agent) => [agent.name, agent.actor]))('the %s Deployment', (name, actor) => {
  const objects: K8sObject[] = parseYamlDocs(read(`k8s/base/${actor}/${name}.yaml`));
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as unknown as K8sObject & AgentDeployment;
  const pod = deployment.spec.template.spec;
  const app = pod.containers.find((c) => c.ports?.some((p) => p.containerPort === APP_PORT))!;

  it('is a valid Deployment with one app container on the app port', () => {
    expect(() => new Deployment(deployment as never).validate()).not.toThrow();
    expect(pod.containers).toHaveLength(1);
    expect(app).toBeDefined();
  });

  it('sends traffic only once the app has resumed (/ready) and restarts it only when wedged (/health), on the app port', () => {
    expect(app.readinessProbe?.httpGet?.path).toBe('/ready');
    expect(app.livenessProbe?.httpGet?.path).toBe('/health');
    expect(probePort(app, app.readinessProbe)).toBe(APP_PORT);
    expect(probePort(app, app.livenessProbe)).toBe(APP_PORT);
    // A slow start is not a wedge: liveness applies only after the startup probe passed.
    expect(app.startupProbe?.httpGet?.path).toBe('/health');
    expect(probePort(app, app.startupProbe)).toBe(APP_PORT);
    const { periodSeconds = 10, failureThreshold = 3 } = app.livenessProbe!;
    expect(periodSeconds * failureThreshold, 'a wedge is declared after tens of seconds, not one missed probe').toBeGreaterThanOrEqual(30);
  });

  it('keeps its sealed volume on a ReadWriteOnce claim of its own, mounted at the data dir', () => {
    const mount = app.volumeMounts?.find((m) => m.mountPath === DATA_DIR);
    expect(mount, 'data dir mounted').toBeDefined();
    const volume = pod.volumes.find((v) => v.name === mount!.name)!;
    expect(volume.emptyDir).toBeUndefined();
    const claimName = volume.persistentVolumeClaim?.claimName;
    expect(claimName).toBeDefined();
    const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claimName)!;
    expect(claim, `PVC ${claimName} in the same file`).toBeDefined();
    expect(() => new PersistentVolumeClaim(claim as never).validate()).not.toThrow();
    expect((claim.spec as { accessModes: string[] }).accessModes).toEqual(['ReadWriteOnce']);
  });

  it('never runs two pods on the claim: one replica, strategy Recreate', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('gives an in-flight job its time: grace >= the app drain (>= the longest job) plus time to exit', () => {
    expect(pod.terminationGracePeriodSeconds).toBe(TERMINATION_GRACE_SECONDS);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(LONGEST_JOB_SECONDS);
    expect(APP_DRAIN_SECONDS).toBeGreaterThanOrEqual(LONGEST_JOB_SECONDS);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(APP_DRAIN_SECONDS);
  });

  it('keeps its sidecars up until the app has drained: istio-proxy and OPA are native sidecars with probes', () => {
    expect(deployment.spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar']).toBe('true');
    const opa = (pod.initContainers ?? []).find((c) => c.name === 'opa-envoy')!;
    expect(opa.restartPolicy).toBe('Always');
    expect(opa.startupProbe?.httpGet?.path).toBe('/health?plugins');
    expect(opa.readinessProbe?.httpGet?.path).toBe('/health?plugins');
    expect(opa.livenessProbe?.httpGet?.path).toBe('/health');
  });
});

describe('the job bound', () => {
  it("was sized for chunks at least as long as the workflow's", () => {
    expect(wf.media.chunkSeconds).toBeLessThanOrEqual(JOB_BOUND_CHUNK_SECONDS);
  });

  it('the mesh install makes istio-proxy a native sidecar everywhere', () => {
    const [operator] = parseYamlDocs(read('istio/install/istio-operator-reelmesh.yaml'));
    expect((operator.spec as { values: { pilot: { env: Record<string, string> } } }).values.pilot.env.ENABLE_NATIVE_SIDECARS).toBe('true');
  });

  it('docs/deploy.md states the values in force', () => {
    const docs = read('docs/deploy.md');
    const section = docs.slice(docs.indexOf('## When a pod is replaced'));
    expect(section).toMatch(/^## When a pod is replaced/);
    for (const seconds of [LONGEST_JOB_SECONDS, APP_DRAIN_SECONDS, TERMINATION_GRACE_SECONDS]) expect(section).toContain(`${seconds} s`);
  });
});

interface ComposeService {
  image: string;
  network_mode?: string;
  restart?: string;
  stop_grace_period?: string;
  healthcheck?: { test: string[]; start_period?: string };
  depends_on?: string[] | Record<string, { condition: string }>;
}

describe('docker-compose.yml', () => {
  const compose = parseYamlDocs(read('docker-compose.yml'))[0] as unknown as { services: Record<string, ComposeService> };

  it('restarts every container that dies (but one-shot jobs others wait to complete)', () => {
    const oneShot = new Set(
      Object.values(compose.services).flatMap((service) =>
        Array.isArray(service.depends_on) || !service.depends_on
          ? []
          : Object.entries(service.depends_on).filter(([, dep]) => dep.condition === 'service_completed_successfully').map(([dep]) => dep),
      ),
    );
    for (const [name, service] of Object.entries(compose.services)) {
      if (oneShot.has(name)) expect(service.restart ?? 'no', name).toBe('no');
      else expect(service.restart, name).toMatch(/^(unless-stopped|always|on-failure)$/);
    }
  });

  it.each(wf.agents.map((agent) => agent.name))('%s-app: healthy once resumed (/ready), drains for the Kubernetes grace, starts after its proxy and the KMS', (name) => {
    const app = compose.services[`${name}-app`];
    expect(app.healthcheck?.test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(app.healthcheck?.test[3]).toContain(`http://127.0.0.1:${APP_PORT}/ready`);
    expect(app.stop_grace_period).toBe(`${TERMINATION_GRACE_SECONDS}s`);
    expect(app.depends_on).toMatchObject({ [`${name}-envoy`]: { condition: 'service_healthy' }, 'kms-local': { condition: 'service_healthy' } });
    // The pod sandbox holds the network namespace, so a restarted app, Envoy or OPA rejoins it.
    expect(app.network_mode).toBe(`service:${name}`);
    expect(compose.services[name].image).toMatch(/^registry\.k8s\.io\/pause:/);
  });

  it('every service another waits on to be healthy has a healthcheck', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const deps = Array.isArray(service.depends_on) || !service.depends_on ? {} : service.depends_on;
      for (const [dep, { condition }] of Object.entries(deps)) {
        if (condition === 'service_healthy') expect(compose.services[dep].healthcheck, `${name} -> ${dep}`).toBeDefined();
      }
    }
  });
});
