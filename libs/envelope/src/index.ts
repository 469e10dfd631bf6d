export { EnvelopeError, isEnvelopeError, type EnvelopeErrorCode } from './envelope-error';
export {
  OBJECT_CONTEXT_KEY,
  assertEncryptionContext,
  canonicalContext,
  kmsContextOf,
  sameContext,
  type EncryptionContext,
} from './encryption-context';
export {
  DEFAULT_FRAME_SIZE,
  FORMAT_VERSION,
  MAX_FRAME_SIZE,
  MAX_HEADER_BYTES,
  MIN_FRAME_SIZE,
  encodeHeader,
  type EnvelopeHeader,
  type ParsedHeader,
} from './header';
export { sealStream, type SealOptions } from './seal-stream';
export { openStream, type OpenOptions } from './open-stream';
export { readHeader } from './read-header';
export { StaticDataKeyProvider, type DataKey, type DataKeyProvider, type UnwrapRequest } from './data-key-provider';
export { KmsDataKeyProvider, type KmsCallStats, type KmsDataKeyProviderOptions } from './kms-data-key-provider';
export { DataKeyCache, type DataKeyCacheOptions, type DataKeyCacheStats, type EvictionReason } from './data-key-cache';
export { SealedObjectStore, objectEncryptionContext, type SealedObjectStoreOptions } from './sealed-object-store';
export { benchEnvelope, type EnvelopeBenchOptions, type EnvelopeBenchResult } from './bench';
export { kmsConfigFromEnv, kmsEnvironment, sealedStore, KMS_ENV, type KmsConfig, type SealedStore } from './kms-env';
