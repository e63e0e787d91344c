/**
 * Reading an image's config blob ahead: once a client has an image manifest, the cache starts
 * filling the config blob it names, so the client's own GET for it (every client asks for it,
 * skopeo only after all the layers) joins a fill already under way or finds it stored instead of
 * waiting a round trip to a mirror. The bench's cold skopeo pull left the mirrors idle at the
 * end for that round trip: its WAN time was the layer's plus the config's.
 *
 * Only the config: it is small and always wanted. Layers are not read ahead, since a client that
 * asked for a manifest may want nothing more (`skopeo inspect`, `docker manifest inspect`).
 * The fill goes through localSource as a prefetch does (single flight, failover, verification,
 * the repository recorded as its source), detached from the client's request; a failure is the
 * client's own GET's to meet and report, so it is dropped here.
 */
import type { PullDeps } from '../proxy/pull.js';
import { manifestContents } from '../registry/manifests.js';
import { StartersAbort } from '../stream/abort.js';
import type { Caches } from './cached-pull.js';
import { localSource } from './local-source.js';

/** Starts filling the config blob of the image manifest `body` (anything else is left alone). */
export function readConfigAhead(caches: Caches, deps: PullDeps, name: string, body: Buffer, contentType: string): void {
  const contents = manifestContents(body, contentType);
  if (contents.kind !== 'image') return;
  const config = contents.blobs.find((blob) => blob.kind === 'config');
  if (config === undefined) return;
  const registry = deps.group.registry;
  const image = { registry, name, reference: config.digest, text: `${registry}/${name}@${config.digest}` };
  const source = localSource({ caches, depsFor: () => deps });
  source.blob(image, config, () => undefined, new StartersAbort()).catch(() => undefined);
}
