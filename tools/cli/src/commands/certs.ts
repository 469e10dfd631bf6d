import type { Command } from 'commander';
import { isAbsolute, join } from 'node:path';
import { COMPOSE_CERTS_DIR, DEFAULT_CERT_LIFETIME_HOURS, issueComposeCerts, parseLifetime } from '@reelmesh/deploy';
import { REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';

/** `reelmesh certs`: issue the Compose mesh's SVIDs (project CA), local-KMS credentials, and the
 * owner's signed policy bundle for the OPA sidecars; `--renew` re-issues only the SVIDs. */
export function registerCerts(program: Command): void {
  program
    .command('certs')
    .description("issue per-pod mesh certificates, KMS credentials and the owner's signed policy bundle (docker compose, kind)")
    .option('--out <dir>', 'output folder (keys are written 0600)', COMPOSE_CERTS_DIR)
    .option('--lifetime <duration>', 'certificate lifetime, e.g. 24h or 90m (at most 720h)', `${DEFAULT_CERT_LIFETIME_HOURS}h`)
    .option('--renew', 're-issue only the certificates, from the same CA (running Envoys pick them up); run it before they expire')
    .option('--workflow <file>', 'workflow file', 'policies/workflow.yaml')
    .action(async (opts: { out: string; lifetime: string; renew?: boolean; workflow: string }) => {
      const ttlHours = parseLifetime(opts.lifetime);
      const resolveFromRoot = (path: string) => (isAbsolute(path) ? path : join(REPO_ROOT, path));
      const workflow = loadWorkflow(resolveFromRoot(opts.workflow));
      const issued = await issueComposeCerts(workflow, { outDir: resolveFromRoot(opts.out), ttlHours, renew: opts.renew ?? false, policyDir: join(REPO_ROOT, 'policies/reelmesh') });
      for (const file of issued.files) process.stdout.write(`${join(issued.outDir, file)}\n`);
      process.stderr.write(
        `certificates valid for ${opts.lifetime}, until ${issued.notAfter.toISOString()}: run \`reelmesh certs --renew --out ${opts.out}\` before then (e.g. from cron)\n`,
      );
    });
}
