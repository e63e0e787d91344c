/**
 * An in-process registry stand-in on 127.0.0.1:0 that misbehaves on cue: for faults a real
 * registry can't be made to show (resets, hangs, 5xx, slow or endless bodies).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FakeUpstream {
  readonly url: string;
  /** Every request received, in order (method, url, headers). */
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  readonly connections: () => number;
  handle(handler: FakeHandler): void;
  close(): Promise<void>;
}

export async function startFakeUpstream(handler: FakeHandler): Promise<FakeUpstream> {
  let current = handler;
  const requests: FakeUpstream['requests'] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    current(req, res);
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bind, read the port, close. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** Answers like a registry that has the content: a small JSON body with registry headers (its Docker-Content-Digest is the body's, as a registry's is). */
export function registryAnswer(body: string, extra: Record<string, string> = {}): FakeHandler {
  return (req, res) => {
    res.writeHead(200, {
      'content-type': MANIFEST_TYPE,
      'content-length': Buffer.byteLength(body),
      'docker-content-digest': `sha256:${createHash('sha256').update(body).digest('hex')}`,
      'docker-distribution-api-version': 'registry/2.0',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

export function registryStatus(status: number, code: string, extra: Record<string, string> = {}): FakeHandler {
  return (_req, res) => {
    const body = JSON.stringify({ errors: [{ code, message: `fake ${status}` }] });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };
}

/** Accepts the request and never answers. */
export const hang: FakeHandler = () => {};

/** Drops the connection before sending any header. */
export const resetBeforeHeaders: FakeHandler = (req) => {
  req.socket.destroy();
};

/**
 * Answers 200 with `chunks` as the body, one every `intervalMs` (the first at once when
 * `firstAtOnce`), so a download stays in flight for a while. Stops when the client goes away.
 */
export function trickle(chunks: readonly Buffer[], intervalMs: number, options: { firstAtOnce?: boolean } = {}): FakeHandler {
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': length });
    let i = 0;
    if (options.firstAtOnce === true) res.write(chunks[i++]);
    const timer = setInterval(() => {
      res.write(chunks[i++]);
      if (i === chunks.length) {
        clearInterval(timer);
        res.end();
      }
    }, intervalMs);
    res.on('close', () => clearInterval(timer));
  };
}
