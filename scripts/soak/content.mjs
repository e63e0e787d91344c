/**
 * The soak's registry content, generated at start (random bytes, nothing on disk): one
 * repository, `library/soak`, whose tags each name an OCI manifest over a shared pool of blobs
 * of three sizes. Small enough to hold in memory; bigger than the soak's cache, so blobs keep
 * being evicted and fetched again (fills, and the faults that hit them, never stop).
 */
import { createHash, randomBytes } from 'node:crypto';

export const REPO = 'library/soak';
export const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** size class -> [count, min bytes, max bytes] */
const POOL = {
  small: [16, 4 * 1024, 256 * 1024],
  medium: [5, 1024 * 1024, 3 * 1024 * 1024],
  big: [3, 10 * 1024 * 1024, 14 * 1024 * 1024],
};

function blobsOf(kind, [count, min, max]) {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(min + Math.floor(Math.random() * (max - min)));
    return { kind, bytes, digest: sha256(bytes) };
  });
}

export function createContent(tagCount = 6) {
  const blobs = Object.entries(POOL).flatMap(([kind, spec]) => blobsOf(kind, spec));
  const byDigest = new Map(blobs.map((blob) => [blob.digest, blob]));
  const manifests = new Map();
  const tags = new Map();
  for (let i = 0; i < tagCount; i++) {
    const layers = [blobs[i % 16], blobs[16 + (i % 5)], ...(i % 2 === 0 ? [blobs[21 + (i % 3)]] : [])];
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: blobs[(i + 1) % 16].bytes.length, digest: blobs[(i + 1) % 16].digest },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: l.bytes.length, digest: l.digest })),
      }),
    );
    const digest = sha256(body);
    manifests.set(digest, body);
    tags.set(`t${i}`, digest);
  }
  return { blobs, byDigest, manifests, tags, sha256 };
}
