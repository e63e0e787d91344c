/**
 * A tag resolved at its registry's authority (PROTOCOL.md "Caching what a registry serves"):
 * mirrors copy their source on their own schedule, so a mirror's `latest` can be days old,
 * while the source registry's answer is current. The tag is resolved with a HEAD there (Docker
 * Hub does not count a HEAD against its pull rate limit) and read for its Docker-Content-Digest;
 * whoever asked then fetches the content by that digest, which every mirror serves identically.
 *
 * The HEAD carries the client's Accept: a tag resolves to an index or to a single manifest
 * depending on what the client accepts. It is one attempt at one upstream, through that
 * upstream's own steps (its tokens, its breaker, its 429 hold).
 */
import type { FetchSignal } from '../stream/abort.js';
import { headerValue, type ResponseHeaders, type Sink } from '../stream/sink.js';
import { isValidDigest, type ProxiedRoute } from '../registry/route.js';
import { fetchFromUpstreams, type AttemptableUpstream, type FetchDeps, type UpstreamChoice } from './fetch-from-upstreams.js';

export type TagResolution =
  /** The authority's digest for the tag, with what its HEAD said of the manifest. */
  | { readonly kind: 'digest'; readonly digest: string; readonly contentType: string | undefined; readonly size: number | undefined }
  /** The authority has no such tag (or repository). */
  | { readonly kind: 'not-found' }
  /** Refused, timed out, 5xx, 429, auth refused, 403, or no usable digest: resolve elsewhere. */
  | { readonly kind: 'failed'; readonly detail: string }
  | { readonly kind: 'aborted' };

/** One attempt, and a 404 captured rather than written into the HEAD's sink. */
const ONE_ATTEMPT = { maxAttempts: 1, on404: true, hedgeAfterMs: undefined } as const;

/** An UpstreamChoice that offers one upstream, once. */
export function soleUpstream(registry: string, upstream: AttemptableUpstream): UpstreamChoice {
  return { registry, pick: (tried) => (tried.has(upstream.name) ? undefined : upstream) };
}

/** `headers`: the client's forwarded headers; only Accept and User-Agent go along (a conditional HEAD would answer 304 without a digest). */
export async function resolveAtAuthority(
  authority: AttemptableUpstream,
  route: Extract<ProxiedRoute, { kind: 'manifest' }>,
  headers: Record<string, string>,
  deps: FetchDeps,
  signal: FetchSignal,
): Promise<TagResolution> {
  const head = new HeadSink();
  const request = { method: 'HEAD' as const, route, headers: pick(headers, ['accept', 'user-agent']), resumable: false };
  const result = await fetchFromUpstreams(request, head, { ...deps, group: soleUpstream(deps.group.registry, authority), failover: ONE_ATTEMPT }, signal);
  switch (result.kind) {
    case 'aborted':
      return { kind: 'aborted' };
    case 'answer':
      return result.response.status === 404 ? { kind: 'not-found' } : { kind: 'failed', detail: `answered ${result.response.status}` };
    case 'relayed':
      return head.resolution();
    default:
      return { kind: 'failed', detail: result.failovers.at(-1)?.detail ?? 'no answer' };
  }
}

function pick(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) if (headers[name] !== undefined) out[name] = headers[name];
  return out;
}

/** Keeps the status and headers of a HEAD answer (there is no body). */
class HeadSink implements Sink {
  #status = 0;
  #headers: ResponseHeaders = {};
  start(status: number, headers: ResponseHeaders): void {
    this.#status = status;
    this.#headers = headers;
  }
  write(): boolean {
    return true;
  }
  onceDrain(resume: () => void): void {
    resume();
  }
  end(): void {}

  resolution(): TagResolution {
    if (this.#status !== 200) return { kind: 'failed', detail: `answered ${this.#status}` };
    const digest = headerValue(this.#headers, 'docker-content-digest');
    if (digest === undefined || !isValidDigest(digest)) return { kind: 'failed', detail: 'answered 200 without a valid Docker-Content-Digest' };
    const length = Number(headerValue(this.#headers, 'content-length'));
    return { kind: 'digest', digest, contentType: headerValue(this.#headers, 'content-type'), size: Number.isSafeInteger(length) ? length : undefined };
  }
}
