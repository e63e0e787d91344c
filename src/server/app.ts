/**
 * Wires the gateway together: HTTP server, request handler, live config with reloads, and the
 * graceful shutdown sequence. cli.ts turns process signals into calls on this.
 */
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { ConfigError, type ConfigOverrides } from '../config/load.js';
import { loadConfigOffThread } from '../config/load-off-thread.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { watchConfigFile } from './config-watcher.js';
import { Gateway } from './gateway.js';
import { refuseConnect } from './connect.js';
import { createHandler } from './handler.js';
import { createListener, type Listener, type RequestHandler } from './listeners.js';
import { openCache } from './open-cache.js';
import { startPrefetch } from './prefetch.js';
import type { PrefetchSchedule } from '../cache/prefetch-schedule.js';
import { RequestLog } from './request-log.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Environment for `${VAR}` in reloaded files. */
  readonly env?: Record<string, string | undefined>;
  /** Values set beside the file (`--listen`): a reload keeps them over the file's. */
  readonly overrides?: ConfigOverrides;
  /** The clock tag freshness and remembered 404s are judged by (tests move it instead of waiting). */
  readonly now?: () => number;
}

/** Where one listener ended up (port 0 in the config: the port the system chose). */
export interface BoundListener extends AddressInfo {
  readonly tls: boolean;
}

export interface App {
  /** One per `listen:` entry, in file order. */
  readonly listeners: readonly Listener[];
  readonly gateway: Gateway;
  /** Binds every listener, in order; the first that fails rejects (with its errno code) and the others are closed. */
  listen(): Promise<BoundListener[]>;
  /** Re-reads the config file; true when the new one is in effect. */
  reload(): Promise<boolean>;
  /** Also reloads whenever the config file changes on disk. */
  watchConfig(): void;
  /** Stops accepting, lets requests finish for up to the drain timeout, then cuts the rest. */
  shutdown(): Promise<void>;
}

/** Throws when a listener cannot be built (a TLS listener's certificate files do not load). */
export function createApp(config: Config, deps: AppDeps): App {
  const { logger, metrics } = deps;
  const gateway = new Gateway(config, logger, metrics);
  const handler = createHandler({ gateway, logger, metrics }) as RequestHandler;
  const onHttp1 = http1Guards(logger, metrics);
  const listeners: Listener[] = [];
  try {
    for (const listenerConfig of config.listen)
      listeners.push(createListener(listenerConfig, handler, onHttp1, { logger, metrics, clientIdleMs: config.clientIdleMs }));
  } catch (err) {
    for (const listener of listeners) void listener.close();
    throw err;
  }
  let watcher: { close(): void } | undefined;
  const inflight = countInflight(listeners.map((listener) => listener.server));
  let prefetch: PrefetchSchedule | undefined;

  const reload = (): Promise<boolean> => reloadConfig(gateway, deps, (config) => prefetch?.apply(config.prefetch));

  return {
    listeners,
    gateway,
    async listen() {
      gateway.cache ??= await openCache(gateway.current.config, logger, metrics, deps.now);
      prefetch ??= startPrefetch(gateway, logger, metrics);
      const bound: BoundListener[] = [];
      for (const listener of listeners) {
        try {
          bound.push({ ...(await listener.listen()), tls: listener.tls });
        } catch (err) {
          for (const other of listeners) if (other.server.listening) await other.close();
          throw Object.assign(err as Error, { listener: listener.name });
        }
      }
      return bound;
    },
    reload,
    watchConfig() {
      watcher ??= watchConfigFile(gateway.current.config.source, () => void reload());
    },
    async shutdown() {
      watcher?.close();
      // Its fills end with the others below; this ends its reads and its timer.
      const prefetchStopped = prefetch?.stop();
      const closed = Promise.all(listeners.filter((listener) => listener.server.listening).map((listener) => listener.close()));
      for (const listener of listeners) listener.closeIdleConnections();
      const outcome = await inflight.drained(gateway.current.config.shutdown.drainTimeoutMs);
      if (outcome === 'timeout') logger.warn({ event: 'shutdown', inflight: inflight.count }, 'drain timeout: cutting the remaining requests');
      // Keep-alive connections that served their last response would otherwise hold close() open.
      for (const listener of listeners) listener.closeAllConnections();
      await closed;
      // Fills outlive their clients; a stopping gateway ends them rather than wait for the downloads.
      await gateway.cache?.blobs.close();
      await prefetchStopped;
      await gateway.cache?.manifests.flushed();
      await gateway.cache?.saveTags?.();
      await (outcome === 'timeout' ? gateway.destroy() : gateway.close());
    },
  };
}

/** What every HTTP/1.1 connection gets, on a plain listener or a TLS one. */
function http1Guards(logger: Logger, metrics: Metrics): (server: NetServer) => void {
  const refuse = refuseConnect(new RequestLog(logger, metrics));
  return (server) => {
    // Garbage on a connection (skopeo's TLS ClientHello to a plain-HTTP port, port scanners) must
    // cost that connection only: answer 400 if the socket can still take it, and move on.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      logger.debug({ event: 'client-error', code: err.code }, 'malformed request on a client connection');
      // A socket already ending carries its answer (the handler's 400 to an unknown transfer
      // coding, whose body llhttp then fails to parse): a second status line would corrupt it.
      if (socket.writableEnded) return;
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    server.on('connect', refuse);
  };
}

/** Re-reads the config file (in a worker thread) and swaps it in; a bad file is logged and the running config stays. */
async function reloadConfig(gateway: Gateway, { logger, metrics, env, overrides }: AppDeps, applied: (config: Config) => void): Promise<boolean> {
  const source = gateway.current.config.source;
  try {
    // Off the request thread: a file's parsing cost is the file's to decide (load-off-thread.ts).
    const next = await loadConfigOffThread(source, env ?? process.env, undefined, overrides);
    const previous = gateway.current.config;
    if (JSON.stringify(next.listen) !== JSON.stringify(previous.listen)) {
      logger.warn({ event: 'reload' }, 'listen changed: it takes effect at the next restart (certificates are re-read whenever their files change)');
    }
    gateway.apply(next);
    applied(next);
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

/** Requests in flight, and a way to wait until there are none (or a timeout runs out). */
function countInflight(servers: readonly NetServer[]): { readonly count: number; drained(timeoutMs: number): Promise<'done' | 'timeout'> } {
  let count = 0;
  let onZero: (() => void) | undefined;
  const counted = (_req: unknown, res: { once(event: 'close', listener: () => void): unknown }): void => {
    count++;
    res.once('close', () => {
      count--;
      if (count === 0) onZero?.();
    });
  };
  for (const server of servers) server.on('request', counted);
  return {
    get count() {
      return count;
    },
    async drained(timeoutMs) {
      if (count === 0) return 'done';
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise<'done'>((resolve) => (onZero = () => resolve('done')));
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const outcome = await Promise.race([done, timedOut]);
      clearTimeout(timer);
      return outcome;
    },
  };
}
