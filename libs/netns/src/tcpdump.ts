import { spawn } from 'node:child_process';

export interface RunningCapture {
  ns: string;
  iface: string;
  file: string;
  /** Stop capturing and wait until the pcap file is flushed and closed; resolves with what tcpdump
   * says the kernel dropped (a capture with drops is incomplete). */
  stop(): Promise<{ droppedByKernel: number }>;
}

/**
 * tcpdump on one interface of one namespace, writing a pcap file. Resolves once tcpdump says it
 * is listening, so nothing sent afterwards is missed. -Z root: keep write access to the file.
 */
export function captureInterface(ns: string, iface: string, file: string, timeoutMs = 10_000): Promise<RunningCapture> {
  // -B: a 16 MiB kernel buffer, so a loaded machine does not drop packets of a busy interface.
  const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-w', file, '-U', '-n', '-s', '0', '-B', '16384', '-Z', 'root', '--immediate-mode'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tcpdump on ${ns}/${iface} did not start: ${stderr.trim()}`));
    }, timeoutMs);
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve({
          ns,
          iface,
          file,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
            await exited;
            return { droppedByKernel: Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? 0) };
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump on ${ns}/${iface} exited (${code}): ${stderr.trim()}`));
    });
    child.once('error', reject);
  });
}
