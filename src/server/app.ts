/**
 * Wires the gateway together: HTTP server, request handler, live config with reloads, and the
 * graceful shutdown sequence. cli.ts turns process signals into calls on this.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { watchConfigFile } from './config-watcher.js';
import { Gateway } from './gateway.js';
import { createHandler } from './handler.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Environment for `${VAR}` in reloaded files. */
  readonly env?: Record<string, string | undefined>;
}

export interface App {
  readonly server: Server;
  readonly gateway: Gateway;
  listen(): Promise<AddressInfo>;
  /** Re-reads the config file; true when the new one is in effect. */
  reload(): Promise<boolean>;
  /** Also reloads whenever the config file changes on disk. */
  watchConfig(): void;
  /** Stops accepting, lets requests finish for up to the drain timeout, then cuts the rest. */
  shutdown(): Promise<void>;
}

export function createApp(config: Config, deps: AppDeps): App {
  const { logger, metrics } = deps;
  const gateway = new Gateway(config, logger, metrics);
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, createHandler({ gateway, logger, metrics }));
  let watcher: { close(): void } | undefined;
  let inflight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  server.on('request', (_req, res) => {
    inflight++;
    res.once('close', () => {
      inflight--;
      if (draining && inflight === 0) drained?.();
    });
  });

  // Garbage on a connection (skopeo's TLS ClientHello to a plain-HTTP port, port scanners) must
  // cost that connection only: answer 400 if the socket can still take it, and move on.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    logger.debug({ event: 'client-error', code: err.code }, 'malformed request on a client connection');
    if (socket.writable && !socket.writableEnded) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  async function reload(): Promise<boolean> {
    const source = gateway.current.config.source;
    try {
      const next = await loadConfigFile(source, deps.env ?? process.env);
      const previous = gateway.current.config;
      if (next.listen.host !== previous.listen.host || next.listen.port !== previous.listen.port) {
        logger.warn({ event: 'reload' }, 'listen address changed: it takes effect at the next restart');
      }
      gateway.apply(next);
      logger.level = next.log.level;
      metrics.configReload('success');
      logger.info({ event: 'reload', source }, 'configuration reloaded');
      return true;
    } catch (err) {
      metrics.configReload('error');
      const problems = err instanceof ConfigError ? err.message.split('\n') : [String((err as Error).message ?? err)];
      logger.error({ event: 'reload', source, problems }, 'configuration reload failed; keeping the running configuration');
      return false;
    }
  }

  return {
    server,
    gateway,
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        const { host, port } = gateway.current.config.listen;
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    reload,
    watchConfig() {
      watcher ??= watchConfigFile(gateway.current.config.source, () => void reload());
    },
    async shutdown() {
      watcher?.close();
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const allDone = inflight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
      const drainMs = gateway.current.config.shutdown.drainTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), drainMs)));
      const outcome = await Promise.race([allDone, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') logger.warn({ event: 'shutdown', inflight }, 'drain timeout: cutting the remaining requests');
      // Keep-alive connections that served their last response would otherwise hold close() open.
      server.closeAllConnections();
      await closed;
      await (outcome === 'timeout' ? gateway.destroy() : gateway.close());
    },
  };
}
