// The gateway a Node user would write in 30 lines: http-proxy 1.18.1, keep-alive agent,
// smooth weighted round-robin (nginx's algorithm) over the upstreams. Bench peer only.
// usage: node gateway-http-proxy.mjs PORT host:port:weight[,host:port:weight...]
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, spec] = process.argv.slice(2);
const upstreams = spec.split(',').map((s) => {
  const [host, p, weight] = s.split(':');
  return { target: `http://${host}:${p}`, weight: Number(weight), current: 0 };
});
const total = upstreams.reduce((sum, u) => sum + u.weight, 0);

function pick() {
  let best;
  for (const u of upstreams) {
    u.current += u.weight;
    if (best === undefined || u.current > best.current) best = u;
  }
  best.current -= total;
  return best.target;
}

const proxy = httpProxy.createProxyServer({ agent: new http.Agent({ keepAlive: true }) });
proxy.on('error', (err, req, res) => {
  if (!res.headersSent) res.writeHead?.(502);
  res.end?.();
});
http.createServer((req, res) => proxy.web(req, res, { target: pick() })).listen(Number(port), '127.0.0.1');
