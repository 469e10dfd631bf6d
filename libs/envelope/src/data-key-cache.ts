import type { DataKey, DataKeyProvider, UnwrapRequest } from './data-key-provider';
import { canonicalContext, type EncryptionContext } from './encryption-context';

export interface DataKeyCacheOptions {
  /** Objects sealed under one cached data key before it is retired (default 1000). */
  maxObjectsPerKey?: number;
  /** Plaintext bytes sealed under one cached data key before it is retired (default 4 GiB). */
  maxBytesPerKey?: number;
  /** Age after which a cached key (generated or unwrapped) is retired (default 5 min). */
  maxAgeMs?: number;
  /** Encryption contexts with a cached generated key at once (default 64). */
  maxEntries?: number;
  /** Unwrapped keys kept at once (default 256). */
  maxUnwrapEntries?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export type EvictionReason = 'objects' | 'bytes' | 'age' | 'capacity' | 'cleared';

export interface DataKeyCacheStats {
  generateHits: number;
  generateMisses: number;
  unwrapHits: number;
  unwrapMisses: number;
  evictions: Record<EvictionReason, number>;
}

interface GeneratedEntry {
  partition: string;
  keyId: string;
  plaintextKey: Buffer;
  wrappedKey: Buffer;
  createdAt: number;
  objects: number;
  bytes: number;
  evicted: boolean;
}

interface UnwrappedEntry {
  plaintextKey: Buffer;
  createdAt: number;
}

/**
 * A DataKeyProvider that caches another one, so not every object costs a KMS round trip.
 * Generated keys are cached per KMS encryption context and retired by objects, bytes and age;
 * unwrapped keys are cached by (key id, wrapped key, context) and retired by age and LRU.
 * The cache owns the key buffers the inner provider returns and zeroes them on eviction;
 * callers always get their own copies. Nonces stay unique across objects sharing a key
 * because every object derives its frame key from a fresh random object id and nonce prefix.
 */
export class DataKeyCache implements DataKeyProvider {
  readonly stats: DataKeyCacheStats = {
    generateHits: 0,
    generateMisses: 0,
    unwrapHits: 0,
    unwrapMisses: 0,
    evictions: { objects: 0, bytes: 0, age: 0, capacity: 0, cleared: 0 },
  };
  private readonly generated = new Map<string, GeneratedEntry>();
  private readonly unwrapped = new Map<string, UnwrappedEntry>();
  /** One GenerateDataKey in flight per context, so a burst of writes costs one KMS call. */
  private readonly pending = new Map<string, Promise<DataKey>>();
  private readonly maxObjects: number;
  private readonly maxBytes: number;
  private readonly maxAge: number;
  private readonly maxEntries: number;
  private readonly maxUnwrapEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly inner: DataKeyProvider,
    options: DataKeyCacheOptions = {},
  ) {
    this.maxObjects = options.maxObjectsPerKey ?? 1000;
    this.maxBytes = options.maxBytesPerKey ?? 4 * 1024 ** 3;
    this.maxAge = options.maxAgeMs ?? 5 * 60_000;
    this.maxEntries = options.maxEntries ?? 64;
    this.maxUnwrapEntries = options.maxUnwrapEntries ?? 256;
    this.now = options.now ?? Date.now;
  }

  async generate(context: EncryptionContext): Promise<DataKey> {
    this.sweep();
    const partition = canonicalContext(context);
    for (;;) {
      const cached = this.generated.get(partition);
      if (cached) {
        this.stats.generateHits++;
        return this.handOut(cached);
      }
      const inFlight = this.pending.get(partition);
      if (!inFlight) break;
      await inFlight; // share one KMS call, and its failure: fail fast rather than queue up retries
    }
    this.stats.generateMisses++;
    const request = this.fetch(partition, context);
    this.pending.set(partition, request);
    try {
      return await request;
    } finally {
      this.pending.delete(partition);
    }
  }

  /** Asks the inner provider, takes the first use at once (the key cannot be evicted before), then caches it. */
  private async fetch(partition: string, context: EncryptionContext): Promise<DataKey> {
    const fresh = await this.inner.generate(context);
    const entry: GeneratedEntry = {
      partition,
      keyId: fresh.keyId,
      plaintextKey: fresh.plaintextKey,
      wrappedKey: fresh.wrappedKey,
      createdAt: this.now(),
      objects: 0,
      bytes: 0,
      evicted: false,
    };
    const mine = this.handOut(entry);
    if (!entry.evicted) {
      this.generated.set(partition, entry);
      while (this.generated.size > this.maxEntries) this.evictGenerated(this.generated.values().next().value!, 'capacity');
    }
    return mine;
  }

  async unwrap(request: UnwrapRequest): Promise<Buffer> {
    this.sweep();
    const id = `${request.keyId}\u0000${request.wrappedKey.toString('base64')}\u0000${canonicalContext(request.context)}`;
    const cached = this.unwrapped.get(id);
    if (cached) {
      this.stats.unwrapHits++;
      this.unwrapped.delete(id); // re-insert: Map order is our LRU order
      this.unwrapped.set(id, cached);
      return Buffer.from(cached.plaintextKey);
    }
    this.stats.unwrapMisses++;
    const plaintextKey = await this.inner.unwrap(request);
    this.unwrapped.get(id)?.plaintextKey.fill(0);
    this.unwrapped.delete(id);
    this.unwrapped.set(id, { plaintextKey, createdAt: this.now() });
    while (this.unwrapped.size > this.maxUnwrapEntries) {
      const [oldest, entry] = this.unwrapped.entries().next().value!;
      this.evictUnwrapped(oldest, entry, 'capacity');
    }
    return Buffer.from(plaintextKey);
  }

  /** Retires every key older than maxAgeMs (runs on each call; call it from a timer if idle keys must go sooner). */
  sweep(): void {
    const now = this.now();
    for (const entry of [...this.generated.values()]) if (now - entry.createdAt >= this.maxAge) this.evictGenerated(entry, 'age');
    for (const [id, entry] of [...this.unwrapped]) if (now - entry.createdAt >= this.maxAge) this.evictUnwrapped(id, entry, 'age');
  }

  /** Zeroes and forgets every cached key. */
  clear(): void {
    for (const entry of [...this.generated.values()]) this.evictGenerated(entry, 'cleared');
    for (const [id, entry] of [...this.unwrapped]) this.evictUnwrapped(id, entry, 'cleared');
  }

  get size(): { generated: number; unwrapped: number } {
    return { generated: this.generated.size, unwrapped: this.unwrapped.size };
  }

  /** One use of a cached key: a caller-owned copy that meters bytes back into the entry. */
  private handOut(entry: GeneratedEntry): DataKey {
    entry.objects++;
    const key: DataKey = {
      keyId: entry.keyId,
      plaintextKey: Buffer.from(entry.plaintextKey),
      wrappedKey: Buffer.from(entry.wrappedKey),
      countBytes: (bytes) => {
        entry.bytes += bytes;
        if (entry.bytes >= this.maxBytes) this.evictGenerated(entry, 'bytes');
      },
    };
    if (entry.objects >= this.maxObjects) this.evictGenerated(entry, 'objects');
    return key;
  }

  private evictGenerated(entry: GeneratedEntry, reason: EvictionReason): void {
    if (entry.evicted) return;
    entry.evicted = true;
    entry.plaintextKey.fill(0);
    if (this.generated.get(entry.partition) === entry) this.generated.delete(entry.partition);
    this.stats.evictions[reason]++;
  }

  private evictUnwrapped(id: string, entry: UnwrappedEntry, reason: EvictionReason): void {
    entry.plaintextKey.fill(0);
    this.unwrapped.delete(id);
    this.stats.evictions[reason]++;
  }
}
