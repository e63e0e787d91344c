/**
 * HEAD requests to an upstream over node:http(s) with keep-alive.
 *
 * Why not undici: undici closes the connection after every HEAD on purpose (undici issue #258:
 * interop with servers that send a body anyway), so each HEAD would cost a new TCP and TLS
 * handshake. containerd sends a HEAD before every manifest GET, and Docker Hub wants HEADs (they
 * do not count against its pull rate limit): they must be cheap. Registries answer HEAD without
 * a body, so node's keep-alive agent is safe here.
 *
 * It speaks the same dispatch-handler interface as undici (onRequestStart, onResponseStart,
 * onResponseEnd, onResponseError), so the RelayHandler does not know the difference.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Dispatcher } from 'undici';

export interface HeadDispatcherOptions {
  readonly maxSockets: number;
  /** Connect plus waiting for the response headers. */
  readonly timeoutMs: number;
  readonly rejectUnauthorized: boolean;
  readonly ca?: readonly string[];
}

/** The part of undici's Dispatcher that relay() uses. */
export interface RelayDispatcher {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

class HeadTimeoutError extends Error {
  // The code undici uses for the same situation, so failure classification stays in one place.
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

export class HeadDispatcher implements RelayDispatcher {
  readonly #origin: URL;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  readonly #timeoutMs: number;
  #inflight = 0;
  #closed: (() => void) | undefined;

  constructor(origin: string, options: HeadDispatcherOptions) {
    this.#origin = new URL(origin);
    const https = this.#origin.protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets,
      // Every socket may go idle between bursts: a smaller free list would close and reopen them.
      maxFreeSockets: options.maxSockets,
      // Idle sockets close after 4 s (or 1 s before the server's Keep-Alive hint), like undici's
      // default, so a reused socket is never one the server is closing at that moment.
      timeout: 4000,
      scheduling: 'lifo' as const,
    };
    this.#agent = https
      ? new HttpsAgent({ ...agentOptions, rejectUnauthorized: options.rejectUnauthorized, ...(options.ca === undefined ? {} : { ca: [...options.ca] }) })
      : new HttpAgent(agentOptions);
    this.#request = https ? httpsRequest : httpRequest;
    this.#timeoutMs = options.timeoutMs;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.#inflight++;
    let settled = false;
    const req = this.#request({
      agent: this.#agent,
      protocol: this.#origin.protocol,
      hostname: this.#origin.hostname.replace(/^\[|\]$/g, ''),
      port: this.#origin.port,
      method: 'HEAD',
      path: options.path,
      headers: options.headers as Record<string, string>,
    });
    const controller: Dispatcher.DispatchController = {
      aborted: false,
      paused: false,
      reason: null,
      abort: (reason: Error) => req.destroy(reason),
      pause: () => {},
      resume: () => {},
    };
    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      if (--this.#inflight === 0) this.#closed?.();
    };
    const timer = setTimeout(() => req.destroy(new HeadTimeoutError(`no response headers within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      handler.onResponseStart?.(controller, res.statusCode ?? 0, res.headers as IncomingHttpHeaders, res.statusMessage);
      res.on('end', () => {
        finish();
        handler.onResponseEnd?.(controller, {});
      });
      res.on('error', (err) => {
        if (settled) return;
        finish();
        handler.onResponseError?.(controller, err);
      });
      res.resume();
    });
    req.on('error', (err) => {
      if (settled) return;
      finish();
      handler.onResponseError?.(controller, err);
    });
    handler.onRequestStart?.(controller, {});
    req.end();
    return true;
  }

  /** Waits for HEADs in flight, then closes the kept-alive sockets. */
  async close(): Promise<void> {
    if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#closed = resolve));
    this.#agent.destroy();
  }

  destroy(): void {
    this.#agent.destroy();
  }
}
