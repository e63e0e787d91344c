/**
 * Never serve wrong bytes: content addressed by digest (a blob, or a manifest asked for by
 * digest) is hashed while it streams, and the client's response is completed only when the
 * hash matches. The last chunk is held back until then, so on a mismatch the client gets a cut
 * connection (and retries) instead of a complete response with wrong content.
 */
import { createHash, getHashes, type Hash } from 'node:crypto';
import { DigestMismatchError } from '../stream/errors.js';
import type { ResponseHeaders, Sink } from '../stream/sink.js';
import { promisedRange } from './resume.js';

/** Registered digest algorithms (distribution spec) that node:crypto can compute. */
const SUPPORTED = new Set(['sha256', 'sha512'].filter((algorithm) => getHashes().includes(algorithm)));

/**
 * Wraps `sink` to verify a full (200) response against `digest` ("sha256:<hex>"). Partial
 * responses (206) and unknown algorithms pass through unverified; clients verify those parts.
 */
export function verifyingSink(sink: Sink, digest: string): Sink {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  if (!SUPPORTED.has(algorithm)) return sink;
  return new VerifyingSink(sink, algorithm, digest.slice(colon + 1));
}

/**
 * What is held back is only the chunk that completes the body when the upstream announced its
 * length, so a paused slow reader costs no extra chunk of memory; without a Content-Length
 * every chunk waits for the next one (the last is not known until the end).
 */
class VerifyingSink implements Sink {
  #hash: Hash | undefined;
  #length: number | undefined;
  #received = 0;
  #held: Buffer | undefined;

  constructor(
    private readonly sink: Sink,
    private readonly algorithm: string,
    private readonly expected: string,
  ) {}

  start(status: number, headers: ResponseHeaders): void {
    this.sink.start(status, headers);
    if (status !== 200) return;
    this.#hash = createHash(this.algorithm);
    // A 200's promised range is the whole body: 0 .. Content-Length − 1.
    const promised = promisedRange(status, headers);
    this.#length = promised === undefined ? undefined : promised.end + 1;
  }

  write(chunk: Buffer): boolean {
    const hash = this.#hash;
    if (hash === undefined) return this.sink.write(chunk);
    hash.update(chunk);
    this.#received += chunk.length;
    if (this.#length !== undefined) {
      if (this.#received < this.#length) return this.sink.write(chunk);
      this.#held = chunk;
      return true;
    }
    const previous = this.#held;
    this.#held = chunk;
    return previous === undefined ? true : this.sink.write(previous);
  }

  onceDrain(resume: () => void): void {
    this.sink.onceDrain(resume);
  }

  end(): void {
    if (this.#hash !== undefined) {
      const actual = this.#hash.digest('hex');
      if (actual !== this.expected) {
        // The held-back chunk never left: the log line and the byte counter must not count it.
        const withheld = this.#held?.length ?? 0;
        throw new DigestMismatchError(`content does not match ${this.algorithm}:${this.expected.slice(0, 12)}…: got ${actual.slice(0, 12)}…`, true, withheld);
      }
      if (this.#held !== undefined) this.sink.write(this.#held);
    }
    this.sink.end();
  }
}
