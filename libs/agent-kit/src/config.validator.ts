// The agent configuration's JSON Schema and its validator (a *.validator.ts file: the bundles hold
// it precompiled, libs/deploy/src/bundle.ts).
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { NAME_PATTERN } from '@reelmesh/addressing';
import type { AgentConfig } from './config';

export const schema = {
  type: 'object',
  required: ['agent', 'dataDir', 'listen', 'peers', 'concurrency', 'logLevel', 'maxChunkBytes'],
  additionalProperties: false,
  properties: {
    agent: { type: 'string', pattern: NAME_PATTERN },
    workflowPath: { type: 'string', minLength: 1 },
    dataDir: { type: 'string', minLength: 1 },
    listen: { type: 'string', minLength: 1 },
    peers: { type: 'object', additionalProperties: { type: 'string', pattern: '^(https?://|unix:/)' } },
    outboundProxy: { type: 'string', pattern: '^(http://|unix:/)' },
    // A header value, long enough not to be guessed (the runtime's: 32 random bytes, base64url).
    podToken: { type: 'string', pattern: '^[!-~]{32,}$' },
    concurrency: { type: 'integer', minimum: 1, maximum: 64 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    exportDir: { type: 'string', minLength: 1 },
    ingestDir: { type: 'string', minLength: 1 },
    lutPath: { type: 'string', minLength: 1 },
    maxChunkBytes: { type: 'integer', minimum: 1 },
    outageDeadlineMs: { type: 'integer', minimum: 0 },
    redispatchAfterMs: { type: 'integer', minimum: 0 },
    kms: {
      type: 'object',
      // Access keys are optional (together): without them the AWS SDK's default credential chain
      // is used (IRSA on EKS, an instance role, AWS_* variables).
      required: ['region', 'keyId', 'allowedKeyIds'],
      dependencies: { accessKeyId: ['secretAccessKey'], secretAccessKey: ['accessKeyId'] },
      additionalProperties: false,
      properties: {
        endpoint: { type: 'string', pattern: '^https?://' },
        region: { type: 'string', minLength: 1 },
        accessKeyId: { type: 'string', minLength: 1 },
        secretAccessKey: { type: 'string', minLength: 1 },
        keyId: { type: 'string', minLength: 1 },
        allowedKeyIds: { type: 'array', items: { type: 'string', minLength: 1 } },
        assetKeyId: { type: 'string', minLength: 1 },
      },
    },
  },
} as const;

export const ajvOptions: Options = { allErrors: true };

let compiled: ValidateFunction<AgentConfig> | undefined;

export function validator(): ValidateFunction<AgentConfig> {
  return (compiled ??= new Ajv(ajvOptions).compile<AgentConfig>(schema));
}
