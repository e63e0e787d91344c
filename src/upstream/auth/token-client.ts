/**
 * Fetches a Bearer token from a registry's token service (distribution "Token Authentication
 * Specification"): `GET realm?service=…&scope=…`, with the upstream's credentials as Basic auth
 * when it has any. The JSON reply carries `token` and/or `access_token`, `expires_in` (60 s
 * when absent) and optionally `issued_at`.
 */
import type { Dispatcher } from 'undici';
import type { IssuedToken } from './token-cache.js';

/** The spec's default lifetime when the service does not say. */
const DEFAULT_EXPIRES_IN_SEC = 60;
/** A token reply is a few KB; anything larger is not one. */
const MAX_REPLY_BYTES = 256 * 1024;

export class TokenFetchError extends Error {
  readonly code = 'TOKEN_FETCH_FAILED';
}

export interface TokenRequest {
  readonly realm: string;
  readonly service?: string;
  readonly scope: string;
  /** `Basic …` header value, or undefined for anonymous. */
  readonly basicAuthorization?: string;
  readonly userAgent: string;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

export function tokenUrl(realm: string, service: string | undefined, scope: string): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new TokenFetchError('token realm is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TokenFetchError(`token realm must be http(s), got ${url.protocol}`);
  if (service !== undefined) url.searchParams.set('service', service);
  url.searchParams.append('scope', scope);
  return url;
}

export async function fetchToken(dispatcher: Dispatcher, request: TokenRequest, now: () => number = Date.now): Promise<IssuedToken> {
  const url = tokenUrl(request.realm, request.service, request.scope);
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': request.userAgent };
  if (request.basicAuthorization !== undefined) headers['authorization'] = request.basicAuthorization;
  const response = await dispatcher
    .request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers,
      headersTimeout: request.headersTimeoutMs,
      bodyTimeout: request.bodyTimeoutMs,
    })
    .catch((err: unknown) => {
      throw new TokenFetchError(`token service ${url.host} unreachable: ${(err as Error).message}`, { cause: err });
    });
  // The realm's answer never reaches a log line: a failure is described by its status alone.
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new TokenFetchError(`token service ${url.host} answered ${response.statusCode}`);
  }
  const text = await readLimited(response.body, MAX_REPLY_BYTES);
  let reply: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    reply = JSON.parse(text) as typeof reply;
  } catch {
    throw new TokenFetchError(`token service ${url.host} answered with something that is not JSON`);
  }
  const token = typeof reply.token === 'string' && reply.token !== '' ? reply.token : reply.access_token;
  if (typeof token !== 'string' || token === '') throw new TokenFetchError(`token service ${url.host} answered without a token`);
  const expiresInSec = typeof reply.expires_in === 'number' && reply.expires_in > 0 ? reply.expires_in : DEFAULT_EXPIRES_IN_SEC;
  const issued = typeof reply.issued_at === 'string' ? Date.parse(reply.issued_at) : Number.NaN;
  // A service clock ahead of ours must not stretch the lifetime: never later than now.
  const issuedAtMs = Number.isFinite(issued) ? Math.min(issued, now()) : now();
  return { token, expiresInSec, issuedAtMs };
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new TokenFetchError('token reply too large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
