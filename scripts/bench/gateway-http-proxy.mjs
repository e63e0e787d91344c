// The gateway a Node user would write in 30 lines: http-proxy 1.18.1, keep-alive agent,
// smooth weighted round-robin (nginx's algorithm) over the upstreams. Bench peer only.
// usage: node gateway-http-proxy.mjs PORT host:port:weight[,host:port:weight...]
import http from 'node:http';
import httpProxy from 'http-proxy';
import { parseUpstreams, smoothRoundRobin } from './peer-upstreams.mjs';

const [port, spec] = process.argv.slice(2);
const pick = smoothRoundRobin(parseUpstreams(spec));

const proxy = httpProxy.createProxyServer({ agent: new http.Agent({ keepAlive: true }) });
proxy.on('error', (err, req, res) => {
  if (!res.headersSent) res.writeHead?.(502);
  res.end?.();
});
http.createServer((req, res) => proxy.web(req, res, { target: pick().origin })).listen(Number(port), '127.0.0.1');
