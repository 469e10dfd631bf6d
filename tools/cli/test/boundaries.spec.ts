import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';

/** Lint a made-up file at `path` (never written) and return the module-boundary messages. */
async function boundaryErrors(path: string, source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const [result] = await eslint.lintText(source, { filePath: join(REPO_ROOT, path) });
  return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('Nx module boundaries are enforced by the lint rule', () => {
  beforeAll(() => {
    // The rule reads Nx's project graph; make sure it is computed.
    execFileSync(join(REPO_ROOT, 'node_modules/.bin/nx'), ['show', 'projects'], { cwd: REPO_ROOT, env: { ...process.env, NX_DAEMON: 'false' } });
  }, 60_000);

  it('an app may not import the platform (runtime, mesh, local KMS)', async () => {
    const runtime = await boundaryErrors('apps/hdr/src/probe.ts', "import { startLocalRuntime } from '@reelmesh/runtime';\nexport const x = startLocalRuntime;\n");
    expect(runtime.join('\n')).toMatch(/type:app.*can only depend on libs tagged with "type:lib", "type:util"/);
    const mesh = await boundaryErrors('apps/hdr/src/probe.ts', "import { startProxy } from '@reelmesh/mesh';\nexport const x = startProxy;\n");
    expect(mesh.join('\n')).toMatch(/scope:hdr.*can only depend on libs tagged with "scope:shared"/);
  });

  it("one contractor's app may not import another's", async () => {
    const errors = await boundaryErrors('apps/hdr/src/probe.ts', "import { createApp } from '@reelmesh/app-color';\nexport const x = createApp;\n");
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a library may not import an app', async () => {
    const errors = await boundaryErrors('libs/policy/src/probe.ts', "import { createApp } from '@reelmesh/app-owner';\nexport const x = createApp;\n");
    expect(errors.join("\n")).toMatch(/Imports of apps are forbidden/);
  });

  it("only the runtime imports a platform service's program entry", async () => {
    const entry = "import { PROXY_SIDECAR } from '@reelmesh/app-proxy-sidecar';\nexport const x = PROXY_SIDECAR;\n";
    expect(await boundaryErrors('libs/runtime/src/probe.ts', entry)).toEqual([]);
    const eslint = new ESLint({ cwd: REPO_ROOT });
    const [fromMedia] = await eslint.lintText(entry, { filePath: join(REPO_ROOT, 'libs/media/src/probe.ts') });
    expect(fromMedia.messages.map((m) => m.message)).toContain("'@reelmesh/app-proxy-sidecar' import is restricted from being used. only the runtime (and the tools) start the platform services");
    // An agent app is not a platform service: the runtime finds it through the workflow, never imports it.
    const agent = await boundaryErrors('libs/runtime/src/probe.ts', "import { createApp } from '@reelmesh/app-color';\nexport const x = createApp;\n");
    expect(agent.join('\n')).toMatch(/Imports of apps are forbidden|can only depend on/);
  });

  it("the per-actor scopes are the workflow's actors: each may depend on shared code only, and the tooling on all of them", async () => {
    const config = await new ESLint({ cwd: REPO_ROOT }).calculateConfigForFile(join(REPO_ROOT, 'apps/probe/src/probe.ts'));
    const constraints = config.rules['@nx/enforce-module-boundaries'][1].depConstraints as Array<{ sourceTag: string; onlyDependOnLibsWithTags: string[] }>;
    const actorScopes = loadWorkflow().actors.map((actor) => `scope:${actor.name}`);
    const scoped = constraints.filter((c) => c.sourceTag.startsWith('scope:') && !['scope:shared', 'scope:platform', 'scope:tooling'].includes(c.sourceTag));
    expect(scoped).toEqual(actorScopes.map((sourceTag) => ({ sourceTag, onlyDependOnLibsWithTags: ['scope:shared'] })));
    expect(constraints.find((c) => c.sourceTag === 'scope:tooling')!.onlyDependOnLibsWithTags.sort()).toEqual(['scope:shared', 'scope:platform', ...actorScopes, 'scope:tooling'].sort());
  });

  it('relative imports across projects are refused', async () => {
    const errors = await boundaryErrors('apps/hdr/src/probe.ts', "import { grade } from '../../../libs/media/src/grade';\nexport const x = grade;\n");
    expect(errors.join('\n')).toMatch(/cannot be imported by a relative or absolute path/);
  });

  it('allowed imports pass', async () => {
    expect(await boundaryErrors('apps/hdr/src/probe.ts', "import { hdr10 } from '@reelmesh/media';\nexport const x = hdr10;\n")).toEqual([]);
  });

  it("Nx's project graph knows the runtime starts the platform services (from imports, not path strings)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'rm-graph-'));
    try {
      execFileSync(join(REPO_ROOT, 'node_modules/.bin/nx'), ['graph', `--file=${join(dir, 'graph.json')}`], { cwd: REPO_ROOT, env: { ...process.env, NX_DAEMON: 'false' }, stdio: 'ignore' });
      const graph = JSON.parse(readFileSync(join(dir, 'graph.json'), 'utf8')).graph as { nodes: Record<string, { type: string; data: { root: string } }>; dependencies: Record<string, Array<{ target: string }>> };
      const runtimeTargets = graph.dependencies.runtime.map((d) => d.target);
      for (const service of ['app-proxy-sidecar', 'app-policy-sidecar', 'app-control-plane', 'app-kms-local', 'app-port-forwarder']) {
        expect(graph.nodes[service]).toMatchObject({ type: 'app', data: { root: `apps/${service.slice('app-'.length)}` } });
        expect(runtimeTargets).toContain(service);
      }
      // The services hold no logic of their own: they start the platform libraries.
      expect(graph.dependencies['app-proxy-sidecar'].map((d) => d.target)).toContain('mesh');
      expect(graph.dependencies['app-policy-sidecar'].map((d) => d.target)).toContain('policy');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
