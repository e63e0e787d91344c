/**
 * One server per `listen:` entry, all with the same request handler: plain HTTP/1.1
 * (node:http), HTTPS/1.1 (node:https), or HTTPS with HTTP/2 offered by ALPN
 * (`http2.createSecureServer` with `allowHTTP1`, so a client that does not ask for h2 gets the
 * very same node:http request and response objects as on a plain listener). Each knows how to
 * stop accepting, end its idle connections and cut the rest (app.ts's shutdown).
 *
 * HTTP/2 requests reach the handler as the http2 compatibility API's request and response. The
 * handler and everything under it use only what both APIs share: `url`, `method`, `headers`,
 * `socket.remoteAddress`, `writeHead`/`write`/`end`/`destroy`, `headersSent`, `writableFinished`,
 * `statusCode`, and the `drain` and `close` events. HTTP/1.1 specifics (`Connection` headers,
 * the socket itself) are used only on HTTP/1.1 requests (handler.ts); hop-by-hop response
 * headers, which HTTP/2 forbids, never leave the gateway (registry/headers.ts).
 */
import { createServer as createHttpServer, Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer, type Http2SecureServer, type SecureServerOptions, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { ListenerConfig, ListenTlsConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { readTlsFiles, secureOptions, watchCertificate, type CertificateWatch } from './listener-tls.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Between requests on a kept-alive connection; above the 60 s most load balancers use, so they close first. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface Listener {
  /** `host:port` as configured. */
  readonly name: string;
  readonly tls: boolean;
  /** Emits `request` for every request, HTTP/1.1 and HTTP/2 alike. */
  readonly server: NetServer;
  listen(): Promise<AddressInfo>;
  /** Stops accepting; resolves once every connection is gone. HTTP/2 sessions are sent GOAWAY and end after their streams. */
  close(): Promise<void>;
  closeIdleConnections(): void;
  closeAllConnections(): void;
  /** The certificate's reload, on a TLS listener. */
  readonly certificate: CertificateWatch | undefined;
}

export interface ListenerDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** `timeouts.clientIdle`: an HTTP/2 session silent for longer is closed (each of its responses would be cut by then anyway). */
  readonly clientIdleMs: number;
}

/** Throws when a TLS listener's files cannot be read or do not load as a pair (the config checks say so first, with its line). */
export function createListener(
  config: ListenerConfig,
  handler: RequestHandler,
  onHttp1: (server: HttpServer | NetServer) => void,
  deps: ListenerDeps,
): Listener {
  const name = config.host.includes(':') ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
  const tls = config.tls;
  if (tls === undefined) {
    const server = createHttpServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 }, handler);
    onHttp1(server);
    return http1Listener(config, name, server, undefined);
  }
  const options = secureOptions(tls, readTlsFiles(tls));
  if (!tls.http2) {
    const server = createHttpsServer({ ...options, ALPNProtocols: ['http/1.1'], keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 }, handler);
    onHttp1(server);
    watchTls(server, deps);
    return http1Listener(config, name, server, watchCertificate(server, tls, name, deps.logger, deps.metrics));
  }
  return createHttp2Listener({ ...config, tls }, name, options, handler, onHttp1, deps);
}

/** A node:http or node:https server (HTTP/1.1 only; TLS when it has a certificate to watch): its connections close the same way. */
function http1Listener(config: ListenerConfig, name: string, server: HttpServer, certificate: CertificateWatch | undefined): Listener {
  return listenerOf(
    config,
    name,
    certificate !== undefined,
    server,
    certificate,
    () => server.closeIdleConnections(),
    () => server.closeAllConnections(),
  );
}

/** HTTPS with h2 offered by ALPN and HTTP/1.1 for the clients that do not take it. */
function createHttp2Listener(
  config: ListenerConfig & { tls: ListenTlsConfig },
  name: string,
  options: SecureServerOptions,
  handler: RequestHandler,
  onHttp1: (server: NetServer) => void,
  deps: ListenerDeps,
): Listener {
  const tls = config.tls;
  // The http2 compatibility API's request and response stand in for node:http's (see above).
  const server = createSecureServer({ ...options, allowHTTP1: true }, handler as unknown as Parameters<typeof createSecureServer>[1]);
  // Read by the HTTP/1.1 connection handling allowHTTP1 runs on this server; unset, a kept-alive connection would never time out.
  Object.assign(server, { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, requestTimeout: 0 });
  server.setTimeout(Math.max(deps.clientIdleMs, KEEP_ALIVE_TIMEOUT_MS));
  onHttp1(server as unknown as NetServer);
  watchTls(server, deps);
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('sessionError', (err: Error) => deps.logger.debug({ event: 'client-error', err: err.message }, 'HTTP/2 session error'));
  const certificate = watchCertificate(server, tls, name, deps.logger, deps.metrics);
  return listenerOf(
    config,
    name,
    true,
    server,
    certificate,
    () => {
      // Present at run time with allowHTTP1 (it ends idle HTTP/1.1 connections), missing from @types/node 20.
      (server as unknown as HttpServer).closeIdleConnections();
      // GOAWAY: no new streams; each session closes once its streams are done.
      for (const session of sessions) session.close();
    },
    () => {
      HttpServer.prototype.closeAllConnections.call(server as unknown as HttpServer);
      for (const session of sessions) session.destroy();
    },
  );
}

/** Counts each TLS connection by the protocol ALPN chose; a failed handshake costs that connection only. */
function watchTls(server: TlsServer | Http2SecureServer, { logger, metrics }: ListenerDeps): void {
  server.on('secureConnection', (socket: TLSSocket) => metrics.tlsConnection(socket.alpnProtocol || 'http/1.1'));
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    logger.debug({ event: 'client-error', code: err.code }, 'TLS handshake failed');
    socket.destroy();
  });
}

function listenerOf(
  address: ListenerConfig,
  name: string,
  tls: boolean,
  server: NetServer,
  certificate: CertificateWatch | undefined,
  closeIdleConnections: () => void,
  closeAllConnections: () => void,
): Listener {
  return {
    name,
    tls,
    server,
    certificate,
    listen() {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.port, address.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      certificate?.close();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
    closeIdleConnections,
    closeAllConnections,
  };
}
