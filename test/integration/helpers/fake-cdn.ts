/**
 * A Docker-Hub-like front that answers blob requests with 307 to a signed URL on a second
 * server acting as the CDN (S3 semantics): 400 "Only one auth mechanism allowed" when an
 * Authorization header arrives with the signed query, 403 on a bad or expired signature, and
 * Range support. For redirect behaviour a real registry can't be made to show here.
 */
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';

const SECRET = 'cdn-signing-key';

export interface FakeCdn {
  readonly front: FakeUpstream;
  readonly cdn: FakeUpstream;
  /** Headers of every request the CDN received. */
  readonly cdnRequests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

function sign(path: string, expires: number): string {
  return createHmac('sha256', SECRET).update(`${path}:${expires}`).digest('hex');
}

/**
 * `blobs` maps digest → bytes. `cdnHost` is how the front names the CDN in Location; `basicAuth`
 * makes the front demand Basic credentials (so the first hop carries an Authorization).
 */
export async function startFakeCdn(
  blobs: ReadonlyMap<string, Buffer>,
  options: { cdnHost?: string; ttlSec?: number; basicAuth?: boolean } = {},
): Promise<FakeCdn> {
  const cdnRequests: IncomingHttpHeaders[] = [];
  const cdn = await startFakeUpstream((req, res) => {
    cdnRequests.push(req.headers);
    const url = new URL(req.url ?? '/', 'http://cdn');
    const expires = Number(url.searchParams.get('X-Amz-Expires'));
    const signature = url.searchParams.get('X-Amz-Signature');
    if (req.headers.authorization !== undefined) {
      res.writeHead(400, { 'content-type': 'application/xml' });
      return void res.end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
    }
    if (signature !== sign(url.pathname, expires) || Date.now() / 1000 > expires) {
      res.writeHead(403, { 'content-type': 'application/xml' });
      return void res.end('<Error><Code>AccessDenied</Code></Error>');
    }
    const blob = blobs.get(url.pathname.slice(1));
    if (blob === undefined) {
      res.writeHead(404);
      return void res.end();
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range !== null) {
      const start = Number(range[1]);
      const end = range[2] === '' ? blob.length - 1 : Math.min(Number(range[2]), blob.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${blob.length}`, 'content-length': end - start + 1 });
      return void res.end(req.method === 'HEAD' ? undefined : blob.subarray(start, end + 1));
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
    res.end(req.method === 'HEAD' ? undefined : blob);
  });
  const cdnOrigin = options.cdnHost === undefined ? cdn.url : cdn.url.replace('127.0.0.1', options.cdnHost);
  const front = await startFakeUpstream((req, res) => {
    if (options.basicAuth === true && req.headers.authorization === undefined) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="hub"', 'content-type': 'application/json' });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    const match = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
    if (match === null || !blobs.has(match[1]!)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
    }
    const expires = Math.floor(Date.now() / 1000) + (options.ttlSec ?? 60);
    const path = `/${match[1]}`;
    res.writeHead(307, { location: `${cdnOrigin}${path}?X-Amz-Expires=${expires}&X-Amz-Signature=${sign(path, expires)}`, 'content-length': 0 });
    res.end();
  });
  return {
    front,
    cdn,
    cdnRequests,
    close: async () => {
      await Promise.all([front.close(), cdn.close()]);
    },
  };
}
