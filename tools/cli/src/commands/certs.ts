import type { Command } from 'commander';
import { isAbsolute, join } from 'node:path';
import { COMPOSE_CERTS_DIR, issueComposeCerts } from '@reelmesh/deploy';
import { REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';

/** `reelmesh certs`: issue the Compose mesh's SVIDs (project CA), local-KMS credentials, and the
 * owner's signed policy bundle for the OPA sidecars. */
export function registerCerts(program: Command): void {
  program
    .command('certs')
    .description("issue per-agent mesh certificates, KMS credentials and the owner's signed policy bundle (docker compose, kind)")
    .option('--out <dir>', 'output folder (keys are written 0600)', COMPOSE_CERTS_DIR)
    .option('--ttl-hours <hours>', 'certificate lifetime in hours', '24')
    .option('--workflow <file>', 'workflow file', 'policies/workflow.yaml')
    .action(async (opts: { out: string; ttlHours: string; workflow: string }) => {
      const ttlHours = Number(opts.ttlHours);
      if (!Number.isFinite(ttlHours)) throw new Error(`--ttl-hours must be a number, got ${JSON.stringify(opts.ttlHours)}`);
      const resolveFromRoot = (path: string) => (isAbsolute(path) ? path : join(REPO_ROOT, path));
      const workflow = loadWorkflow(resolveFromRoot(opts.workflow));
      const issued = await issueComposeCerts(workflow, { outDir: resolveFromRoot(opts.out), ttlHours, policyDir: join(REPO_ROOT, 'policies/reelmesh') });
      for (const file of issued.files) process.stdout.write(`${join(issued.outDir, file)}\n`);
    });
}
