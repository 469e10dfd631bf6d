export type { CommittedObject, ObjectContext, ObjectStore, ObjectWriter } from './object-store';
export { FsObjectStore, DigestCounter, type FsObjectStoreOptions } from './fs-object-store';
export { safeKey, isSafeSegment, UnsafeKeyError } from './safe-key';
export {
  writeFileAtomic,
  writeFileAtomicSync,
  produceFileAtomically,
  publishDirectory,
  publishFile,
  swapSymlinkSync,
  partialPathOf,
  PARTIAL_PREFIX,
  type AtomicWriteOptions,
} from './atomic-file';
export { mountSmallVolume, type SmallVolume, type SmallVolumeResult } from './small-volume';
