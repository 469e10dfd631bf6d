// Suite 5 (#3): seal/open throughput against raw AES-256-GCM in the same run; sealing into a file as
// a sealed volume does, at the default frame size against the former 64 KiB frames (the baseline of
// the default's gain); and peak RSS of a seal+open stream for a small and a large object, each in a
// fresh child process.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { benchEnvelope, DEFAULT_FRAME_SIZE, sealStream, StaticDataKeyProvider, type EnvelopeBenchResult } from '@reelmesh/envelope';
import { REPO_ROOT } from '@reelmesh/runtime';

export interface EnvelopeResult {
  throughput: EnvelopeBenchResult;
  /** Sealing into a file, at the default frame size and at 64 KiB (the default before 2026-12-02). */
  sealToFile: SealToFile[];
  rss: { smallBytes: number; largeBytes: number; smallRssBytes: number; largeRssBytes: number; ratio: number };
}

export interface SealToFile {
  frameSize: number;
  bytes: number;
  /** CPU of this process (user + system), best round. */
  cpuMs: number;
  wallMs: number;
}

const SMALL_FRAME_SIZE = 64 * 1024;
const MiB = 1024 * 1024;

/**
 * What a sealed volume does with an incoming chunk: plaintext in 256 KiB pieces (the store's
 * buffer) through a seal stream into a new file. Per frame the seal pushes a ciphertext and a tag
 * and the file stream writes them, so the frame size sets the number of writes; the crypto is the
 * same. Frame sizes alternate, each round; the best round of each is kept.
 */
async function sealToFile(bytes: number, rounds: number): Promise<SealToFile[]> {
  const source = randomBytes(8 * MiB);
  const provider = new StaticDataKeyProvider({ keyId: 'bench', plaintextKey: randomBytes(32), wrappedKey: randomBytes(32) });
  const context = { workflow: 'bench', step: 'bench', agent: 'bench', object: 'bench' };
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-bench-seal-'));
  const piece = 256 * 1024;
  function* pieces() {
    for (let done = 0; done < bytes; done += piece) {
      const start = done % source.length;
      yield source.subarray(start, start + Math.min(piece, bytes - done));
    }
  }
  const sizes = [DEFAULT_FRAME_SIZE, SMALL_FRAME_SIZE];
  const best = new Map(sizes.map((frameSize) => [frameSize, { frameSize, bytes, cpuMs: Infinity, wallMs: Infinity }]));
  try {
    for (let round = 0; round <= rounds; round++) {
      for (const frameSize of sizes) {
        const cpu = process.cpuUsage();
        const started = performance.now();
        await pipeline(Readable.from(pieces(), { objectMode: false }), sealStream({ context, provider, frameSize }), createWriteStream(join(dir, 'object')));
        const wallMs = performance.now() - started;
        const used = process.cpuUsage(cpu);
        if (round === 0) continue; // warm-up
        const b = best.get(frameSize)!;
        b.cpuMs = Math.min(b.cpuMs, (used.user + used.system) / 1000);
        b.wallMs = Math.min(b.wallMs, wallMs);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return [...best.values()];
}

const CHILD = fileURLToPath(new URL('./envelope-rss-child.ts', import.meta.url));
const run = promisify(execFile);

async function peakRss(bytes: number): Promise<number> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, String(bytes)], { cwd: REPO_ROOT, maxBuffer: 1024 * 1024 });
  const line = stdout.trim().split('\n').pop() ?? '';
  return (JSON.parse(line) as { maxRssBytes: number }).maxRssBytes;
}

export async function runEnvelopeSuite(opts: { bytes: number; rounds: number; smallBytes: number; largeBytes: number; log: (line: string) => void }): Promise<EnvelopeResult> {
  const throughput = await benchEnvelope({ bytes: opts.bytes, rounds: opts.rounds, frameSize: DEFAULT_FRAME_SIZE });
  opts.log(`envelope: seal ${throughput.sealMBps.toFixed(0)} MB/s, open ${throughput.openMBps.toFixed(0)} MB/s`);
  const toFile = await sealToFile(Math.min(opts.bytes, 512 * MiB), Math.max(opts.rounds, 2));
  for (const f of toFile) opts.log(`envelope: seal into a file, ${f.frameSize / 1024} KiB frames: ${f.cpuMs.toFixed(0)} CPU-ms, ${f.wallMs.toFixed(0)} ms for ${(f.bytes / MiB).toFixed(0)} MiB`);
  const smallRssBytes = await peakRss(opts.smallBytes);
  const largeRssBytes = await peakRss(opts.largeBytes);
  return {
    throughput,
    sealToFile: toFile,
    rss: { smallBytes: opts.smallBytes, largeBytes: opts.largeBytes, smallRssBytes, largeRssBytes, ratio: largeRssBytes / smallRssBytes },
  };
}
