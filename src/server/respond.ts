/**
 * The one place that turns outcomes into client responses: a fetch's result, a registry error
 * from the one table (registry/errors.ts), a local answer.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FetchResult } from '../proxy/fetch-result.js';
import { registryError, type RegistryErrorCode } from '../registry/errors.js';
import { clientResponseHeaders } from '../registry/headers.js';
import type { CapturedResponse } from '../stream/sink.js';

/** Every registry answer carries it; dockerd checks it on /v2/ (distribution spec "API Version Check"). */
export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' } as const;

/** Seconds a client is told to wait when no upstream could answer. */
const UNAVAILABLE_RETRY_AFTER = '5';

/** nginx's code for "the client closed the connection before the answer was complete". */
export const CLIENT_CLOSED = 499;

function sendBody(res: ServerResponse, status: number, contentType: string, body: string, extra?: Record<string, string>): void {
  res.writeHead(status, {
    ...API_VERSION_HEADER,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): number {
  sendBody(res, status, 'application/json', JSON.stringify(value));
  return status;
}

export function sendText(res: ServerResponse, status: number, contentType: string, body: string): number {
  sendBody(res, status, contentType, body);
  return status;
}

/** Returns the status sent. */
export function sendRegistryError(res: ServerResponse, code: RegistryErrorCode, message?: string, extraHeaders?: Record<string, string>): number {
  const { status, body } = registryError(code, message);
  sendBody(res, status, 'application/json', body, extraHeaders);
  return status;
}

/**
 * A registry error written straight onto a socket that node:http has handed over (a CONNECT),
 * then the connection is closed. Returns the status sent.
 */
export function endWithRegistryError(socket: Duplex, code: RegistryErrorCode, message: string, extraHeaders: Record<string, string> = {}): number {
  const { status, body } = registryError(code, message);
  const headers = {
    ...API_VERSION_HEADER,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...extraHeaders,
    connection: 'close',
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head.join('')}\r\n${body}`);
  return status;
}

/**
 * Sends an upstream answer that was captured whole rather than streamed: the last 404 when every
 * mirror lacked the content, or a redirect passed through.
 */
export function sendCaptured(res: ServerResponse, response: CapturedResponse): number {
  const headers = clientResponseHeaders(response.headers);
  // The body was captured whole, so its length is known whatever the upstream framed it with.
  headers['content-length'] = response.body.length;
  res.writeHead(response.status, { ...API_VERSION_HEADER, ...headers });
  res.end(response.body);
  return response.status;
}

/** Finishes the client's response for a fetch's result; returns the status to log. */
export function answerFetch(res: ServerResponse, result: FetchResult): number {
  switch (result.kind) {
    case 'relayed':
      return result.status;
    case 'answer':
      return sendCaptured(res, result.response);
    case 'unavailable':
      return sendRegistryError(res, 'UNAVAILABLE', undefined, { 'retry-after': UNAVAILABLE_RETRY_AFTER });
    case 'broken':
      // Headers are out: the only honest signal left is a cut connection (the client sees a
      // short body and retries).
      res.destroy(result.error);
      return res.statusCode;
    case 'aborted':
      return CLIENT_CLOSED;
  }
}

/** A bug, not an upstream failure: a 500 if the headers are not out yet, else a cut connection. */
export function answerInternalError(res: ServerResponse): void {
  if (!res.headersSent) sendRegistryError(res, 'UNKNOWN', 'internal error');
  else res.destroy();
}
