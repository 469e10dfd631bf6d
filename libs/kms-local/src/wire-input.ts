import { KmsError } from './errors';
import type { EncryptionContext } from './policy';

/** Field readers for an untrusted JSON request; each throws ValidationException naming the field. */
export type WireInput = Record<string, unknown>;

function invalid(message: string): KmsError {
  return new KmsError('ValidationException', message);
}

export function optionalString(input: WireInput, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  return value;
}

export function requiredString(input: WireInput, field: string): string {
  const value = optionalString(input, field);
  if (value === undefined || value === '') throw invalid(`${field} is required`);
  return value;
}

export function optionalInteger(input: WireInput, field: string, min: number, max: number): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function requiredBlob(input: WireInput, field: string, minBytes: number, maxBytes: number): Buffer {
  const value = input[field];
  if (typeof value !== 'string' || !BASE64.test(value)) throw invalid(`${field} must be base64`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < minBytes || bytes.length > maxBytes) {
    throw invalid(`${field} must be ${minBytes} to ${maxBytes} bytes`);
  }
  return bytes;
}

export function encryptionContext(input: WireInput): EncryptionContext {
  const value = input.EncryptionContext;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('EncryptionContext must be a map of strings');
  for (const [k, v] of Object.entries(value)) {
    if (k === '' || typeof v !== 'string') throw invalid('EncryptionContext must map non-empty keys to strings');
  }
  return Object.fromEntries(Object.entries(value)) as EncryptionContext;
}

/** Only the symmetric default algorithm exists here; anything else is a client mistake. */
export function assertSymmetricAlgorithm(input: WireInput): void {
  const algorithm = optionalString(input, 'EncryptionAlgorithm');
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') {
    throw invalid('EncryptionAlgorithm must be SYMMETRIC_DEFAULT');
  }
}
