/**
 * Tiny bounded HTTP client for the e2e helpers (node:http, no connection pooling,
 * so no keep-alive socket can keep a test process alive or hide a frozen peer).
 */
import { request } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface HttpGetOptions {
  /** Whole-request deadline (connect + headers + body). Default 2000 ms. */
  timeoutMs?: number;
  method?: string;
  headers?: Record<string, string>;
}

export class HttpTimeoutError extends Error {
  override readonly name = 'HttpTimeoutError';
}

export function httpGet(url: string, opts: HttpGetOptions = {}): Promise<HttpResponse> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(res as HttpResponse);
    };
    const req = request(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      const err = new HttpTimeoutError(`${opts.method ?? 'GET'} ${url} timed out after ${timeoutMs} ms`);
      finish(err);
      req.destroy(err);
    }, timeoutMs);
    req.on('error', (err) => finish(err));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => finish(err));
      res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.end();
  });
}
