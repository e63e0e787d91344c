/**
 * `mirrorgate cache stats | ls | verify | gc | rm DIGEST`: the cache directory the config
 * names, inspected and managed from the command line. Safe beside a running gateway: `tmp/`
 * (its fills in progress) is never touched, and a blob removed here is, for the gateway, a file
 * that is gone — it relays that pull and stores the blob again.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobStore } from '../cache/blob-store.js';
import type { CacheConfig } from '../config/types.js';

export const CACHE_USAGE = `usage: mirrorgate cache <stats|ls|verify|gc|rm DIGEST> [-c FILE]

  stats        blobs, bytes, limit and watermarks, fills in progress
  ls           one line per blob, least recently used first: digest, bytes
  verify       re-hash every blob; remove those that do not match their digest (exit 1 if any)
  gc           evict least recently used blobs down to the low watermark, if above the high one
  rm DIGEST    remove one blob
`;

/** What the command prints and its exit code. */
export interface CacheCommandResult {
  readonly out: string;
  readonly code: number;
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

export async function runCacheCommand(settings: CacheConfig, args: readonly string[]): Promise<CacheCommandResult> {
  const [sub, ...rest] = args;
  const store = await BlobStore.open(settings.dir, settings, { shared: true });
  switch (sub) {
    case 'stats':
      return { out: await stats(store, settings), code: 0 };
    case 'ls':
      return { out: [...store.list()].map((b) => `${b.digest}  ${b.size}\n`).join(''), code: 0 };
    case 'verify':
      return verify(store);
    case 'gc': {
      const before = store.bytes;
      const evicted = await store.evict();
      return { out: `evicted ${evicted.length} blobs, ${mib(before - store.bytes)}; ${mib(store.bytes)} left\n`, code: 0 };
    }
    case 'rm': {
      const digest = rest[0];
      if (digest === undefined) return { out: CACHE_USAGE, code: 2 };
      const removed = await store.remove(digest);
      return removed ? { out: `removed ${digest}\n`, code: 0 } : { out: `${digest} is not in the cache\n`, code: 1 };
    }
    default:
      return { out: CACHE_USAGE, code: 2 };
  }
}

async function stats(store: BlobStore, settings: CacheConfig): Promise<string> {
  const filling = (await readdir(join(settings.dir, 'tmp'))).length;
  const used = settings.maxBytes > 0 ? (100 * store.bytes) / settings.maxBytes : 0;
  return [
    `dir          ${settings.dir}`,
    `blobs        ${store.count}`,
    `bytes        ${mib(store.bytes)} of ${mib(settings.maxBytes)} (${used.toFixed(1)} %)`,
    `watermarks   evict above ${settings.highWatermark * 100} % down to ${settings.lowWatermark * 100} %`,
    `in progress  ${filling} fills`,
    '',
  ].join('\n');
}

async function verify(store: BlobStore): Promise<CacheCommandResult> {
  const lines: string[] = [];
  let checked = 0;
  for (const blob of [...store.list()]) {
    const actual = await sha256Of(blob.path).catch(() => undefined);
    checked++;
    if (actual === blob.digest) continue;
    await store.remove(blob.digest);
    lines.push(`removed ${blob.digest}: ${actual === undefined ? 'unreadable' : `content is ${actual}`}`);
  }
  lines.push(`verified ${checked} blobs, ${lines.length} removed`);
  return { out: `${lines.join('\n')}\n`, code: lines.length > 1 ? 1 : 0 };
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: MiB })
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(`sha256:${hash.digest('hex')}`))
      .on('error', reject);
  });
}
