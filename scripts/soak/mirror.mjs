/**
 * A fake registry mirror on 127.0.0.1 that serves the soak's content (manifests by tag and by
 * digest, blobs with Range) and, on a share of its requests picked at random, misbehaves the way
 * issue 13's probe saw real mirrors do. Its body bandwidth is capped (a token bucket shared by
 * every response) so the soak stays light on CPU.
 */
import { createServer } from 'node:http';

/** Every fault a mirror may inject; `refused` is an episode (the port closes for a while), not a per-request pick. */
export const FAULTS = ['500', '429', 'frozen', 'reset', 'stall', 'corrupt', 'short', 'html', 'redirect'];

const HTML = Buffer.from('<!doctype html><html><body><h1>Please sign in to continue</h1></body></html>');

/**
 * options: { name, content, faultRate (0..1), rate (body bytes/s), secretUrl (an internal
 * address a redirect fault points at; the soak checks it is never fetched) }.
 */
export async function startMirror({ name, content, faultRate, rate, secretUrl, port = 0 }) {
  const counts = Object.fromEntries([...FAULTS, 'refused', 'ok'].map((f) => [f, 0]));
  const sockets = new Set();
  let tokens = 0;
  const waiting = [];
  const tick = setInterval(() => {
    tokens = Math.floor(rate / 50);
    while (tokens > 0 && waiting.length > 0) waiting.shift()();
  }, 20);
  const take = () =>
    new Promise((resolve) => {
      const grant = () => {
        const n = Math.min(tokens, 256 * 1024);
        tokens -= n;
        resolve(n);
      };
      if (tokens > 0) grant();
      else waiting.push(grant);
    });

  const server = createServer((req, res) => void serve(req, res).catch(() => res.destroy()));
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function serve(req, res) {
    const url = req.url ?? '';
    const found = lookup(url);
    if (found === undefined) return notFound(res);
    const fault = Math.random() < faultRate ? FAULTS[Math.floor(Math.random() * FAULTS.length)] : 'ok';
    counts[fault]++;
    if (fault === 'frozen') return; // headers never come: the gateway's headers timeout
    if (fault === '500') return error(res, 500, 'UNAVAILABLE', {});
    if (fault === '429') return error(res, 429, 'TOOMANYREQUESTS', { 'retry-after': '2' });
    if (fault === 'html')
      return void res.writeHead(200, { 'content-type': 'text/html', 'content-length': HTML.length }).end(req.method === 'HEAD' ? undefined : HTML);
    if (fault === 'redirect') return void res.writeHead(307, { location: `${secretUrl}${url}`, 'content-length': 0 }).end();
    const { bytes, type, digest } = found;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const first = range === null ? 0 : Number(range[1]);
    const last = range === null || range[2] === '' ? bytes.length - 1 : Math.min(Number(range[2]), bytes.length - 1);
    if (first > last) return void res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
    const headers = {
      'content-type': type,
      'content-length': last - first + 1,
      'docker-content-digest': digest,
      'docker-distribution-api-version': 'registry/2.0',
    };
    if (range !== null) headers['content-range'] = `bytes ${first}-${last}/${bytes.length}`;
    res.writeHead(range === null ? 200 : 206, headers);
    if (req.method === 'HEAD') return void res.end();
    await send(res, bytes.subarray(first, last + 1), fault);
  }

  /** Streams `body` at the shared rate; `reset`, `stall` and `short` break off halfway, `corrupt` flips a byte near the end. */
  async function send(res, body, fault) {
    const breakAt = fault === 'reset' || fault === 'stall' || fault === 'short' ? Math.floor(body.length / 2) : body.length;
    const flipAt = fault === 'corrupt' ? Math.max(0, body.length - 7) : -1;
    let at = 0;
    let closed = false;
    res.on('close', () => (closed = true));
    while (at < breakAt && !closed) {
      const n = Math.min(await take(), breakAt - at);
      if (closed) return;
      const chunk = Buffer.from(body.subarray(at, at + n));
      if (flipAt >= at && flipAt < at + n) chunk[flipAt - at] ^= 0xff;
      at += n;
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    if (closed || at === body.length) return void res.end();
    if (fault === 'reset') return void res.socket?.resetAndDestroy();
    if (fault === 'short') return void res.socket?.end(); // a clean FIN, short of its Content-Length
    // stall: keep the socket open and silent; the gateway's idle timeout cuts it.
  }

  function lookup(url) {
    const manifest = /\/v2\/(.+)\/manifests\/([^/?]+)$/.exec(url);
    if (manifest !== null) {
      const ref = manifest[2];
      const digest = ref.includes(':') ? ref : content.tags.get(ref);
      const bytes = digest === undefined ? undefined : content.manifests.get(digest);
      return bytes === undefined ? undefined : { bytes, digest, type: 'application/vnd.oci.image.manifest.v1+json' };
    }
    const blob = /\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url);
    const found = blob === null ? undefined : content.byDigest.get(blob[2]);
    return found === undefined ? undefined : { bytes: found.bytes, digest: found.digest, type: 'application/octet-stream' };
  }

  function error(res, status, code, extra) {
    const body = JSON.stringify({ errors: [{ code, message: `soak fault ${status}` }] });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra }).end(body);
  }
  function notFound(res) {
    error(res, 404, 'MANIFEST_UNKNOWN', {});
  }

  const listen = (p) =>
    new Promise((resolve, reject) => {
      server.once('error', reject).listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(server.address().port);
      });
    });
  const boundPort = await listen(port);
  let refusing = false;
  return {
    name,
    url: `http://127.0.0.1:${boundPort}`,
    counts,
    /** The port is closed (connections refused) for `ms`, then listens again. */
    async refuseFor(ms) {
      if (refusing) return;
      refusing = true;
      counts.refused++;
      await new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      await new Promise((resolve) => setTimeout(resolve, ms));
      await listen(boundPort);
      refusing = false;
    },
    async close() {
      clearInterval(tick);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}
