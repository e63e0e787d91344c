/**
 * The media types a manifest answer may carry. Pure.
 *
 * The four clients accept (PROTOCOL.md "Manifests": Docker schema2 manifest and manifest list,
 * OCI manifest and OCI index), plus Docker schema1 (old registries still serve it and dockerd
 * still reads it) and the OCI artifact manifest. `application/json` is let through too: a
 * schema1 registry may label its manifests so, and the body still has to parse as JSON.
 */
const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.artifact.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/json',
]);

/**
 * Schema1 (and `application/json`, which may be schema1): a signed schema1 manifest's digest is
 * that of its payload without the signatures, not of the bytes served.
 */
const SCHEMA1_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/json',
]);

function mediaTypeOf(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** `Content-Type` → whether it names a manifest type; parameters (`; charset=utf-8`) and case are ignored (RFC 9110 §8.3.1). */
export function isManifestMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  return MANIFEST_MEDIA_TYPES.has(mediaTypeOf(contentType));
}

/** Whether a manifest of this type is named by the digest of its bytes as served (not schema1). */
export function digestCoversBody(contentType: string | undefined): boolean {
  return contentType !== undefined && isManifestMediaType(contentType) && !SCHEMA1_MEDIA_TYPES.has(mediaTypeOf(contentType));
}

/** The distribution spec's limit on a manifest a registry accepts (4 MiB): a larger answer is not one. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
