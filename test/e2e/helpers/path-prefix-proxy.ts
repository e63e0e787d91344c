/**
 * A Nexus-like front for the e2e suites: serves a real registry under a base path
 * (`http://127.0.0.1:PORT/repository/hub/v2/...` → `REGISTRY/v2/...`), on 127.0.0.1.
 * Requests outside the base path get a 404 registry error; same-origin `Location` headers
 * are rewritten back under the base path. Every request is recorded. Streams both ways, no
 * keep-alive pool towards the registry, and a bounded upstream wait.
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { listenLocal } from './local-server.js';

export interface ProxiedRequest {
  method: string;
  /** As received, query included. */
  url: string;
  status: number;
}

export interface PathPrefixProxy {
  /** Origin of the proxy, "http://127.0.0.1:PORT". */
  readonly url: string;
  /** `${url}${basePath}`: what an upstream `url:` points at. */
  readonly baseUrl: string;
  readonly basePath: string;
  readonly requests: readonly ProxiedRequest[];
  close(): Promise<void>;
}

export interface PathPrefixProxyOptions {
  /** e.g. "/repository/hub" (leading "/", no trailing "/"). */
  basePath: string;
  /** The registry behind it, "http://127.0.0.1:PORT". */
  target: string;
  /** Bound for the registry's response headers. Default 30000 ms. */
  headersTimeoutMs?: number;
}

export async function startPathPrefixProxy(opts: PathPrefixProxyOptions): Promise<PathPrefixProxy> {
  const { basePath } = opts;
  if (!basePath.startsWith('/') || basePath.endsWith('/')) throw new Error(`basePath must start and not end with "/": ${basePath}`);
  const target = new URL(opts.target);
  const requests: ProxiedRequest[] = [];
  let origin = '';

  const notFound = (res: ServerResponse, entry: ProxiedRequest): void => {
    entry.status = 404;
    const body = JSON.stringify({ errors: [{ code: 'NOT_FOUND', message: `nothing outside ${basePath}` }] });
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const entry: ProxiedRequest = { method: req.method ?? '', url, status: 0 };
    requests.push(entry);
    if (!url.startsWith(`${basePath}/`)) return notFound(res, entry);
    const path = url.slice(basePath.length);

    const headers = { ...req.headers, host: target.host };
    delete headers['connection'];
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const up = request({ host: target.hostname, port: target.port, method: req.method, path, headers, agent: false }, resolve);
      up.setTimeout(opts.headersTimeoutMs ?? 30_000, () => up.destroy(new Error(`registry did not answer ${path} in time`)));
      up.on('error', reject);
      res.once('close', () => up.destroy());
      req.pipe(up);
    });
    const outHeaders = { ...upstream.headers };
    delete outHeaders['connection'];
    delete outHeaders['keep-alive'];
    const location = outHeaders['location'];
    if (typeof location === 'string') {
      const resolved = new URL(location, target);
      if (resolved.origin === target.origin) outHeaders['location'] = `${origin}${basePath}${resolved.pathname}${resolved.search}`;
    }
    entry.status = upstream.statusCode ?? 502;
    res.writeHead(entry.status, outHeaders);
    await pipeline(upstream, res);
  };

  const local = await listenLocal(handle, { errorStatus: 502, errorPrefix: 'proxy error: ' });
  origin = local.url;
  return {
    url: origin,
    baseUrl: `${origin}${basePath}`,
    basePath,
    requests,
    close: local.close,
  };
}
