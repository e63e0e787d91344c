import type { ResponseHeaders, Sink } from '../../src/stream/sink.js';

/** A Sink that keeps what it was given, in order: the start, each write's text, and the end. */
export class RecordingSink implements Sink {
  started: { status: number; headers: ResponseHeaders } | undefined;
  readonly writes: string[] = [];
  ended = false;

  start(status: number, headers: ResponseHeaders): void {
    this.started = { status, headers };
  }

  write(chunk: Buffer): boolean {
    this.writes.push(chunk.toString());
    return true;
  }

  onceDrain(): void {}

  end(): void {
    this.ended = true;
  }

  get body(): string {
    return this.writes.join('');
  }
}
