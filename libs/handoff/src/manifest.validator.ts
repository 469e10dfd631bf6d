// The handoff manifest's JSON Schema and its validator (a *.validator.ts file: the bundles hold it
// precompiled, libs/deploy/src/bundle.ts).
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { NAME_PATTERN } from '@reelmesh/addressing';
import { MAX_CHUNKS } from './chunk-key';
import type { HandoffManifest } from './manifest';

const name = { type: 'string', pattern: NAME_PATTERN };

export const schema = {
  $id: 'https://reelmesh.io/schemas/handoff-manifest-v1.json',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'workflowId', 'step', 'artifact', 'chunkIndex', 'chunkCount', 'sha256', 'byteLength', 'media', 'producer'],
  properties: {
    version: { const: 1 },
    workflowId: name,
    step: name,
    artifact: name,
    chunkIndex: { type: 'integer', minimum: 0, maximum: MAX_CHUNKS - 1 },
    chunkCount: { type: 'integer', minimum: 1, maximum: MAX_CHUNKS },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    byteLength: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    media: {
      type: 'object',
      additionalProperties: false,
      required: ['container'],
      properties: {
        container: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,31}$' },
        durationSeconds: { type: 'number', minimum: 0 },
        startSeconds: { type: 'number', minimum: 0 },
        streams: {
          type: 'array',
          maxItems: 64,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'codec'],
            properties: {
              type: { enum: ['video', 'audio', 'subtitle', 'data'] },
              codec: { type: 'string', minLength: 1, maxLength: 64 },
              index: { type: 'integer', minimum: 0 },
              width: { type: 'integer', minimum: 1 },
              height: { type: 'integer', minimum: 1 },
              frameRate: { type: 'number', exclusiveMinimum: 0 },
              pixelFormat: { type: 'string', maxLength: 64 },
              sampleRate: { type: 'integer', minimum: 1 },
              channels: { type: 'integer', minimum: 1 },
            },
          },
        },
      },
    },
    producer: {
      type: 'object',
      additionalProperties: false,
      required: ['agent', 'step'],
      properties: { agent: name, step: name },
    },
    provenance: { type: 'object' },
  },
} as const;

export const ajvOptions: Options = { allErrors: false, strict: true };

let compiled: ValidateFunction<HandoffManifest> | undefined;

export function validator(): ValidateFunction<HandoffManifest> {
  return (compiled ??= new Ajv(ajvOptions).compile<HandoffManifest>(schema));
}
