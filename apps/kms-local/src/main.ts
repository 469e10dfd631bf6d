// Process entry of the local KMS: `node --import tsx apps/kms-local/src/main.ts --data-dir ...
// --principals-file ...` (flags or REELMESH_KMS_* variables, see libs/kms-local main-config.ts).
// Prints the one ready line on stdout:
//   {"event":"ready","service":"kms-local","pid":...,"endpoints":{"api":"http://127.0.0.1:41234"},
//    "details":{"region":"us-east-1","keys":{"workflowKey":{alias,keyId,arn},"assetKeys":{actor:{...}}}}}
// (`keys` only with a workflow file), or the one error line on stderr and exit 1. Logs go to stderr.
import { runService } from '@reelmesh/http-kit';
import { helpRequested, loadMainConfig, provisionWorkflowKeys, readProvisionOptions, startLocalKms, usage, type ProvisionedKeys } from '@reelmesh/kms-local';
import { pino } from 'pino';

const argv = process.argv.slice(2);
if (helpRequested(argv)) {
  process.stdout.write(usage());
  process.exit(0);
}

runService('kms-local', async () => {
  const config = await loadMainConfig(argv, process.env);
  const logger = pino({ name: 'kms-local', level: config.logLevel }, pino.destination(2));
  // Read the workflow before binding: an invalid file stops the start with nothing listening.
  const provisioning = config.workflowFile
    ? readProvisionOptions(config.workflowFile, { ownerActor: config.ownerActor, platformAgents: config.platformAgents })
    : undefined;
  const kms = await startLocalKms({
    dataDir: config.dataDir,
    listen: { host: config.host, port: config.port },
    principals: config.principals,
    masterKeyFile: config.masterKeyFile,
    region: config.region,
    keyCreators: config.keyCreators,
    logger,
  });

  let keys: ProvisionedKeys | undefined;
  try {
    if (provisioning) keys = await provisionWorkflowKeys(kms.admin, provisioning);
  } catch (error) {
    await kms.stop();
    throw error;
  }
  return {
    endpoints: { api: kms.endpoint },
    details: { region: kms.region, ...(keys ? { keys } : {}) },
    async stop(reason) {
      logger.info({ reason }, 'stopping local kms');
      await kms.stop();
    },
  };
});
