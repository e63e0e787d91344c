/**
 * An HTML page is never served as a manifest (issue 13, item 1): a mirror behind a captive
 * portal, a CDN error page or a misconfigured proxy answers `200 text/html`, and a 200 is a
 * success to everything downstream — the client gets the page and the breaker never hears of
 * it. A manifest is small, so its answer is held whole (bounded by MAX_MANIFEST_BYTES) and
 * passed on only once it is one: a manifest media type, JSON that parses to an object, and
 * for a reference by digest, a Docker-Content-Digest and bytes that match it; by tag, bytes that
 * match the Docker-Content-Digest the mirror sent with them (a flipped byte that still parses
 * would otherwise reach the client, and the cache would keep it as the tag's manifest; found by
 * the fault matrix, test/faults/). Anything else is
 * refused before a byte went on, so the fetch fails over and the upstream is charged with the
 * failure. A HEAD has no body: its Content-Type is what can be checked.
 */
import { createHash, getHashes } from 'node:crypto';
import { MAX_MANIFEST_BYTES, digestCoversBody, isManifestMediaType } from '../registry/media-types.js';
import { BadManifestError, DigestMismatchError } from '../stream/errors.js';
import { headerValue, type ResponseHeaders, type Sink } from '../stream/sink.js';

export interface ManifestCheck {
  readonly method: 'GET' | 'HEAD';
  /** The reference when it is a digest (`sha256:<hex>`) and digests are verified; else undefined. */
  readonly digest: string | undefined;
  /** By tag, with digests verified: the bytes must hash to the upstream's own Docker-Content-Digest, when it sends one. */
  readonly checkAnnounced: boolean;
}

export function manifestCheckingSink(sink: Sink, check: ManifestCheck): Sink {
  return new ManifestCheckingSink(sink, check.method, check.digest, check.checkAnnounced);
}

/** Registered digest algorithms node:crypto can compute; another one is not checked. */
const HASHES = new Set(['sha256', 'sha512'].filter((algorithm) => getHashes().includes(algorithm)));

class ManifestCheckingSink implements Sink {
  /** Set while a 200 GET is held: its status and headers, not yet passed on. */
  #held: { status: number; headers: ResponseHeaders } | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  /** The digest the held body must hash to: the one asked for, or (by tag) the one the upstream announced. */
  #expected: string | undefined;

  constructor(
    private readonly sink: Sink,
    private readonly method: 'GET' | 'HEAD',
    private readonly digest: string | undefined,
    private readonly checkAnnounced: boolean,
  ) {}

  start(status: number, headers: ResponseHeaders): void {
    // One sink serves every attempt of the fetch: a refused answer's bytes are not the next one's.
    this.#held = undefined;
    this.#chunks = [];
    this.#size = 0;
    this.#expected = this.digest;
    // Only a success claims to be a manifest; a 304 or another status passes as it is.
    if (status === 200) this.#checkHeaders(headers);
    if (status !== 200 || this.method === 'HEAD') return this.sink.start(status, headers);
    this.#held = { status, headers };
  }

  write(chunk: Buffer): boolean {
    if (this.#held === undefined) return this.sink.write(chunk);
    this.#size += chunk.length;
    if (this.#size > MAX_MANIFEST_BYTES) throw new BadManifestError(`body larger than ${MAX_MANIFEST_BYTES} bytes`, this.#size);
    this.#chunks.push(chunk);
    // Held in memory, bounded: reading on at upstream speed frees the connection sooner.
    return true;
  }

  onceDrain(resume: () => void): void {
    this.sink.onceDrain(resume);
  }

  /** A held answer that breaks mid-body (reset, stall, short) fails over: the client got nothing of it. */
  withholding(): boolean {
    return this.#held !== undefined;
  }

  end(): void {
    const held = this.#held;
    if (held !== undefined) {
      const body = Buffer.concat(this.#chunks, this.#size);
      this.#checkBody(body);
      this.#held = undefined;
      this.sink.start(held.status, held.headers);
      if (body.length > 0) this.sink.write(body);
    }
    this.sink.end();
  }

  #checkHeaders(headers: ResponseHeaders): void {
    const type = headerValue(headers, 'content-type');
    if (!isManifestMediaType(type)) throw new BadManifestError(`Content-Type ${JSON.stringify(type ?? '')} is not a manifest type`);
    const length = Number(headerValue(headers, 'content-length') ?? 0);
    if (length > MAX_MANIFEST_BYTES) throw new BadManifestError(`Content-Length ${length} is larger than a manifest may be`);
    const announced = headerValue(headers, 'docker-content-digest');
    if (this.digest !== undefined && announced !== undefined && announced !== this.digest) {
      throw new DigestMismatchError(`Docker-Content-Digest ${announced.slice(0, 19)}… is not the digest asked for`, false);
    }
    if (this.digest === undefined && this.checkAnnounced && digestCoversBody(type)) this.#expected = announced;
  }

  #checkBody(body: Buffer): void {
    if (!isJsonObject(body)) throw new BadManifestError('body is not a JSON object', body.length);
    const digest = this.#expected;
    if (digest === undefined) return;
    const colon = digest.indexOf(':');
    const algorithm = digest.slice(0, colon);
    if (!HASHES.has(algorithm)) return;
    const actual = createHash(algorithm).update(body).digest('hex');
    if (actual !== digest.slice(colon + 1)) {
      throw new DigestMismatchError(`content does not match ${digest.slice(0, 19)}…: got ${algorithm}:${actual.slice(0, 12)}…`, false, body.length);
    }
  }
}

function isJsonObject(body: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
