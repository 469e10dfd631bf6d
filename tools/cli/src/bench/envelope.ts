// Suite 5 (#3): seal/open throughput against raw AES-256-GCM in the same run, and peak RSS of a
// seal+open stream for a small and a large object, each in a fresh child process.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { benchEnvelope, type EnvelopeBenchResult } from '@reelmesh/envelope';
import { REPO_ROOT } from '@reelmesh/runtime';

export interface EnvelopeResult {
  throughput: EnvelopeBenchResult;
  rss: { smallBytes: number; largeBytes: number; smallRssBytes: number; largeRssBytes: number; ratio: number };
}

const CHILD = fileURLToPath(new URL('./envelope-rss-child.ts', import.meta.url));
const run = promisify(execFile);

async function peakRss(bytes: number): Promise<number> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, String(bytes)], { cwd: REPO_ROOT, maxBuffer: 1024 * 1024 });
  const line = stdout.trim().split('\n').pop() ?? '';
  return (JSON.parse(line) as { maxRssBytes: number }).maxRssBytes;
}

export async function runEnvelopeSuite(opts: { bytes: number; rounds: number; smallBytes: number; largeBytes: number; log: (line: string) => void }): Promise<EnvelopeResult> {
  const throughput = await benchEnvelope({ bytes: opts.bytes, rounds: opts.rounds });
  opts.log(`envelope: seal ${throughput.sealMBps.toFixed(0)} MB/s, open ${throughput.openMBps.toFixed(0)} MB/s`);
  const smallRssBytes = await peakRss(opts.smallBytes);
  const largeRssBytes = await peakRss(opts.largeBytes);
  return {
    throughput,
    rss: { smallBytes: opts.smallBytes, largeBytes: opts.largeBytes, smallRssBytes, largeRssBytes, ratio: largeRssBytes / smallRssBytes },
  };
}
