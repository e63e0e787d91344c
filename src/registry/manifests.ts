/**
 * What a manifest body refers to: an index's (or manifest list's) platform manifests, or an
 * image manifest's config and layer blobs. Pure; a body that is neither is an error with a
 * reason, not a guess.
 */
import type { IndexEntry } from './platforms.js';

/** Every manifest type a pull may get, for `Accept` (PROTOCOL.md "Manifests"). */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface BlobRef {
  readonly kind: 'config' | 'layer';
  readonly digest: string;
  /** As the manifest states it. */
  readonly size: number;
}

export type ManifestContents =
  | { readonly kind: 'index'; readonly manifests: readonly IndexEntry[] }
  | { readonly kind: 'image'; readonly blobs: readonly BlobRef[] }
  | { readonly kind: 'invalid'; readonly reason: string };

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

interface Descriptor {
  readonly digest?: unknown;
  readonly size?: unknown;
  readonly mediaType?: unknown;
  readonly platform?: unknown;
}

const isDescriptor = (d: unknown): d is Descriptor & { digest: string } => typeof d === 'object' && d !== null && typeof (d as Descriptor).digest === 'string';

export function manifestContents(body: Buffer, contentType: string): ManifestContents {
  let doc: { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8')) as typeof doc;
  } catch {
    return { kind: 'invalid', reason: 'the manifest is not JSON' };
  }
  const type = typeof doc.mediaType === 'string' ? doc.mediaType : contentType.split(';')[0]!.trim();
  if (INDEX_TYPES.has(type) || (Array.isArray(doc.manifests) && doc.config === undefined)) {
    if (!Array.isArray(doc.manifests)) return { kind: 'invalid', reason: 'an index without "manifests"' };
    return { kind: 'index', manifests: doc.manifests.filter(isDescriptor).map(indexEntry) };
  }
  if (!isDescriptor(doc.config) || !Array.isArray(doc.layers))
    return { kind: 'invalid', reason: `not an image manifest or index (${type || 'no media type'})` };
  const blob = (kind: BlobRef['kind'], d: Descriptor & { digest: string }): BlobRef => ({
    kind,
    digest: d.digest,
    size: typeof d.size === 'number' ? d.size : 0,
  });
  const blobs = [blob('config', doc.config), ...doc.layers.filter(isDescriptor).map((d) => blob('layer', d))];
  return { kind: 'image', blobs };
}

function indexEntry(d: Descriptor & { digest: string }): IndexEntry {
  const p = d.platform as { os?: unknown; architecture?: unknown; variant?: unknown } | undefined;
  const platform =
    typeof p?.os === 'string' && typeof p.architecture === 'string'
      ? { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) }
      : undefined;
  return {
    digest: d.digest,
    ...(typeof d.mediaType === 'string' ? { mediaType: d.mediaType } : {}),
    ...(typeof d.size === 'number' ? { size: d.size } : {}),
    ...(platform === undefined ? {} : { platform }),
  };
}
