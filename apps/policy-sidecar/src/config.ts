// The policy sidecar's command line and environment, checked before anything starts: a bad flag
// is one CONFIG_INVALID error line, never a sidecar that half-started.
import { parseArgs } from 'node:util';
import { ConfigError, parseListenAddress } from '@reelmesh/http-kit';
import { parseCheckListenAddress } from '@reelmesh/policy';

/** OPA's own address, for people running the sidecar by hand; the runtime passes port 0 or a socket. */
export const DEFAULT_LISTEN = '127.0.0.1:8181';

export interface PolicySidecarConfig {
  /** "host:port" (port 0: any free one) or "unix:/abs/path.sock". */
  listen: string;
  /** The check socket too (the pod's proxy asks there): "unix:/abs/path.sock" or a loopback "host:port". */
  checkListen?: string;
  /** A policy data document (default: the committed policies/reelmesh/data.json). */
  data?: string;
  /** Start with no policy (deny everything, /health 503) until the control plane pushes one. */
  waitForPush: boolean;
  /** Decision log file (JSON lines, appended); without it decisions are logged on stdout. */
  decisionLog?: string;
  /** Signed-policy mode: the owner's bundle public key (PEM), the key id bundles must name, a bundle to load at start. */
  bundleKey?: string;
  bundleKeyId?: string;
  bundle?: string;
  /** The owner's audit ledger (`<ledger>/v1/audit/logs`) and the pod's token for it. */
  auditUrl?: string;
  auditToken?: string;
  /** POLICY_UPDATE_TOKEN: the bearer token PUT /v1/data and /v1/bundle require; without it, pushes are off. */
  updateToken?: string;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): PolicySidecarConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string', default: DEFAULT_LISTEN },
        'check-listen': { type: 'string' },
        data: { type: 'string' },
        workflow: { type: 'string' },
        'wait-for-push': { type: 'boolean', default: false },
        'decision-log': { type: 'string' },
        bundle: { type: 'string' },
        'bundle-key': { type: 'string' },
        'bundle-key-id': { type: 'string' },
        'audit-url': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  try {
    parseListenAddress(values.listen);
  } catch (error) {
    throw new ConfigError(`--listen: ${(error as Error).message}`);
  }
  if (values['check-listen'] !== undefined) {
    try {
      parseCheckListenAddress(values['check-listen']);
    } catch (error) {
      throw new ConfigError(`--check-listen: ${(error as Error).message}`);
    }
  }
  const config: PolicySidecarConfig = {
    listen: values.listen,
    checkListen: values['check-listen'],
    data: values.data,
    waitForPush: values['wait-for-push'],
    decisionLog: values['decision-log'],
    bundleKey: values['bundle-key'],
    bundleKeyId: values['bundle-key-id'],
    bundle: values.bundle,
    auditUrl: values['audit-url'],
    // An empty variable counts as unset: an empty token must never open the update endpoints.
    auditToken: env.REELMESH_AUDIT_TOKEN || undefined,
    updateToken: env.POLICY_UPDATE_TOKEN || undefined,
  };
  // The sidecar takes policy data only: the workflow parser stays out of its bundle (about 15% of its
  // start-up CPU). `reelmesh gen --policy-data` derives the data from a workflow file.
  if (values.workflow !== undefined) {
    throw new ConfigError('--workflow is not taken: derive the policy data with `reelmesh gen --policy-data <workflow.yaml> > data.json` and pass --data data.json');
  }
  const unsignedSource = Boolean(config.data);
  if (config.waitForPush && unsignedSource) throw new ConfigError('--wait-for-push takes no --data');
  if (config.waitForPush && !config.updateToken) throw new ConfigError('--wait-for-push needs POLICY_UPDATE_TOKEN');
  if (config.bundleKey !== undefined && unsignedSource) throw new ConfigError('--bundle-key loads signed bundles only: drop --data');
  if (config.bundle && config.bundleKey === undefined) throw new ConfigError('--bundle needs --bundle-key to verify it');
  if (config.auditUrl && !config.auditToken) throw new ConfigError('--audit-url needs REELMESH_AUDIT_TOKEN');
  return config;
}
