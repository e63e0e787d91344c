/**
 * The media type of a manifest read back from disk, where only its bytes are kept (stored as a
 * blob under its own digest, as distribution stores manifests). Docker's manifests always name
 * their `mediaType`; OCI's may leave it out, and are then told apart by their shape.
 */
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function manifestMediaType(body: Buffer): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const manifest = parsed as { mediaType?: unknown; manifests?: unknown; layers?: unknown; config?: unknown };
  if (typeof manifest.mediaType === 'string' && manifest.mediaType !== '') return manifest.mediaType;
  if (Array.isArray(manifest.manifests)) return OCI_INDEX;
  if (Array.isArray(manifest.layers) || typeof manifest.config === 'object') return OCI_MANIFEST;
  return undefined;
}
