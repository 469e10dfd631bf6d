import type { ObjectContext, ObjectStore } from '@reelmesh/storage';

// Small JSON documents (audit entries, checkpoints) through an ObjectStore, so they are sealed
// at rest whenever the store is a SealedObjectStore.

const MAX_DOC_BYTES = 4 * 1024 * 1024;

export async function writeJsonObject(store: ObjectStore, key: string, context: ObjectContext, value: unknown): Promise<void> {
  const writer = await store.createWriter(key, context);
  try {
    writer.stream.end(Buffer.from(JSON.stringify(value), 'utf8'));
    await writer.commit();
  } catch (error) {
    await writer.abort(error);
    throw error;
  }
}

export async function readJsonObject(store: ObjectStore, key: string, context: ObjectContext): Promise<unknown> {
  const stream = await store.createReadStream(key, context);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of stream) {
    size += (part as Buffer).length;
    if (size > MAX_DOC_BYTES) {
      stream.destroy();
      throw new Error(`${key} is larger than ${MAX_DOC_BYTES} bytes`);
    }
    parts.push(part as Buffer);
  }
  return JSON.parse(Buffer.concat(parts).toString('utf8'));
}
