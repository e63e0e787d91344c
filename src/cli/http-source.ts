/**
 * The ImageSource of `mirrorgate warm --gateway URL`: plain registry GETs to a running gateway,
 * bodies read and thrown away, so that the gateway fills its own cache (a client MISS, exactly).
 * Every request names its registry with containerd's `?ns=`, which the gateway routes on. The
 * gateway verifies digests; a blob it cannot complete arrives short and is an error here.
 */
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { PrefetchImage } from '../config/types.js';
import type { BlobFetched, FetchedManifest, ImageSource } from '../cache/prefetch.js';
import { MANIFEST_ACCEPT } from '../registry/manifests.js';
import type { FetchSignal } from '../stream/abort.js';

const MANIFEST_LIMIT = 4 * 1024 * 1024;
/** Headers give up after this long: a gateway that accepts and says nothing is as good as down. */
const HEADERS_TIMEOUT_MS = 60_000;

export function httpSource(base: string): ImageSource {
  const root = base.replace(/\/+$/, '');
  const url = (image: PrefetchImage, kind: 'manifests' | 'blobs', reference: string): string =>
    `${root}/v2/${image.name}/${kind}/${reference}?ns=${encodeURIComponent(image.registry)}`;
  return {
    async manifest(image, reference, signal): Promise<FetchedManifest> {
      const res = await request(url(image, 'manifests', reference), { accept: MANIFEST_ACCEPT }, signal);
      if (res.statusCode !== 200) throw new Error(`manifest ${reference}: ${await refusal(res)}`);
      const body = await readBody(res, MANIFEST_LIMIT);
      return { body, contentType: res.headers['content-type'] ?? '' };
    },
    async blob(image, blob, onBytes, signal): Promise<BlobFetched> {
      const res = await request(url(image, 'blobs', blob.digest), {}, signal);
      if (res.statusCode !== 200) throw new Error(await refusal(res));
      const cached = res.headers['x-cache'] === 'HIT';
      let bytes = 0;
      await consume(res, (chunk) => {
        bytes += chunk.length;
        if (!cached) onBytes(chunk.length);
      });
      const expected = Number(res.headers['content-length'] ?? blob.size);
      if (bytes !== expected) throw new Error(`the gateway sent ${bytes} of ${expected} bytes`);
      return { cached, bytes };
    },
  };
}

function request(target: string, headers: Record<string, string>, signal: FetchSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = target.startsWith('https:') ? httpsGet : httpGet;
    // A connection per request: a warm run makes few, and leaves no pooled socket behind it.
    const req = get(target, { headers, agent: false }, resolve);
    const onAbort = (): void => void req.destroy(new Error('stopped'));
    signal.addEventListener('abort', onAbort);
    req.once('close', () => signal.removeEventListener('abort', onAbort));
    req.setTimeout(HEADERS_TIMEOUT_MS, () => req.destroy(new Error(`no answer from ${new URL(target).host} within ${HEADERS_TIMEOUT_MS / 1000} s`)));
    req.once('response', () => req.setTimeout(0));
    req.once('error', reject);
  });
}

/** The body, whole; rejects when the connection is cut before its end. */
function consume(res: IncomingMessage, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    res.on('data', onChunk);
    res.once('error', reject);
    res.once('close', () => (res.complete ? resolve() : reject(new Error('the connection was cut before the end of the body'))));
  });
}

async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  await consume(res, (chunk) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  });
  if (size > limit) throw new Error(`larger than ${limit} bytes`);
  return Buffer.concat(chunks);
}

/** `status 404: MANIFEST_UNKNOWN manifest unknown`, from the registry error body when there is one. */
async function refusal(res: IncomingMessage): Promise<string> {
  const body = await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0));
  let detail = '';
  try {
    const first = (JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (first !== undefined) detail = `: ${[first.code, first.message].filter(Boolean).join(' ')}`;
  } catch {
    // Not a registry error body: the status says it.
  }
  return `status ${res.statusCode ?? 0}${detail}`;
}
