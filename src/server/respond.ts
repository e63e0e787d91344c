/**
 * The one place that turns outcomes into client responses that the gateway writes itself.
 */
import type { ServerResponse } from 'node:http';
import { registryError, type RegistryErrorCode } from '../registry/errors.js';
import { clientResponseHeaders } from '../registry/headers.js';
import type { DeclinedResponse } from '../upstream/relay-handler.js';

/** Every registry answer carries it; dockerd checks it on /v2/ (distribution spec "API Version Check"). */
export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' } as const;

function sendBody(res: ServerResponse, status: number, contentType: string, body: string, extra?: Record<string, string>): void {
  res.writeHead(status, {
    ...API_VERSION_HEADER,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendBody(res, status, 'application/json', JSON.stringify(value));
}

export function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  sendBody(res, status, contentType, body);
}

export function sendRegistryError(
  res: ServerResponse,
  code: RegistryErrorCode,
  message?: string,
  extraHeaders?: Record<string, string>,
): number {
  const { status, body } = registryError(code, message);
  sendBody(res, status, 'application/json', body, extraHeaders);
  return status;
}

/**
 * Sends an upstream answer that was captured whole rather than streamed: the last 404 when every
 * mirror lacked the content, or a redirect passed through.
 */
export function sendCaptured(res: ServerResponse, response: DeclinedResponse): number {
  const headers = clientResponseHeaders(response.headers);
  // The body was captured whole, so its length is known whatever the upstream framed it with.
  headers['content-length'] = response.body.length;
  res.writeHead(response.status, { ...API_VERSION_HEADER, ...headers });
  res.end(response.body);
  return response.status;
}
