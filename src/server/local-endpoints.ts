/**
 * What the gateway answers about itself, outside the registry API: liveness, readiness and the
 * Prometheus exposition.
 */
import type { ServerResponse } from 'node:http';
import type { Metrics } from '../observability/metrics.js';
import type { Gateway } from './gateway.js';
import { sendRegistryError, sendText } from './respond.js';

/** Resolves to the status sent. */
export async function answerLocal(res: ServerResponse, pathname: string, gateway: Gateway, metrics: Metrics): Promise<number> {
  switch (pathname) {
    case '/healthz':
      return sendText(res, 200, 'text/plain', 'ok\n');
    case '/readyz':
      return gateway.current.registries.ready
        ? sendText(res, 200, 'text/plain', 'ready\n')
        : sendText(res, 503, 'text/plain', 'no upstream can take a request\n');
    case '/metrics':
      return sendText(res, 200, metrics.contentType, await metrics.render());
    default:
      return sendRegistryError(res, 'NOT_FOUND', `no such endpoint: ${pathname}`);
  }
}
