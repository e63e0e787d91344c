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
      return canServe(gateway)
        ? sendText(res, 200, 'text/plain', 'ready\n')
        : sendText(res, 503, 'text/plain', 'no upstream can take a request and the cache holds nothing\n');
    case '/metrics':
      return sendText(res, 200, metrics.contentType, await metrics.render());
    default:
      return sendRegistryError(res, 'NOT_FOUND', `no such endpoint: ${pathname}`);
  }
}

/**
 * "This replica can serve" (issue 12): some upstream takes requests, or the cache holds content
 * it can answer from. An upstream outage then does not take every replica out of a Kubernetes
 * Service at once: each keeps serving what it cached (a tag's last manifest, its blobs), and a
 * cold replica, which could only fail, leaves.
 */
function canServe(gateway: Gateway): boolean {
  return gateway.current.registries.ready || (gateway.cache?.blobs.store.count ?? 0) > 0;
}
