// `tsx libs/mesh/src/bench/main.ts [--requests N] [--policy-url URL]`: prints the bench report as JSON.
import { Command } from 'commander';
import { benchProxy } from './bench-proxy';

const o = new Command()
  .option('--requests <n>', 'measured requests per mode', '5000')
  .option('--warmup <n>', 'warm-up requests per mode', '500')
  .option('--throughput-mb <mb>', 'body size for the throughput run', '256')
  .option('--policy-url <url>', 'policy sidecar to ask (default: built-in allow-all OPA-shaped server)')
  .parse()
  .opts<{ requests: string; warmup: string; throughputMb: string; policyUrl?: string }>();

const report = await benchProxy({
  requests: Number(o.requests),
  warmup: Number(o.warmup),
  throughputBytes: Number(o.throughputMb) * 1024 * 1024,
  policyUrl: o.policyUrl,
});
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
