// A minimal OPA-REST-shaped policy sidecar that allows everything: the "allow-all" level of the
// request suite (the paper's OPA allow-all policy). @reelmesh/policy has no allow-all mode, and it
// must not get one outside a benchmark. Run as its own process, like a real sidecar.
import http from 'node:http';

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const decision = req.url?.endsWith('/decision') ? { allowed: true, reason: 'allow_all' } : true;
    const body = req.method === 'POST' && req.url?.startsWith('/v1/data/') ? { result: decision } : {};
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${port}`, port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
