/**
 * One image's worth of registry content (a manifest by tag and by digest, a small and a big
 * blob) and a fake mirror that serves it — honestly, or with one of the fault matrix's faults
 * applied to every answer. The honest and the faulty mirror hold the same bytes, so any answer
 * the gateway passes on can be checked against them.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { digestOf, manifestBody } from '../../integration/helpers/fake-manifests.js';
import { hang, MANIFEST_TYPE, registryStatus, type FakeHandler } from '../../integration/helpers/fake-upstream.js';

export const REPO = 'library/app';
export const TAG = 'v1';

const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface Content {
  readonly manifest: Buffer;
  readonly manifestDigest: string;
  readonly small: { bytes: Buffer; digest: string };
  readonly big: { bytes: Buffer; digest: string };
}

export function createContent(): Content {
  const manifest = Buffer.from(manifestBody('fault-matrix'));
  const small = randomBytes(64 * 1024);
  const big = randomBytes(2 * 1024 * 1024);
  return {
    manifest,
    manifestDigest: digestOf(manifest.toString('utf8')),
    small: { bytes: small, digest: sha256(small) },
    big: { bytes: big, digest: sha256(big) },
  };
}

/** What a mirror does to every request. `refused` has no handler: its URL is a closed port. */
export type Fault = 'none' | 'refused' | 'frozen' | '500' | '429' | 'reset' | 'stall' | 'corrupt' | 'short' | 'long' | 'html' | 'redirect';

const HTML = Buffer.from('<!doctype html><html><body><h1>Please sign in to the hotel wifi</h1></body></html>');

/** The bytes and headers a request names, or undefined (404). */
function lookup(content: Content, url: string): { bytes: Buffer; type: string; digest: string } | undefined {
  const manifest = /\/manifests\/([^/?]+)$/.exec(url)?.[1];
  if (manifest === TAG || manifest === content.manifestDigest) return { bytes: content.manifest, type: MANIFEST_TYPE, digest: content.manifestDigest };
  const digest = /\/blobs\/([^/?]+)$/.exec(url)?.[1];
  const blob = [content.small, content.big].find((b) => b.digest === digest);
  return blob === undefined ? undefined : { ...blob, type: 'application/octet-stream' };
}

/**
 * A mirror holding `content` that applies `fault` to every answer. Body faults act halfway
 * through the body (reset, stall, short) or change one byte (corrupt); `long` appends 16 bytes
 * and counts them in Content-Length; `redirect` sends every request to `internalUrl`.
 */
export function contentMirror(content: Content, fault: Fault, internalUrl = ''): FakeHandler {
  const notFound = registryStatus(404, 'MANIFEST_UNKNOWN');
  if (fault === 'frozen') return hang;
  if (fault === '500') return registryStatus(500, 'UNAVAILABLE');
  if (fault === '429') return registryStatus(429, 'TOOMANYREQUESTS', { 'retry-after': '600' });
  return (req, res) => {
    const url = req.url ?? '';
    if (fault === 'html')
      return void res.writeHead(200, { 'content-type': 'text/html', 'content-length': HTML.length }).end(req.method === 'HEAD' ? undefined : HTML);
    if (fault === 'redirect') return void res.writeHead(307, { location: `${internalUrl}${url}`, 'content-length': 0 }).end();
    const found = lookup(content, url);
    if (found === undefined) return notFound(req, res);
    serve(req, res, found, fault);
  };
}

/**
 * One byte changed: a blob's last byte flipped; in a manifest, a hex digit of its last digest
 * changed to another one, so it is still JSON (a flip that breaks the JSON is the easy case).
 */
function corrupted(body: Buffer, type: string): Buffer {
  const copy = Buffer.from(body);
  if (type !== MANIFEST_TYPE) {
    copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
    return copy;
  }
  const at = copy.lastIndexOf('sha256:') + 'sha256:'.length;
  copy[at] = copy[at] === 0x30 ? 0x31 : 0x30;
  return copy;
}

function serve(req: IncomingMessage, res: ServerResponse, found: { bytes: Buffer; type: string; digest: string }, fault: Fault): void {
  const { bytes, type, digest } = found;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const first = range === null ? 0 : Number(range[1]);
  const last = range === null || range[2] === '' ? bytes.length - 1 : Math.min(Number(range[2]), bytes.length - 1);
  if (first > last) return void res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
  let body = bytes.subarray(first, last + 1);
  if (fault === 'long') body = Buffer.concat([body, Buffer.alloc(16, 0x41)]);
  if (fault === 'corrupt') body = corrupted(body, type);
  const headers: Record<string, string | number> = { 'content-type': type, 'content-length': body.length, 'docker-content-digest': digest };
  if (range !== null) headers['content-range'] = `bytes ${first}-${last}/${bytes.length}`;
  res.writeHead(range === null ? 200 : 206, headers);
  if (req.method === 'HEAD') return void res.end();
  if (fault !== 'reset' && fault !== 'stall' && fault !== 'short') return void res.end(body);
  // Half the body, flushed, then the fault.
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
    if (fault === 'reset') res.socket?.resetAndDestroy();
    if (fault === 'short') res.socket?.end();
    // stall: the socket stays open and silent until the gateway's idle timeout cuts it.
  });
}
