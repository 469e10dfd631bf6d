import type { ErrorObject } from 'ajv';
import type { HandoffAddress } from '@reelmesh/addressing';
import { HttpError } from '@reelmesh/http-kit';
import { validator } from './manifest.validator';

/** What a stream inside a chunk is (informational; the receiver probes the media itself). */
export interface StreamInfo {
  type: 'video' | 'audio' | 'subtitle' | 'data';
  codec: string;
  index?: number;
  width?: number;
  height?: number;
  frameRate?: number;
  pixelFormat?: string;
  sampleRate?: number;
  channels?: number;
}

export interface MediaInfo {
  /** Container of the chunk bytes, e.g. `matroska`. */
  container: string;
  durationSeconds?: number;
  startSeconds?: number;
  streams?: StreamInfo[];
}

/**
 * The manifest part of a handoff: which slot the bytes fill (the handoff address: workflow, the
 * RECEIVING step, which of its inputs, chunk index), what they must hash to, who made them.
 */
export interface HandoffManifest extends HandoffAddress {
  version: 1;
  chunkCount: number;
  /** sha256 (lower-case hex) of the chunk bytes. */
  sha256: string;
  byteLength: number;
  media: MediaInfo;
  producer: { agent: string; step: string };
  /** Reserved for signed provenance (not interpreted yet). */
  provenance?: Record<string, unknown>;
}

/** Workflow ids, steps, artifacts and agents follow the one name rule (@reelmesh/addressing). */


/** Say which field is wrong, e.g. `manifest.sha256 must match pattern "^[0-9a-f]{64}$"`. */
function describe(error: ErrorObject): string {
  const path = ['manifest', ...error.instancePath.split('/').filter(Boolean)].join('.');
  if (error.keyword === 'required') return `${path}.${(error.params as { missingProperty: string }).missingProperty} is required`;
  if (error.keyword === 'additionalProperties') {
    return `${path}.${(error.params as { additionalProperty: string }).additionalProperty} is not allowed`;
  }
  return `${path} ${error.message ?? 'is invalid'}`;
}

/** Validate a parsed manifest; throws HttpError 400 MANIFEST_INVALID naming the field. */
export function validateManifest(value: unknown): HandoffManifest {
  const validate = validator();
  if (!validate(value)) throw new HttpError(400, 'MANIFEST_INVALID', describe(validate.errors![0]));
  if (value.chunkIndex >= value.chunkCount) {
    throw new HttpError(400, 'MANIFEST_INVALID', `manifest.chunkIndex (${value.chunkIndex}) must be < manifest.chunkCount (${value.chunkCount})`);
  }
  return value;
}

/** Parse the manifest part's text; throws MANIFEST_NOT_JSON / MANIFEST_INVALID. */
export function parseManifest(text: string): HandoffManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'MANIFEST_NOT_JSON', 'the manifest part is not valid JSON');
  }
  return validateManifest(value);
}

export type ManifestInput = Omit<HandoffManifest, 'version'> & { version?: 1 };

/** Build a version-1 manifest and validate it, so a sender fails before it opens a socket. */
export function buildManifest(input: ManifestInput): HandoffManifest {
  return validateManifest({ ...input, version: 1 });
}
