import { describe, it, expect, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sendChunk } from './send-chunk';
import { allFiles, eventually, handoffApp, listen, manifestFor, tempStore, WORKFLOW } from './spec-helpers';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const PIECE = 64 * 1024;
const PIECES = 320; // 20 MiB
const MiB = 1024 * 1024;

/** Deterministic, incompressible-looking bytes, generated on demand (never all in memory). */
function piece(i: number): Buffer {
  const b = Buffer.allocUnsafe(PIECE);
  let x = (i + 1) * 2654435761;
  for (let o = 0; o < PIECE; o += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    b.writeUInt32LE(x, o);
  }
  return b;
}

/**
 * Heap plus Buffer memory still reachable. Freed buffers are released by V8 lazily, so take the
 * lowest of a few collections: garbage disappears, anything truly held stays in every sample.
 */
async function retained(): Promise<number> {
  let lowest = Infinity;
  for (let n = 0; n < 4; n++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
    const m = process.memoryUsage();
    lowest = Math.min(lowest, m.heapUsed + m.arrayBuffers);
  }
  return lowest;
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
});

describe('handoff streaming', () => {
  it('receives a 20 MiB chunk without holding it in memory', async () => {
    const temp = await tempStore();
    cleanup = temp.cleanup;
    const { app, received } = handoffApp(temp.store, { limits: { fileSize: 64 * MiB } });
    const server = await listen(app);
    try {
      const hash = createHash('sha256');
      for (let i = 0; i < PIECES; i++) hash.update(piece(i));
      const manifest = { ...manifestFor(Buffer.alloc(0)), sha256: hash.digest('hex'), byteLength: PIECE * PIECES };

      const partialSize = async () => {
        const partial = (await allFiles(temp.dir)).find((f) => f.includes('.partial-'));
        return partial ? (await stat(join(temp.dir, partial))).size : -1;
      };
      // Warm up (lazy module loading, JIT, sockets) so the baseline only leaves the upload to measure.
      const small = Buffer.alloc(PIECE, 1);
      const warm = manifestFor(small, { step: 'picture-fx', artifact: 'picture' });
      await sendChunk({ baseUrl: `http://127.0.0.1:${server.port}`, manifest: warm, open: async () => Readable.from([small]) });
      const growth: number[] = [];
      const baseline = await retained();
      // At a few points mid-upload, wait until everything sent so far is on disk (nothing in
      // flight), then measure what is still held: a buffering receiver would hold it all.
      const checkpoints = new Set([80, 160, 240, 300]);
      let i = 0;
      const source = new Readable({
        read() {
          if (i === PIECES) return void this.push(null);
          if (checkpoints.has(i)) {
            checkpoints.delete(i);
            const sent = i * PIECE;
            eventually(async () => (await partialSize()) === sent, `${sent} bytes on disk`)
              .then(async () => growth.push((await retained()) - baseline))
              .then(() => this.push(piece(i++)), (error: Error) => this.destroy(error));
            return;
          }
          this.push(piece(i++));
        },
      });

      const result = await sendChunk({ baseUrl: `http://127.0.0.1:${server.port}`, manifest, open: async () => source });
      expect(result.status).toBe('stored');
      expect(received.at(-1)?.byteLength).toBe(20 * MiB);
      expect((await stat(temp.store.pathOf(`${WORKFLOW}/demux/av/00000.mkv`))).size).toBe(20 * MiB);
      expect(growth).toHaveLength(4);
      for (const bytes of growth) expect(bytes).toBeLessThan(8 * MiB);
    } finally {
      await server.close();
    }
  });
});
