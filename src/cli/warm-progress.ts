/**
 * What `mirrorgate warm` shows while it works. On a terminal: a bar per blob being read and one
 * for the total, with bytes, MiB/s and ETA (cli-progress). Otherwise (a pipe, a CI log): one
 * plain line per blob when it is done, and one per image.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { ImageReport, PrefetchEvents } from '../cache/prefetch.js';
import type { PrefetchImage } from '../config/types.js';
import type { BlobRef } from '../registry/manifests.js';

export interface WarmProgress {
  readonly events: PrefetchEvents;
  imageDone(report: ImageReport): void;
  /** Ends the bars (a terminal's cursor comes back). */
  stop(): void;
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
const short = (digest: string): string => digest.slice(0, 19);

export function imageLine(report: ImageReport): string {
  const { image, layers, fetchedBytes, cachedBytes, seconds, errors, missingPlatforms } = report;
  const missing = missingPlatforms.length === 0 ? '' : `, not in the index: ${missingPlatforms.join(', ')}`;
  const summary = `${layers} layer${layers === 1 ? '' : 's'}, ${mib(fetchedBytes)} MiB fetched, ${mib(cachedBytes)} MiB already cached, ${seconds.toFixed(1)} s${missing}`;
  return errors.length === 0 ? `${image}: warm (${summary})` : `${image}: FAILED: ${errors.join('; ')} (${summary})`;
}

export function createProgress(out: NodeJS.WriteStream): WarmProgress {
  return out.isTTY ? terminalProgress(out) : plainProgress(out);
}

/** One line per blob and per image, for logs that are read later. */
function plainProgress(out: NodeJS.WritableStream): WarmProgress {
  const started = new Map<string, number>();
  return {
    events: {
      blobStarted: (_image, blob) => void started.set(blob.digest, performance.now()),
      blobDone(image, blob, outcome) {
        const seconds = (performance.now() - (started.get(blob.digest) ?? performance.now())) / 1000;
        const what = `${image.text} ${blob.kind} ${short(blob.digest)}`;
        if ('error' in outcome) return void out.write(`${what} error: ${outcome.error}\n`);
        const how = outcome.cached ? 'already cached' : `fetched in ${seconds.toFixed(1)} s (${mib(outcome.bytes / Math.max(seconds, 0.001))} MiB/s)`;
        out.write(`${what} ${mib(outcome.bytes)} MiB ${how}\n`);
      },
    },
    imageDone: (report) => void out.write(`${imageLine(report)}\n`),
    stop() {},
  };
}

/** Live bars; the total's size grows as each image's blobs become known. */
function terminalProgress(out: NodeJS.WriteStream): WarmProgress {
  const bars = new MultiBar(
    {
      stream: out,
      format: '{name} [{bar}] {percentage}% | {done}/{size} MiB | {speed} MiB/s | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  const totalStart = performance.now();
  const total = bars.create(1, 0, { name: 'total'.padEnd(32), done: '0.0', size: '0.0', speed: '0.0' });
  let totalSize = 0;
  let totalDone = 0;
  const open = new Map<string, { bar: SingleBar; started: number; done: number }>();
  const payload = (done: number, size: number, since: number): Record<string, string> => ({
    done: mib(done),
    size: mib(size),
    speed: mib(done / Math.max((performance.now() - since) / 1000, 0.001)),
  });
  const name = (image: PrefetchImage, blob: BlobRef): string => `${image.text.slice(-20)} ${blob.digest.slice(7, 18)}`.padEnd(32);
  const advanceTotal = (): void => total.update(totalDone, payload(totalDone, totalSize, totalStart));
  return {
    events: {
      blobStarted(image, blob) {
        totalSize += blob.size;
        total.setTotal(Math.max(totalSize, 1));
        open.set(blob.digest, {
          bar: bars.create(Math.max(blob.size, 1), 0, { name: name(image, blob), ...payload(0, blob.size, performance.now()) }),
          started: performance.now(),
          done: 0,
        });
        advanceTotal();
      },
      blobBytes(_image, blob, bytes) {
        const state = open.get(blob.digest);
        if (state === undefined) return;
        state.done += bytes;
        totalDone += bytes;
        state.bar.update(state.done, payload(state.done, blob.size, state.started));
        advanceTotal();
      },
      blobDone(_image, blob, outcome) {
        const state = open.get(blob.digest);
        open.delete(blob.digest);
        if (state === undefined) return;
        // A stored blob sent no bytes: it counts as done all the same.
        if (!('error' in outcome)) totalDone += blob.size - state.done;
        bars.remove(state.bar);
        advanceTotal();
      },
    },
    imageDone: (report) => void bars.log(`${imageLine(report)}\n`),
    stop: () => bars.stop(),
  };
}
