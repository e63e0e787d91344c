/**
 * Manifest answers the cache writes itself (from memory, or a remembered 404), and the sink that
 * keeps a copy of a manifest while it is relayed, so it can be remembered.
 */
import type { FetchResult } from '../proxy/fetch-result.js';
import { registryError } from '../registry/errors.js';
import type { ResponseHeaders, Sink } from '../stream/sink.js';
import type { CachedManifest } from './manifest-memory.js';

/** The `upstream` of a response the cache served (metrics and the log line). */
export const FROM_CACHE = 'cache';

/** Larger than any manifest worth keeping (ManifestMemory refuses them too). */
const MAX_CAPTURE_BYTES = 1024 * 1024;

/** A manifest from memory as the whole answer; `X-Cache` says HIT or STALE. */
export function sendManifest(kept: CachedManifest, digest: string, cache: 'HIT' | 'STALE', method: 'GET' | 'HEAD', sink: Sink): FetchResult {
  sink.start(200, { 'content-type': kept.contentType, 'content-length': String(kept.body.length), 'docker-content-digest': digest, 'x-cache': cache });
  if (method === 'GET') sink.write(kept.body);
  sink.end();
  return { kind: 'relayed', upstream: FROM_CACHE, status: 200, bytes: method === 'GET' ? kept.body.length : 0, attempts: 0, failovers: [] };
}

/**
 * A 404 MANIFEST_UNKNOWN for a tag, from the one error table. `upstream` is who said so (the
 * authority, or the cache for a remembered 404, which then says `X-Cache: NEGATIVE`).
 */
export function sendTagNotFound(method: 'GET' | 'HEAD', sink: Sink, upstream: string, attempts: number): FetchResult {
  const { status, body } = registryError('MANIFEST_UNKNOWN');
  // The API version header, as on every registry error (dockerd reads the JSON body to fall back to its next endpoint).
  const headers: ResponseHeaders = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'docker-distribution-api-version': 'registry/2.0',
  };
  if (upstream === FROM_CACHE) headers['x-cache'] = 'NEGATIVE';
  sink.start(status, headers);
  if (method === 'GET') sink.write(Buffer.from(body));
  sink.end();
  return { kind: 'relayed', upstream, status, bytes: method === 'GET' ? Buffer.byteLength(body) : 0, attempts, failovers: [] };
}

/** Passes everything on and keeps a copy of a small 200 body (a manifest). */
export class CapturingSink implements Sink {
  #chunks: Buffer[] | undefined;
  #size = 0;
  contentType = 'application/octet-stream';
  constructor(private readonly sink: Sink) {}
  start(status: number, headers: ResponseHeaders): void {
    this.sink.start(status, headers);
    if (status !== 200) return;
    this.#chunks = [];
    const type = headers['content-type'];
    if (typeof type === 'string') this.contentType = type;
  }
  write(chunk: Buffer): boolean {
    if (this.#chunks !== undefined) {
      this.#size += chunk.length;
      if (this.#size > MAX_CAPTURE_BYTES) this.#chunks = undefined;
      else this.#chunks.push(chunk);
    }
    return this.sink.write(chunk);
  }
  onceDrain(resume: () => void): void {
    this.sink.onceDrain(resume);
  }
  end(): void {
    this.sink.end();
  }
  get body(): Buffer | undefined {
    return this.#chunks === undefined ? undefined : Buffer.concat(this.#chunks);
  }
}
