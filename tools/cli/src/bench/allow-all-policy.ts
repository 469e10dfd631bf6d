// A minimal OPA-REST-shaped policy sidecar that allows everything: the "allow-all" level of the
// request suite (the paper's OPA allow-all policy). @reelmesh/policy has no allow-all mode, and it
// must not get one outside a benchmark. Run as its own process, like a real sidecar.
import http from 'node:http';
import { closeServer, listen, runService } from '@reelmesh/http-kit';

runService('allow-all-policy', async () => {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const decision = req.url?.endsWith('/decision') ? { allowed: true, reason: 'allow_all' } : true;
      const body = req.method === 'POST' && req.url?.startsWith('/v1/data/') ? { result: decision } : {};
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  server.keepAliveTimeout = 60_000;
  return { endpoints: { api: await listen(server, '127.0.0.1:0') }, stop: () => closeServer(server, 0) };
});
