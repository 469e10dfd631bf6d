export type { CommittedObject, ObjectContext, ObjectStore, ObjectWriter } from './object-store';
export { FsObjectStore, DigestCounter, type FsObjectStoreOptions } from './fs-object-store';
export { safeKey, isSafeSegment, UnsafeKeyError } from './safe-key';
