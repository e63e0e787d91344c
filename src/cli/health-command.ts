/**
 * `mirrorgate health`: GET /healthz of the gateway where the config says it listens (a container
 * HEALTHCHECK). A plain listener if there is one; else a TLS one, whose certificate names the
 * company endpoint rather than the loopback address asked here, so it is not verified: this
 * checks that the process answers, not who it is.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIPv6 } from 'node:net';
import type { ListenerConfig } from '../config/types.js';

/** How long `health` waits for the answer: below the Containerfile's HEALTHCHECK --timeout. */
const HEALTH_TIMEOUT_MS = 4000;

/** The URL asked and its status, or what went wrong instead of one. */
export function askHealth(listeners: readonly ListenerConfig[]): Promise<{ url: string; status: number | string }> {
  const listener = listeners.find((l) => l.tls === undefined) ?? listeners[0]!;
  const { host, port } = listener;
  // A wildcard listener answers on loopback; a named address only where it says.
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : isIPv6(host) ? `[${host}]` : host;
  const tls = listener.tls !== undefined;
  const url = `${tls ? 'https' : 'http'}://${target}:${port}/healthz`;
  return new Promise((resolve) => {
    const options = { timeout: HEALTH_TIMEOUT_MS, ...(tls ? { rejectUnauthorized: false } : {}) };
    const req = (tls ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume();
      resolve({ url, status: res.statusCode ?? 0 });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ url, status: err.message }));
    req.end();
  });
}
