import { spawn } from 'node:child_process';

export interface RunningCapture {
  ns: string;
  iface: string;
  file: string;
  /** Stop capturing and wait until the pcap file is flushed and closed. */
  stop(): Promise<void>;
}

/**
 * tcpdump on one interface of one namespace, writing a pcap file. Resolves once tcpdump says it
 * is listening, so nothing sent afterwards is missed. -Z root: keep write access to the file.
 */
export function captureInterface(ns: string, iface: string, file: string, timeoutMs = 10_000): Promise<RunningCapture> {
  const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-w', file, '-U', '-n', '-s', '0', '-Z', 'root', '--immediate-mode'], {
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
