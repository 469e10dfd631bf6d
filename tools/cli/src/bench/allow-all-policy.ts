// A minimal OPA-REST-shaped policy sidecar that allows everything: the "allow-all" level of the
// request suite (the paper's OPA allow-all policy). @reelmesh/policy has no allow-all mode, and it
// must not get one outside a benchmark. Run as its own process, like a real sidecar; it answers
// the check socket too (argv[2]), as the pods' proxies ask their sidecars there.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { closeServer, listen, runService } from '@reelmesh/http-kit';
import { createCheckServer } from '@reelmesh/policy';

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
  const checks = createCheckServer(() => ({ decision_id: randomUUID(), result: { allowed: true, reason: 'allow_all' } }));
  const check = process.argv[2];
  if (!check) throw new Error('usage: allow-all-policy.ts unix:<check socket path>');
  const endpoints = { api: await listen(server, '127.0.0.1:0'), check: await listen(checks.server, check) };
  return { endpoints, stop: () => Promise.all([closeServer(server, 0), checks.close()]).then(() => undefined) };
});
