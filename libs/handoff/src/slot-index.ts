import type { ObjectContext, ObjectStore } from '@reelmesh/storage';
import { slotRecordKey, slotRecordPrefix, type ChunkSlot } from './chunk-key';
import type { HandoffManifest } from './manifest';

/** What the durable index remembers about a filled slot. */
export interface SlotRecord {
  version: 1;
  key: string;
  sha256: string;
  byteLength: number;
  chunkCount: number;
  producer: { agent: string; step: string };
  storedAt: string;
  /**
   * The manifest the chunk came with (its provenance chain included): what an agent that restarts
   * needs to take the chunk up again — re-verify its chain and sign its outputs onto it.
   */
  manifest?: HandoffManifest;
}

/** A record holds one manifest (at most 64 KiB, the handoff's field limit) besides its own fields. */
const MAX_RECORD_BYTES = 256 * 1024;

/**
 * One small JSON object per filled slot, kept in the same store as the chunks (so a sealed
 * store seals it too). Written after the chunk is committed: a record always points at a
 * complete chunk, and a chunk without a record counts as an empty slot that may be refilled.
 */
export class SlotIndex {
  constructor(private readonly store: ObjectStore) {}

  async read(slot: ChunkSlot, context: ObjectContext): Promise<SlotRecord | undefined> {
    const key = slotRecordKey(slot);
    if (!(await this.store.exists(key))) return undefined;
    return this.readKey(key, context);
  }

  /** Keys of every filled slot of one receiving step (sorted: artifact, then chunk index). */
  list(workflowId: string, step: string): Promise<string[]> {
    return this.store.list(slotRecordPrefix(workflowId, step));
  }

  /** One record by its key; a record that does not parse is an error naming the key. */
  async readKey(key: string, context: ObjectContext): Promise<SlotRecord> {
    const stream = await this.store.createReadStream(key, context);
    const parts: Buffer[] = [];
    let size = 0;
    for await (const part of stream as AsyncIterable<Buffer>) {
      size += part.length;
      if (size > MAX_RECORD_BYTES) {
        stream.destroy();
        throw new Error(`slot record ${key} is larger than ${MAX_RECORD_BYTES} bytes`);
      }
      parts.push(part);
    }
    let record: SlotRecord;
    try {
      record = JSON.parse(Buffer.concat(parts).toString('utf8')) as SlotRecord;
    } catch (error) {
      throw new Error(`slot record ${key} is not JSON: ${(error as Error).message}`);
    }
    if (record?.version !== 1 || !/^[0-9a-f]{64}$/.test(record.sha256)) throw new Error(`slot record ${key} is malformed`);
    return record;
  }

  async write(slot: ChunkSlot, context: ObjectContext, record: SlotRecord): Promise<void> {
    const writer = await this.store.createWriter(slotRecordKey(slot), context);
    try {
      await new Promise<void>((resolve, reject) => {
        writer.stream.once('error', reject);
        writer.stream.end(JSON.stringify(record), () => resolve());
      });
      await writer.commit();
    } catch (error) {
      await writer.abort(error);
      throw error;
    }
  }

  async remove(slot: ChunkSlot): Promise<void> {
    await this.store.remove(slotRecordKey(slot));
  }
}
