import { execFileSync } from 'node:child_process';

export interface IsolationSupport {
  ok: boolean;
  /** Why isolated mode cannot run here (empty when ok). */
  reason: string;
}

const TOOLS: Array<[string, string]> = [
  ['ip', 'iproute2'],
  ['iptables', 'iptables'],
  ['iptables-restore', 'iptables'],
  ['setpriv', 'util-linux'],
  ['sysctl', 'procps'],
];

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Isolated pods need Linux, root, and the tools below (tcpdump only for captures). */
export function isolationSupport(opts: { capture?: boolean } = {}): IsolationSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces, veths and iptables need root' };
  const tools = opts.capture ? [...TOOLS, ['tcpdump', 'tcpdump'] as [string, string]] : TOOLS;
  const missing = tools.filter(([tool]) => !has(tool));
  if (missing.length) {
    return { ok: false, reason: `missing ${missing.map(([t]) => t).join(', ')} (apt-get install -y ${[...new Set(missing.map(([, p]) => p))].join(' ')})` };
  }
  return { ok: true, reason: '' };
}

/** Throw the reason when isolated mode cannot run: the CLI's fail-fast check. */
export function assertIsolationSupport(opts: { capture?: boolean } = {}): void {
  const support = isolationSupport(opts);
  if (!support.ok) throw new Error(`--isolation netns unavailable: ${support.reason}`);
}
