/**
 * Parses a request path into a registry API route. Pure: no I/O, no HTTP objects.
 * Grammar from the distribution spec ("Pulling" and "Content Discovery"):
 *   name      = component ("/" component)*, component = [a-z0-9]+([._-][a-z0-9]+)*
 *   reference = tag | digest, tag = [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
 *   digest    = algorithm ":" encoded
 */
import type { RegistryErrorCode } from './errors.js';

export type RouteKind = 'ping' | 'manifest' | 'blob' | 'tags';

export type Route =
  | { readonly kind: 'ping' }
  | { readonly kind: 'manifest'; readonly name: string; readonly reference: string }
  | { readonly kind: 'blob'; readonly name: string; readonly digest: string }
  | { readonly kind: 'tags'; readonly name: string; readonly query: string };

/** A route that goes to an upstream (everything but the `/v2/` ping, which is answered locally). */
export type ProxiedRoute = Exclude<Route, { kind: 'ping' }>;

export type RouteResult = { readonly ok: true; readonly route: Route } | { readonly ok: false; readonly code: RegistryErrorCode; readonly message: string };

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** Registered algorithms get their exact encoded form checked (spec: "Registered Algorithms"). */
const REGISTERED_DIGESTS: Readonly<Record<string, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};
/** Docker's limit on a full repository name. */
const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  return name.split('/').every((component) => COMPONENT.test(component));
}

export function isValidDigest(digest: string): boolean {
  if (!DIGEST.test(digest)) return false;
  const colon = digest.indexOf(':');
  const check = REGISTERED_DIGESTS[digest.slice(0, colon)];
  return check === undefined || check.test(digest.slice(colon + 1));
}

export function isValidReference(reference: string): boolean {
  return reference.includes(':') ? isValidDigest(reference) : TAG.test(reference);
}

function fail(code: RegistryErrorCode, message: string): RouteResult {
  return { ok: false, code, message };
}

/** Only the spec's pagination parameters travel upstream (containerd's `ns` must not). */
function tagsQuery(search: URLSearchParams | undefined): string {
  if (search === undefined) return '';
  const kept = new URLSearchParams();
  for (const key of ['n', 'last']) {
    const value = search.get(key);
    if (value !== null) kept.set(key, value);
  }
  const query = kept.toString();
  return query === '' ? '' : `?${query}`;
}

/**
 * `pathname` is the URL path without the query string, as the client sent it (not decoded:
 * a percent-encoded name is simply invalid); `search` its query parameters.
 */
export function parseRoute(pathname: string, search?: URLSearchParams): RouteResult {
  if (pathname === '/v2/' || pathname === '/v2') return { ok: true, route: { kind: 'ping' } };
  if (!pathname.startsWith('/v2/')) return fail('NOT_FOUND', `no such endpoint: ${pathname}`);

  const rest = pathname.slice(4);
  if (rest.endsWith('/tags/list')) {
    const name = rest.slice(0, -'/tags/list'.length);
    if (!isValidName(name)) return fail('NAME_INVALID', 'invalid repository name');
    return { ok: true, route: { kind: 'tags', name, query: tagsQuery(search) } };
  }

  const match = /^(.+)\/(manifests|blobs)\/([^/]+)$/.exec(rest);
  if (match === null) return fail('NOT_FOUND', `no such endpoint: ${pathname}`);
  const [, name, section, target] = match as unknown as [string, string, string, string];
  if (!isValidName(name)) return fail('NAME_INVALID', 'invalid repository name');

  if (section === 'blobs') {
    if (!isValidDigest(target)) return fail('DIGEST_INVALID', 'invalid digest');
    return { ok: true, route: { kind: 'blob', name, digest: target } };
  }
  if (!isValidReference(target)) {
    return target.includes(':') ? fail('DIGEST_INVALID', 'invalid digest') : fail('MANIFEST_INVALID', 'invalid tag');
  }
  return { ok: true, route: { kind: 'manifest', name, reference: target } };
}

/** The path below `/v2/` that this route asks an upstream for, under the upstream's `name` for the repository. */
export function upstreamPath(route: Exclude<Route, { kind: 'ping' }>, name: string = route.name): string {
  switch (route.kind) {
    case 'manifest':
      return `/v2/${name}/manifests/${route.reference}`;
    case 'blob':
      return `/v2/${name}/blobs/${route.digest}`;
    case 'tags':
      return `/v2/${name}/tags/list${route.query}`;
  }
}
