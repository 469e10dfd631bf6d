// Health checks as commands, for places without kubelet httpGet probes (Dockerfile HEALTHCHECK,
// Compose healthcheck). Each uses only what its image holds: node in our images; bash, head and
// grep in Envoy's Ubuntu-based image (no curl or wget in either).

/** `node -e` script: exit 0 when GET http://127.0.0.1:<port><path> answers 2xx, else 1. */
export function nodeHttpProbe(port: number, path: string): string {
  return `fetch('http://127.0.0.1:${port}${path}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`;
}

/** `node -e` script: exit 0 when 127.0.0.1:<port> accepts a TCP connection, else 1. */
export function nodeTcpProbe(port: number): string {
  return `require('net').connect(${port},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`;
}

/**
 * bash script: every (port, path) answers HTTP 200 on 127.0.0.1, asked over bash's /dev/tcp with
 * HTTP/1.1 (Envoy's admin listener does not take HTTP/1.0).
 */
export function bashHttpProbe(checks: ReadonlyArray<{ port: number; path: string }>): string {
  return checks
    .map(({ port, path }, i) => {
      const fd = 3 + i;
      return `exec ${fd}<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${path} HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&${fd} && head -n1 <&${fd} | grep -q ' 200 '`;
    })
    .join(' && ');
}
