/**
 * An e2e-grade Docker-Hub-like registry front plus an S3-like CDN, both on 127.0.0.1, serving
 * real images from OCI layouts (e.g. the ones ./fixtures.ts builds) so that skopeo can pull them.
 *
 * Front (the registry a mirror upstream points at):
 * - demands credentials on every /v2 request: `basic` (401 `Basic realm=…`) or `bearer` (401
 *   `Bearer realm=<front>/token,service=…,scope=…`, tokens from its own tiny token endpoint,
 *   which takes the same Basic credentials or none), so that the registry hop carries an
 *   Authorization header;
 * - manifests by tag (from index.json's ref.name annotations) and by digest, GET and HEAD, with
 *   Content-Type, Content-Length and Docker-Content-Digest;
 * - blob GET/HEAD answered `307` to a signed URL on the CDN (`?X-Amz-Expires=…&X-Amz-Signature=…`,
 *   HMAC over path and expiry; `ttlSec` may be changed at run time, negative = already expired).
 *
 * CDN (S3 semantics): 400 "Only one auth mechanism allowed" when an Authorization header comes
 * with the signed query, 403 on a bad or expired signature, Range (`bytes=a-b`, `bytes=a-`) as
 * 206, HEAD, bodies streamed from the layout files.
 *
 * Both record every request (no bodies) for assertions.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { listenLocal } from './local-server.js';
import { blobPath, REF_NAME_ANNOTATION, type Descriptor } from './oci-image.js';

export interface HubRepository {
  /** Repository name as the front serves it, e.g. "library/alpine-test". */
  name: string;
  /** OCI layout dir holding it; its index.json tags (ref.name annotations) are the tags. */
  dir: string;
}

export interface FakeHubOptions {
  repositories: HubRepository[];
  /** How the front wants to be authenticated. Default 'basic'. */
  auth?: 'basic' | 'bearer';
  username?: string;
  password?: string;
  /** Lifetime of the signed CDN URLs the front hands out, seconds. Default 60. */
  ttlSec?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string (signed queries never need to be compared). */
  path: string;
  /** Whether a query string came with it. */
  hasQuery: boolean;
  headers: IncomingHttpHeaders;
  status: number;
}

export interface FakeHub {
  readonly frontUrl: string;
  readonly cdnUrl: string;
  readonly username: string;
  readonly password: string;
  /** Seconds the next signed URLs are valid for; set it negative to hand out expired ones. */
  ttlSec: number;
  readonly frontRequests: readonly RecordedRequest[];
  readonly cdnRequests: readonly RecordedRequest[];
  /** Tokens handed out by the front's token endpoint (bearer mode). */
  readonly issuedTokens: readonly string[];
  close(): Promise<void>;
}

const API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' };

function registryError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): number {
  const body = JSON.stringify({ errors: [{ code, message }] });
  res.writeHead(status, { ...API_VERSION, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
  return status;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startFakeHub(opts: FakeHubOptions): Promise<FakeHub> {
  const username = opts.username ?? 'hubuser';
  const password = opts.password ?? randomBytes(12).toString('base64url');
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const mode = opts.auth ?? 'basic';
  const secret = randomBytes(32);
  const repos = new Map(opts.repositories.map((r) => [r.name, r.dir]));
  const frontRequests: RecordedRequest[] = [];
  const cdnRequests: RecordedRequest[] = [];
  const issuedTokens: string[] = [];
  const validTokens = new Set<string>();
  const sign = (path: string, expires: number): string => createHmac('sha256', secret).update(`${path}\n${expires}`).digest('hex');

  const record = (list: RecordedRequest[], req: IncomingMessage): RecordedRequest => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const entry: RecordedRequest = { method: req.method ?? '', path: q === -1 ? url : url.slice(0, q), hasQuery: q !== -1, headers: req.headers, status: 0 };
    list.push(entry);
    return entry;
  };

  /** The blob file for a digest in any of the layouts, with its size. */
  const findBlob = async (digest: string): Promise<{ file: string; size: number } | undefined> => {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) return undefined;
    for (const dir of repos.values()) {
      const file = blobPath(dir, digest);
      try {
        return { file, size: (await stat(file)).size };
      } catch {
        // not in this layout
      }
    }
    return undefined;
  };

  // ---- CDN ---------------------------------------------------------------
  const cdn = await listenLocal(async (req, res) => {
    const entry = record(cdnRequests, req);
    const fail = (status: number, code: string, message: string): void => {
      entry.status = status;
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'MethodNotAllowed', 'method not allowed');
    const url = new URL(req.url ?? '/', 'http://cdn.invalid');
    const signature = url.searchParams.get('X-Amz-Signature');
    const expires = Number(url.searchParams.get('X-Amz-Expires'));
    if (req.headers.authorization !== undefined && signature !== null) {
      return fail(
        400,
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      );
    }
    if (signature === null || !Number.isFinite(expires) || !safeEqual(signature, sign(url.pathname, expires))) {
      return fail(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    if (Date.now() / 1000 > expires) return fail(403, 'AccessDenied', 'Request has expired');
    const match = /^\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const blob = match === null ? undefined : await findBlob(match[1]!);
    if (blob === undefined) return fail(404, 'NoSuchKey', 'The specified key does not exist.');

    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: `"${match![1]!.slice(7, 39)}"`,
    };
    let start = 0;
    let end = blob.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range !== undefined) {
      const r = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (r === null || Number(r[1]) >= blob.size) {
        entry.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${blob.size}`, 'content-length': 0 });
        return void res.end();
      }
      start = Number(r[1]);
      end = r[2] === '' ? blob.size - 1 : Math.min(Number(r[2]), blob.size - 1);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${blob.size}`;
    }
    headers['content-length'] = end - start + 1;
    entry.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || end < start) return void res.end();
    await pipeline(createReadStream(blob.file, { start, end }), res);
  });

  // ---- front -------------------------------------------------------------
  let ttlSec = opts.ttlSec ?? 60;
  const front = await listenLocal(async (req, res) => {
    const entry = record(frontRequests, req);
    const url = new URL(req.url ?? '/', 'http://front.invalid');
    const path = url.pathname;
    const realm = `${front.url}/token`;

    if (path === '/token') {
      const auth = req.headers.authorization;
      if (auth !== undefined && !safeEqual(auth, basic)) {
        entry.status = registryError(res, 401, 'UNAUTHORIZED', 'incorrect username or password');
        return;
      }
      const token = randomBytes(24).toString('hex');
      issuedTokens.push(token);
      validTokens.add(token);
      const body = JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
      entry.status = 200;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      return void res.end(body);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      entry.status = registryError(res, 405, 'UNSUPPORTED', 'pull only');
      return;
    }
    if (!path.startsWith('/v2/')) {
      entry.status = registryError(res, 404, 'NOT_FOUND', 'no such endpoint');
      return;
    }

    const route = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    const scope = route === null ? undefined : `repository:${route[1]}:pull`;
    const authorization = req.headers.authorization;
    const authorized =
      mode === 'basic'
        ? authorization !== undefined && safeEqual(authorization, basic)
        : authorization !== undefined && authorization.startsWith('Bearer ') && validTokens.has(authorization.slice(7));
    if (!authorized) {
      const challenge =
        mode === 'basic' ? 'Basic realm="fake-hub"' : `Bearer realm="${realm}",service="fake-hub"${scope === undefined ? '' : `,scope="${scope}"`}`;
      entry.status = registryError(res, 401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': challenge });
      return;
    }
    if (path === '/v2/') {
      entry.status = 200;
      res.writeHead(200, { ...API_VERSION, 'content-type': 'application/json', 'content-length': 2 });
      return void res.end('{}');
    }
    if (route === null) {
      entry.status = registryError(res, 404, 'NOT_FOUND', 'no such endpoint');
      return;
    }
    const [, name, section, reference] = route as unknown as [string, string, string, string];
    const dir = repos.get(name);
    if (dir === undefined) {
      entry.status = registryError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
      return;
    }

    if (section === 'manifests') {
      let digest: string | undefined;
      if (reference.startsWith('sha256:')) {
        digest = reference;
      } else {
        const index = JSON.parse(await readFile(`${dir}/index.json`, 'utf8')) as { manifests?: Descriptor[] };
        digest = index.manifests?.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === reference)?.digest;
      }
      const blob = digest === undefined ? undefined : await findBlob(digest);
      if (digest === undefined || blob === undefined) {
        entry.status = registryError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
        return;
      }
      const body = await readFile(blob.file);
      const mediaType = (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
      entry.status = 200;
      res.writeHead(200, { ...API_VERSION, 'content-type': mediaType, 'content-length': body.length, 'docker-content-digest': digest, etag: `"${digest}"` });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }

    // blobs: never served here, always redirected to a signed CDN URL (as Docker Hub does).
    if ((await findBlob(reference)) === undefined) {
      entry.status = registryError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
      return;
    }
    const cdnPath = `/blobs/${reference}`;
    const expires = Math.floor(Date.now() / 1000) + ttlSec;
    const location = `${cdn.url}${cdnPath}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=${expires}&X-Amz-Signature=${sign(cdnPath, expires)}`;
    entry.status = 307;
    res.writeHead(307, { ...API_VERSION, location, 'content-type': 'text/html; charset=utf-8', 'content-length': 0 });
    res.end();
  });

  return {
    frontUrl: front.url,
    cdnUrl: cdn.url,
    username,
    password,
    get ttlSec() {
      return ttlSec;
    },
    set ttlSec(value: number) {
      ttlSec = value;
    },
    frontRequests,
    cdnRequests,
    issuedTokens,
    close: () => Promise.all([front.close(), cdn.close()]).then(() => undefined),
  };
}
