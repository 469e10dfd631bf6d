import { execFile } from 'node:child_process';

/** Run one system command (ip, iptables, sysctl); reject with its stderr so failures say why. */
export function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && !opts.allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${String(stderr || error.message).trim()}`));
        return;
      }
      resolve(String(stdout));
    });
  });
}

/** The same command run inside a network namespace. */
export function shIn(ns: string, cmd: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<string> {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}
