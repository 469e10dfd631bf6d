import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { captureInterface, type RunningCapture } from '@reelmesh/netns';
import type { LocalRuntime } from '@reelmesh/runtime';
import { runAttempts } from './attempts';
import { classify, type CapturedPod } from './classify';
import { buildReport, writeReport, type CaptureReport } from './report';

export interface CaptureRunOptions {
  /** Where pcaps and the report go. */
  outDir: string;
  /** Only these source -> destination pairs (tests); default every pair of the matrix. */
  pairs?: Array<{ source: string; destination: string }>;
}

/**
 * The paper's test framework, classified: tcpdump on every pod's veth and loopback while every
 * attempt of the access matrix runs (one at a time), then a verdict per attempt and interface.
 */
export async function captureVerify(runtime: LocalRuntime, opts: CaptureRunOptions): Promise<CaptureReport & { files: { json: string; markdown: string } }> {
  const pcapDir = join(opts.outDir, 'pcap');
  await mkdir(pcapDir, { recursive: true });
  const pods: CapturedPod[] = Object.values(runtime.agents).map((agent) => {
    if (!agent.netns || !agent.pod) throw new Error('--capture needs isolated pods (--isolation netns)');
    return {
      name: agent.agent,
      address: agent.netns.address,
      appPort: agent.netns.appPort,
      inboundPort: agent.netns.inboundPort,
      outboundPort: agent.netns.outboundPort,
      policyPort: agent.pod.policyUrl ? Number(new URL(agent.pod.policyUrl).port) : undefined,
      files: { eth0: join(pcapDir, `${agent.agent}.eth0.pcap`), lo: join(pcapDir, `${agent.agent}.lo.pcap`) },
    };
  });
  const captures: RunningCapture[] = [];
  try {
    for (const pod of pods) {
      const ns = runtime.agents[pod.name].netns!.ns;
      captures.push(await captureInterface(ns, 'eth0', pod.files.eth0), await captureInterface(ns, 'lo', pod.files.lo));
    }
    const attempts = await runAttempts(runtime, { pairs: opts.pairs });
    // Let the last exchange's trailing packets land before tcpdump stops.
    await new Promise((r) => setTimeout(r, 200));
    const stopped = await Promise.all(captures.splice(0).map(async (c) => ({ where: `${c.ns}/${c.iface}`, ...(await c.stop()) })));
    // A verdict on an incomplete capture would blame the mesh for what tcpdump missed.
    const drops = stopped.filter((s) => s.droppedByKernel > 0);
    if (drops.length > 0) {
      throw new Error(`capture incomplete, tcpdump dropped packets: ${drops.map((d) => `${d.where} ${d.droppedByKernel}`).join(', ')}; rerun on a less loaded machine`);
    }
    const report = buildReport(attempts, classify(pods, attempts));
    return { ...report, files: await writeReport(opts.outDir, report) };
  } finally {
    await Promise.all(captures.map((c) => c.stop()));
  }
}
