/**
 * Streams a blob from disk into a Sink at the sink's pace: a stored blob, or a fill's spool file
 * as it grows. What a fill has not verified yet is held back: a follower gets bytes up to one
 * short of the end while the fill runs, and the last byte once the digest matched, so a
 * mismatch leaves every follower with a cut connection rather than wrong bytes.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { FetchResult } from '../proxy/fetch-result.js';
import type { FetchSignal } from '../stream/abort.js';
import type { Sink } from '../stream/sink.js';
import type { FollowedFill } from './followed-fill.js';

/**
 * Read sizes: large reads cost fewer syscalls per GiB, but each read's buffer stays queued on the
 * client's socket until that client takes it. So a reader starts small, doubles each time its
 * client takes a write at once and halves each time it does not: a paused reader ends up holding
 * one small buffer (500 of them: 500 × 64 KiB, not 500 MiB) and a fast one reads 1 MiB at a time.
 * Not smaller than 64 KiB: the clients of a fleet pull are behind most of the time, and a 16 KiB
 * floor tripled the gateway's read+write syscalls there for no RSS gain (the bench's fleet-wan).
 */
const MIN_READ = 64 * 1024;
const MAX_READ = 1024 * 1024;
/** A follower waits for this much new spool before reading (fewer, larger reads than the fill's writes), unless the rest is less. */
const FOLLOW_BATCH = 256 * 1024;

export type FollowResult =
  | { readonly kind: 'relayed'; readonly bytes: number }
  /** The fill failed after the sink was started: the sink must not be completed. */
  | { readonly kind: 'broken'; readonly bytes: number; readonly error: Error }
  /** The fill failed before it had headers: nothing went to the sink; `fetch` says how its fetch ended. */
  | { readonly kind: 'unavailable'; readonly error: Error; readonly fetch: FetchResult | undefined }
  | { readonly kind: 'aborted'; readonly bytes: number };

/** What streaming from a file that is there can end in. */
export type StreamResult = Exclude<FollowResult, { kind: 'unavailable' }>;

/** What a follower reads from: how much is safe to send now, and whether more will come. */
interface Source {
  readonly size: number;
  /** Bytes that may go to the sink now. */
  sendable(): number;
  /** Resolves on the next change; `failed` when the content will never be complete. */
  next(): Promise<void>;
  readonly failure: Error | undefined;
  /** Whether every byte is verified: the response may be completed (a fill: once committed). */
  settled(): boolean;
}

const STORED = { next: () => Promise.resolve(), failure: undefined, settled: () => true } as const;

/** Starts the sink; the file is closed when that throws (the client went away meanwhile). */
async function startOrClose(file: FileHandle, start: () => void): Promise<void> {
  try {
    start();
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
}

export function headersFor(digest: string, size: number): Record<string, string> {
  return { 'content-type': 'application/octet-stream', 'content-length': String(size), 'docker-content-digest': digest };
}

/** A blob already in the store; rejects (before the sink is started) when its file cannot be opened. */
export async function sendStored(
  path: string,
  digest: string,
  size: number,
  sink: Sink,
  signal: FetchSignal,
  extra: Record<string, string>,
): Promise<FollowResult> {
  const file = await open(path, 'r');
  await startOrClose(file, () => sink.start(200, { ...headersFor(digest, size), ...extra }));
  return pump(file, { size, sendable: () => size, ...STORED }, sink, signal);
}

/**
 * A byte range (`first`..`last`, inclusive, within the blob) of a blob in the store, as a 206;
 * rejects before the sink is started when the file cannot be opened.
 */
export async function sendStoredRange(
  path: string,
  digest: string,
  size: number,
  range: { readonly first: number; readonly last: number },
  sink: Sink,
  signal: FetchSignal,
): Promise<StreamResult> {
  const file = await open(path, 'r');
  const headers = {
    'content-type': 'application/octet-stream',
    'content-length': String(range.last - range.first + 1),
    'content-range': `bytes ${range.first}-${range.last}/${size}`,
    'docker-content-digest': digest,
    'x-cache': 'HIT',
  };
  await startOrClose(file, () => sink.start(206, headers));
  return pump(file, { size: range.last + 1, sendable: () => range.last + 1, ...STORED }, sink, signal, range.first);
}

/** A blob being filled: headers as soon as the fill has them, then the spool as it grows. */
export async function follow(fill: FollowedFill, sink: Sink, signal: FetchSignal, extra: Record<string, string>): Promise<FollowResult> {
  const changed = changes(fill);
  const gaveUp = abortOf(signal);
  try {
    // Without a Content-Length a follower cannot tell the last byte: it waits for the commit.
    while (fill.state === 'waiting' || (fill.size === undefined && fill.state === 'streaming')) {
      if (signal.aborted) return { kind: 'aborted', bytes: 0 };
      await Promise.race([changed.next(), gaveUp.promise]);
    }
    if (fill.state === 'failed') return { kind: 'unavailable', error: fill.error ?? new Error('fill failed'), fetch: fill.outcome };
    const size = fill.size ?? fill.written;
    // Opened before the sink is started: a failure here leaves the request free to be relayed.
    const file = await openSpool(fill);
    await startOrClose(file, () => sink.start(200, { ...headersFor(fill.digest, size), ...extra }));
    return await pump(file, fillSource(fill, size, size, changed), sink, signal);
  } finally {
    gaveUp.stop();
    changed.stop();
  }
}

/**
 * A byte range of a blob being filled whose size is known, as a 206 from the spool as it grows
 * (a client resuming a cut download while the fill goes on, instead of a second upstream fetch).
 * Like a relayed range it cannot be verified on its own; the blob's last byte still waits for
 * the commit. Rejects before the sink is started when the spool cannot be opened.
 */
export async function followRange(
  fill: FollowedFill & { readonly size: number },
  range: { readonly first: number; readonly last: number },
  sink: Sink,
  signal: FetchSignal,
): Promise<StreamResult> {
  const file = await openSpool(fill);
  const headers = {
    'content-type': 'application/octet-stream',
    'content-length': String(range.last - range.first + 1),
    'content-range': `bytes ${range.first}-${range.last}/${fill.size}`,
    'docker-content-digest': fill.digest,
    'x-cache': 'JOINED',
  };
  const changed = changes(fill);
  try {
    await startOrClose(file, () => sink.start(206, headers));
    return await pump(file, fillSource(fill, fill.size, range.last + 1, changed), sink, signal, range.first);
  } finally {
    changed.stop();
  }
}

/** A fill as a Source up to `end` (exclusive) of a blob of `size` bytes: its last byte once committed. */
function fillSource(fill: FollowedFill, size: number, end: number, changed: { next(): Promise<void> }): Source {
  const readable = (): number => (fill.state === 'committed' ? fill.written : Math.min(fill.written, size - 1));
  return {
    size: end,
    sendable: () => Math.min(end, readable()),
    next: () => changed.next(),
    get failure() {
      return fill.state === 'failed' ? (fill.error ?? new Error('fill failed')) : undefined;
    },
    settled: () => fill.state === 'committed' || readable() >= end,
  };
}

/** The spool file, or the stored blob when the fill's commit has renamed it in between. */
function openSpool(fill: FollowedFill): Promise<FileHandle> {
  return open(fill.spoolPath, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && fill.state !== 'failed') return open(fill.storedPath, 'r');
    throw err;
  });
}

/**
 * Sends `file` from byte `from` up to the source's size (exclusive), waiting for more when caught
 * up; closes the file. Results count the bytes sent.
 */
async function pump(file: FileHandle, source: Source, sink: Sink, signal: FetchSignal, from = 0): Promise<StreamResult> {
  let at = from;
  let readSize = MIN_READ;
  const sent = (): number => at - from;
  // A follower waiting for more wakes up when its starter gives up, not only when the fill moves.
  const gaveUp = abortOf(signal);
  try {
    // Until every byte is sent and verified: an empty body, too, ends only once its fill committed.
    while (at < source.size || !source.settled()) {
      if (signal.aborted) return { kind: 'aborted', bytes: sent() };
      if (source.failure !== undefined) return { kind: 'broken', bytes: sent(), error: source.failure };
      const sendable = source.sendable();
      if (sendable <= at || (sendable - at < FOLLOW_BATCH && sendable < source.size)) {
        await Promise.race([source.next(), gaveUp.promise]);
        continue;
      }
      const buffer = Buffer.allocUnsafe(Math.min(readSize, sendable - at));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) throw new Error(`blob file ended at byte ${at} of ${source.size}`);
      at += bytesRead;
      if (sink.write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead))) {
        readSize = Math.min(readSize * 2, MAX_READ);
      } else {
        readSize = Math.max(readSize / 2, MIN_READ);
        await drained(sink, signal);
      }
    }
    if (signal.aborted) return { kind: 'aborted', bytes: sent() };
    sink.end();
    return { kind: 'relayed', bytes: sent() };
  } catch (err) {
    return { kind: 'broken', bytes: sent(), error: err as Error };
  } finally {
    gaveUp.stop();
    await file.close().catch(() => undefined);
  }
}

/** A promise that resolves when `signal` aborts; `stop` removes the listener. */
function abortOf(signal: FetchSignal): { promise: Promise<void>; stop(): void } {
  let onAbort: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (onAbort = resolve));
  signal.addEventListener('abort', onAbort);
  return { promise, stop: () => signal.removeEventListener('abort', onAbort) };
}

/** Resolves when the sink drains or the follower's starter gives up. */
function drained(sink: Sink, signal: FetchSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done);
    sink.onceDrain(done);
  });
}

/**
 * Waits for changes of the fill; `stop` unsubscribes. A change that happened since the last
 * `next()` resolves the next one at once, so none is missed between a check and a wait.
 */
function changes(fill: FollowedFill): { next(): Promise<void>; stop(): void } {
  let version = 0;
  let seen = 0;
  let wake: (() => void) | undefined;
  const stop = fill.onChange(() => {
    version++;
    const resolve = wake;
    wake = undefined;
    resolve?.();
  });
  const next = (): Promise<void> => {
    if (version !== seen) {
      seen = version;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      wake = () => {
        seen = version;
        resolve();
      };
    });
  };
  return { next, stop };
}
