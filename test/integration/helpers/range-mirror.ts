/**
 * A blob mirror for parallel-fill tests: serves one blob by digest with `Range` support at a
 * shaped rate (a token bucket refilled every 10 ms, shared by all its responses), and misbehaves
 * on cue: no Range support, a reset after some bytes, a corrupted byte (once, or in every response).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';

export interface RangeMirrorOptions {
  /** Bytes per second, shared by every response of this mirror. */
  readonly rate: number;
  /** Answer every GET with a 200 and the whole blob, ignoring Range. */
  readonly noRange?: boolean;
  /** Cut the connection of a response after sending this many of its bytes. */
  readonly resetAfter?: number;
  /** Flip the byte at this blob offset in whatever it sends. */
  readonly corruptAt?: number;
  /** Flip the first byte of every response's body (a mirror whose every piece is wrong). */
  readonly corruptEach?: boolean;
  /**
   * Also answer as a registry (for `mirrorgate probe`): `/v2/` with 200, and GET/HEAD of
   * `/v2/<name>/manifests/<tag>` with `manifest` (unshaped).
   */
  readonly registry?: { readonly name: string; readonly tag: string; readonly manifest: string };
  /** Challenge every request without its token with Bearer, and issue that token at `/token`. */
  readonly bearer?: boolean;
}

export interface RangeMirror extends FakeUpstream {
  /** Body bytes sent, over all responses. */
  readonly sent: () => number;
  /** The Range header of each GET ('' for none). */
  readonly ranges: () => string[];
}

const TICK_MS = 10;

export async function startRangeMirror(blob: Buffer, digest: string, options: RangeMirrorOptions): Promise<RangeMirror> {
  let sent = 0;
  const waiting: (() => void)[] = [];
  let tokens = 0;
  const perTick = Math.max(1, Math.floor((options.rate * TICK_MS) / 1000));
  const timer = setInterval(() => {
    tokens = perTick;
    while (tokens > 0 && waiting.length > 0) waiting.shift()!();
  }, TICK_MS);
  const take = (): Promise<number> =>
    new Promise((resolve) => {
      const grant = (): void => {
        const n = Math.min(tokens, 64 * 1024);
        tokens -= n;
        resolve(n);
      };
      if (tokens > 0) grant();
      else waiting.push(grant);
    });
  let base = '';
  const token = `token-${digest.slice(7, 19)}`;
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '';
    if (options.bearer === true && url.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ token, expires_in: 300 }));
    }
    if (options.bearer === true && req.headers.authorization !== `Bearer ${token}`) {
      const scope = options.registry === undefined ? '' : `,scope="repository:${options.registry.name}:pull"`;
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="${base}/token",service="mirror"${scope}` });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    const registry = options.registry;
    if (registry !== undefined && (url === '/v2/' || url === `/v2/${registry.name}/manifests/${registry.tag}`)) {
      const body = url === '/v2/' ? '{}' : registry.manifest;
      const type = url === '/v2/' ? 'application/json' : 'application/vnd.oci.image.manifest.v1+json';
      res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'docker-distribution-api-version': 'registry/2.0' });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    if (!url.endsWith(digest)) return void res.writeHead(404).end();
    const range = options.noRange === true ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const first = range === null ? 0 : Number(range[1]);
    const last = range === null || range[2] === '' ? blob.length - 1 : Math.min(Number(range[2]), blob.length - 1);
    const headers = { 'content-type': 'application/octet-stream', 'content-length': last - first + 1, 'docker-content-digest': digest };
    res.writeHead(range === null ? 200 : 206, range === null ? headers : { ...headers, 'content-range': `bytes ${first}-${last}/${blob.length}` });
    if (req.method === 'HEAD') return void res.end();
    let at = first;
    let closed = false;
    res.on('close', () => (closed = true));
    while (at <= last && !closed) {
      const n = Math.min(await take(), last + 1 - at);
      if (closed) break;
      if (options.resetAfter !== undefined && at - first + n > options.resetAfter) return void res.socket?.destroy();
      const chunk = Buffer.from(blob.subarray(at, at + n));
      const corrupt = options.corruptAt;
      if (corrupt !== undefined && corrupt >= at && corrupt < at + n) chunk[corrupt - at] = (chunk[corrupt - at] ?? 0) ^ 0xff;
      if (options.corruptEach === true && at === first) chunk[0] = (chunk[0] ?? 0) ^ 0xff;
      sent += n;
      at += n;
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  };
  const upstream = await startFakeUpstream((req, res) => void serve(req, res));
  base = upstream.url;
  const close = upstream.close;
  return Object.assign(upstream, {
    sent: () => sent,
    ranges: () => upstream.requests.filter((r) => r.method === 'GET').map((r) => String(r.headers.range ?? '')),
    close: async () => {
      clearInterval(timer);
      await close();
    },
  });
}
