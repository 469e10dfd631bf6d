// Process entry: `tsx libs/kms-local/src/main.ts --data-dir ... --principals-file ...`.
// Prints one JSON line `{"event":"ready",...}` on stdout once listening; logs go to stderr.
import { pino } from 'pino';
import { loadMainConfig } from './main-config';
import { provisionWorkflowKeys, type ProvisionedKeys } from './provision';
import { startLocalKms } from './server';
import { readWorkflowAgents } from './workflow-agents';

async function main(): Promise<void> {
  const config = await loadMainConfig(process.argv.slice(2), process.env);
  const logger = pino({ name: 'kms-local', level: config.logLevel }, pino.destination(2));
  const kms = await startLocalKms({
    dataDir: config.dataDir,
    host: config.host,
    port: config.port,
    principals: config.principals,
    masterKeyFile: config.masterKeyFile,
    region: config.region,
    keyCreators: config.keyCreators,
    logger,
  });

  let keys: ProvisionedKeys | undefined;
  if (config.workflowFile) {
    const agents = [...(await readWorkflowAgents(config.workflowFile)), ...config.platformAgents];
    keys = await provisionWorkflowKeys(kms.admin, { agents, ownerActor: config.ownerActor });
  }

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'stopping local kms');
    kms.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  process.stdout.write(`${JSON.stringify({ event: 'ready', endpoint: kms.endpoint, port: kms.port, region: kms.region, keys })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`kms-local: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
