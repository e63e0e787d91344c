/**
 * A registry's manifest endpoint for tag tests: tags point at manifest bodies, and every body
 * it knows (tagged or not) is served by its sha256 digest, as a registry serves any manifest it
 * holds. HEAD answers the same headers without the body; anything unknown is 404 MANIFEST_UNKNOWN.
 */
import { createHash } from 'node:crypto';
import { MANIFEST_TYPE, registryStatus, type FakeHandler } from './fake-upstream.js';

export const digestOf = (body: string): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;

/** A small, distinct OCI manifest per `label`. */
export const manifestBody = (label: string): string =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: digestOf(label) },
    layers: [],
  });

/** `tags`: tag → body; `untagged`: more bodies served by digest only. Reads `tags` at each request, so a test can move a tag. */
export function manifestRegistry(tags: Record<string, string>, untagged: readonly string[] = []): FakeHandler {
  const notFound = registryStatus(404, 'MANIFEST_UNKNOWN');
  return (req, res) => {
    const reference = /\/manifests\/([^/?]+)$/.exec(req.url ?? '')?.[1] ?? '';
    const body = reference.includes(':') ? [...Object.values(tags), ...untagged].find((b) => digestOf(b) === reference) : tags[reference];
    if (body === undefined) return notFound(req, res);
    res.writeHead(200, {
      'content-type': MANIFEST_TYPE,
      'content-length': Buffer.byteLength(body),
      'docker-content-digest': digestOf(body),
      'docker-distribution-api-version': 'registry/2.0',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
