// The "bare" peer: the least a node:http + undici relay can do, i.e. the ceiling of mirrorgate's
// own stack on one core. Bench peer only. One undici Pool per upstream, smooth weighted
// round-robin (nginx's algorithm, as mirrorgate and gateway-http-proxy.mjs use), GET/HEAD only
// (HEAD with `reset: false`, as mirrorgate sends it, so the connection is kept), the same four
// request headers that mirrorgate forwards, response status and headers copied minus
// hop-by-hop, the body streamed chunk by chunk from an undici dispatch handler with
// backpressure (pause the upstream socket until the client's drain), and the upstream request
// aborted when the client goes away. No failover, no breaker, no verification, no logging.
// usage: node gateway-bare.mjs PORT host:port:weight[,host:port:weight...]
import http from 'node:http';
import { Pool } from 'undici';
import { parseUpstreams, smoothRoundRobin } from './peer-upstreams.mjs';

const [port, spec] = process.argv.slice(2);
// The same pool settings as mirrorgate's defaults (maxConnections 1024 in the bench).
const pick = smoothRoundRobin(parseUpstreams(spec).map(({ origin, weight }) => ({ pool: new Pool(origin, { connections: 1024 }), weight })));

const FORWARDED = ['accept', 'range', 'if-none-match', 'user-agent'];
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

class Relay {
  constructor(res) {
    this.res = res;
    this.controller = undefined;
    this.resume = () => this.controller?.resume();
    this.onClose = () => {
      if (!res.writableFinished) this.controller?.abort(new Error('client gone'));
    };
    res.once('close', this.onClose);
  }

  onRequestStart(controller) {
    this.controller = controller;
  }

  onResponseStart(_controller, status, headers) {
    const out = {};
    for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
    this.res.writeHead(status, out);
  }

  onResponseData(controller, chunk) {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.resume);
    }
  }

  onResponseEnd() {
    this.res.off('close', this.onClose);
    this.res.end();
  }

  onResponseError(_controller, err) {
    this.res.off('close', this.onClose);
    if (!this.res.headersSent) {
      this.res.writeHead(502, { 'content-type': 'text/plain' });
      this.res.end(`bad gateway: ${err.message}\n`);
    } else this.res.destroy(err);
  }
}

http
  .createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const headers = {};
    for (const name of FORWARDED) {
      const value = req.headers[name];
      if (typeof value === 'string' && value !== '') headers[name] = value;
    }
    pick().pool.dispatch({ method, path: req.url, headers, reset: false }, new Relay(res));
  })
  .listen(Number(port), '127.0.0.1');
