/**
 * A manifest by tag with the cache on. In order:
 *   1. fresh in memory (the tag's ttl, tag-ttl.ts)          → the kept manifest, X-Cache: HIT
 *   2. a 404 remembered (cache.tags.notFoundTtl)            → 404, X-Cache: NEGATIVE
 *   3. the registry has an authority: HEAD by tag there     → its digest, served from memory or
 *      fetched by digest from the mirrors (the authority by digest as a last resort); its 404
 *      is the answer (and remembered)
 *   4. otherwise, or when step 3 could not answer           → pulled by tag from the mirrors and
 *      remembered; their 404s remembered; when none can answer, the last manifest seen (STALE)
 */
import { createHash } from 'node:crypto';
import type { FetchResult } from '../proxy/fetch-result.js';
import type { AttemptableUpstream } from '../proxy/fetch-from-upstreams.js';
import { pull, type PullDeps, type PullRequest } from '../proxy/pull.js';
import { resolveAtAuthority, soleUpstream } from '../proxy/resolve-tag.js';
import { errorCodes } from '../registry/errors.js';
import type { ProxiedRoute } from '../registry/route.js';
import type { FetchSignal } from '../stream/abort.js';
import type { Sink } from '../stream/sink.js';
import { CapturingSink, FROM_CACHE, sendManifest, sendTagNotFound } from './manifest-answer.js';
import type { ManifestMemory } from './manifest-memory.js';
import type { NotFoundMemory } from './not-found-memory.js';
import { TagMemory } from './tag-memory.js';
import type { TagTtls } from './tag-ttl.js';

/** What the authority's HEAD came to: a digest, a 404, or a failure that sent the tag to the mirrors. */
export type AuthorityResult = 'resolved' | 'not_found' | 'failed';

/** What a tag pull uses of the caches. */
export interface TagCaches {
  readonly manifests: ManifestMemory;
  readonly tags: TagMemory;
  readonly tagTtls: TagTtls;
  readonly notFound: NotFoundMemory;
  /** Told when a tag was served stale because no upstream could answer (a warning and a metric). */
  readonly onStale: (tag: string, digest: string, bytes: number) => void;
  /** Told when a remembered 404 answered. */
  readonly onNotFoundHit: () => void;
  /** Told what each resolution at an authority came to; `detail` says why one failed. */
  readonly onAuthority: (registry: string, result: AuthorityResult, detail?: string) => void;
}

type ManifestRoute = Extract<ProxiedRoute, { kind: 'manifest' }>;

/** One tag request and what it is known by. */
interface TagPull {
  readonly caches: TagCaches;
  readonly key: string;
  readonly route: ManifestRoute;
  readonly request: PullRequest;
  readonly sink: Sink;
  readonly deps: PullDeps;
  readonly signal: FetchSignal;
}

/** `request.route` is a manifest by tag. */
export async function manifestByTag(caches: TagCaches, request: PullRequest, sink: Sink, deps: PullDeps, signal: FetchSignal): Promise<FetchResult> {
  const route = request.route as ManifestRoute;
  const key = TagMemory.key(deps.group.registry, route.name, route.reference, request.headers['accept'] ?? '');
  const fresh = caches.tags.fresh(key, caches.tagTtls.ttlFor(route.name, route.reference));
  const kept = fresh === undefined ? undefined : (caches.manifests.get(fresh) ?? (await caches.manifests.lookup(fresh)));
  if (fresh !== undefined && kept !== undefined) return sendManifest(kept, fresh, 'HIT', request.method, sink);
  if (caches.notFound.has(key)) {
    caches.onNotFoundHit();
    return sendTagNotFound(request.method, sink, FROM_CACHE, 0);
  }
  const tag: TagPull = { caches, key, route, request, sink, deps, signal };
  const authority = deps.group.authority;
  return (authority === undefined ? undefined : await viaAuthority(tag, authority)) ?? (await atMirrors(tag));
}

/** The tag resolved at the authority and served by digest; undefined when the mirrors should resolve it instead. */
async function viaAuthority(tag: TagPull, authority: AttemptableUpstream): Promise<FetchResult | undefined> {
  const { caches, deps, request } = tag;
  const resolution = await resolveAtAuthority(authority, tag.route, request.headers, deps, tag.signal);
  switch (resolution.kind) {
    case 'aborted':
      return { kind: 'aborted', upstream: authority.name, bytes: 0, attempts: 1, failovers: [] };
    case 'failed':
      caches.onAuthority(deps.group.registry, 'failed', resolution.detail);
      return undefined;
    case 'not-found':
      caches.onAuthority(deps.group.registry, 'not_found');
      caches.notFound.remember(tag.key);
      return sendTagNotFound(request.method, tag.sink, authority.name, 1);
    case 'digest': {
      caches.onAuthority(deps.group.registry, 'resolved');
      const kept = caches.manifests.get(resolution.digest) ?? (await caches.manifests.lookup(resolution.digest));
      if (kept !== undefined) {
        learned(tag, resolution.digest);
        return sendManifest(kept, resolution.digest, 'HIT', request.method, tag.sink);
      }
      if (request.method === 'GET') return fetchByDigest(tag, authority, resolution.digest);
      // A HEAD needs no body: the authority's own HEAD said all a client reads of it.
      if (resolution.contentType === undefined || resolution.size === undefined) return undefined;
      return headFromAuthority(tag.sink, resolution.digest, resolution.contentType, resolution.size, authority.name);
    }
  }
}

/**
 * The authority's digest fetched from the mirrors (verified as it streams, kept once it hashed
 * right). A mirror lacking the digest is never the last word (on404 here, whatever the config):
 * the authority itself is asked for it last. Undefined when nobody could serve it.
 */
async function fetchByDigest(tag: TagPull, authority: AttemptableUpstream, digest: string): Promise<FetchResult | undefined> {
  const { deps, signal } = tag;
  const request: PullRequest = { method: 'GET', route: { ...tag.route, reference: digest }, headers: tag.request.headers };
  const capture = new CapturingSink(tag.sink);
  let result = await pull(request, capture, { ...deps, failover: { ...deps.failover, on404: true } }, signal);
  if (result.kind === 'answer' || result.kind === 'unavailable') {
    result = await pull(
      request,
      capture,
      { ...deps, group: soleUpstream(deps.group.registry, authority), failover: { maxAttempts: 1, on404: true, hedgeAfterMs: undefined } },
      signal,
    );
  }
  if (result.kind === 'answer' || result.kind === 'unavailable') return undefined;
  const body = capture.body;
  if (result.kind === 'relayed' && result.status === 200 && body !== undefined && tag.caches.manifests.offer(digest, capture.contentType, body))
    learned(tag, digest);
  return result;
}

function headFromAuthority(sink: Sink, digest: string, contentType: string, size: number, authority: string): FetchResult {
  sink.start(200, { 'content-type': contentType, 'content-length': String(size), 'docker-content-digest': digest });
  sink.end();
  return { kind: 'relayed', upstream: authority, status: 200, bytes: 0, attempts: 1, failovers: [] };
}

/** The tag pulled from the mirrors, as without an authority; their 404s remembered, stale-if-error when none can answer. */
async function atMirrors(tag: TagPull): Promise<FetchResult> {
  const { caches, key, request, sink } = tag;
  const capture = request.method === 'GET' ? new CapturingSink(sink) : undefined;
  const result = await pull(request, capture ?? sink, tag.deps, tag.signal);
  const body = capture?.body;
  if (result.kind === 'relayed' && result.status === 200 && body !== undefined) {
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (caches.manifests.offer(digest, capture!.contentType, body)) learned(tag, digest);
    return result;
  }
  if (result.kind === 'answer' && isUnknownTag(result.response.status, result.response.body)) caches.notFound.remember(key);
  if (result.kind !== 'unavailable') return result;
  const last = caches.tags.last(key);
  const stale = last === undefined ? undefined : await caches.manifests.lookup(last);
  if (last === undefined || stale === undefined) return result;
  const served = sendManifest(stale, last, 'STALE', request.method, sink);
  caches.onStale(key, last, served.kind === 'relayed' ? served.bytes : 0);
  return { ...served, failovers: result.failovers };
}

/** The tag points at `digest` now (and so exists). */
function learned(tag: TagPull, digest: string): void {
  tag.caches.tags.remember(tag.key, digest);
  tag.caches.notFound.forget(tag.key);
}

/** A 404 that says the manifest or repository is unknown; a HEAD's 404 has no body to say more. */
function isUnknownTag(status: number, body: Buffer): boolean {
  if (status !== 404) return false;
  if (body.length === 0) return true;
  return errorCodes(body).some((code) => code === 'MANIFEST_UNKNOWN' || code === 'NAME_UNKNOWN');
}
