/**
 * A Sink that keeps nothing: a prefetch reads a blob only so that the cache stores it. It counts
 * the bytes and tells `onBytes` as they pass (progress), and never pushes back.
 */
import type { ResponseHeaders, Sink } from './sink.js';

export class DiscardSink implements Sink {
  status = 0;
  headers: ResponseHeaders = {};
  bytes = 0;
  ended = false;

  constructor(private readonly onBytes: (bytes: number) => void = () => {}) {}

  start(status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.headers = headers;
  }

  write(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    return true;
  }

  onceDrain(resume: () => void): void {
    resume();
  }

  end(): void {
    this.ended = true;
  }
}

/** Keeps a small body (a manifest) whole: up to `limit` bytes, beyond which it is dropped and `overflowed` set. */
export class CollectingSink implements Sink {
  status = 0;
  headers: ResponseHeaders = {};
  overflowed = false;
  ended = false;
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(private readonly limit: number) {}

  start(status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.headers = headers;
  }

  write(chunk: Buffer): boolean {
    this.#size += chunk.length;
    if (this.#size > this.limit) this.overflowed = true;
    else this.#chunks.push(chunk);
    return true;
  }

  onceDrain(resume: () => void): void {
    resume();
  }

  end(): void {
    this.ended = true;
  }

  get body(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}
