/**
 * Shaped fake mirrors of one small image for `mirrorgate probe`: each serves `/v2/`, the image's
 * manifest by tag and its one layer (with Range) at its own rate (range-mirror.ts), and the
 * config file that names them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRangeMirror, type RangeMirror, type RangeMirrorOptions } from './range-mirror.js';

export const PROBE_REPO = 'library/probe';
export const PROBE_TAG = 'v1';

const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface ProbeImage {
  readonly layer: Buffer;
  readonly digest: string;
  readonly manifest: string;
}

export function probeImage(size: number): ProbeImage {
  const layer = randomBytes(size);
  const digest = sha256(layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: sha256('{}') },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size, digest }],
  });
  return { layer, digest, manifest };
}

export function startProbeMirror(image: ProbeImage, options: Omit<RangeMirrorOptions, 'registry'>): Promise<RangeMirror> {
  return startRangeMirror(image.layer, image.digest, { ...options, registry: { name: PROBE_REPO, tag: PROBE_TAG, manifest: image.manifest } });
}

/** A config whose docker.io upstreams are `mirrors` (name, url, weight), written into `dir`. */
export async function probeConfig(dir: string, mirrors: readonly (readonly [string, string, number])[]): Promise<string> {
  const items = mirrors.map(([name, url, weight]) => `  - { name: ${name}, url: "${url}", weight: ${weight}, redirects: { allowPrivate: true } }`);
  const file = join(dir, 'probe.yaml');
  await writeFile(file, `listen: "127.0.0.1:0"\nupstreams:\n${items.join('\n')}\n`);
  return file;
}
