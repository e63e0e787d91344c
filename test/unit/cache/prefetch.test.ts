/** The image walk over a fake source: index → platform manifests → blobs once each; a failing blob is an error of the image and the others go on. */
import t from 'tap';
import type { PrefetchImage } from '../../../src/config/types.js';
import { prefetchImage, type ImageSource } from '../../../src/cache/prefetch.js';
import type { BlobRef } from '../../../src/registry/manifests.js';

const IMAGE: PrefetchImage = { registry: 'docker.io', name: 'library/app', reference: '1', text: 'docker.io/library/app:1' };
const d = (c: string): string => `sha256:${c.repeat(64)}`;

const image = (config: string, layers: string[]): string =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d(config), size: 10 },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d(l), size: 100 })),
  });

const INDEX = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d('b'), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ],
});

/** Manifests by reference; blobs in `stored` are cached, in `failing` reject. */
function fakeSource(manifests: Record<string, string>, stored: string[] = [], failing: string[] = []): ImageSource & { asked: string[]; read: string[] } {
  const asked: string[] = [];
  const read: string[] = [];
  return {
    asked,
    read,
    manifest(_image, reference) {
      asked.push(reference);
      const body = manifests[reference];
      return body === undefined
        ? Promise.reject(new Error(`manifest ${reference}: status 404`))
        : Promise.resolve({ body: Buffer.from(body), contentType: '' });
    },
    blob(_image, blob: BlobRef, onBytes) {
      read.push(blob.digest);
      if (failing.includes(blob.digest)) return Promise.reject(new Error('no upstream could answer'));
      if (stored.includes(blob.digest)) return Promise.resolve({ cached: true, bytes: blob.size });
      onBytes(blob.size);
      return Promise.resolve({ cached: false, bytes: blob.size });
    },
  };
}

const signal = new AbortController().signal;

t.test('an index: the platforms asked for, each shared blob once', async (t) => {
  const source = fakeSource({ '1': INDEX, [d('a')]: image('c', ['1', '2']), [d('b')]: image('e', ['1', '3']) }, [d('2')]);
  const amd64 = { os: 'linux', architecture: 'amd64' };
  const arm64 = { os: 'linux', architecture: 'arm64' };
  const report = await prefetchImage(source, IMAGE, [amd64, arm64], signal);
  t.same(source.asked, ['1', d('a'), d('b')]);
  t.same(source.read.sort(), [d('c'), d('1'), d('2'), d('e'), d('3')].sort(), 'layer 1 is shared: read once');
  t.match(report, { image: IMAGE.text, layers: 3, blobs: 5, fetchedBytes: 10 + 100 + 10 + 100, cachedBytes: 100, errors: [], missingPlatforms: [] });
});

t.test('only amd64: the arm64 manifest is never asked for', async (t) => {
  const source = fakeSource({ '1': INDEX, [d('a')]: image('c', ['1']) });
  const report = await prefetchImage(source, IMAGE, [{ os: 'linux', architecture: 'amd64' }], signal);
  t.same(source.asked, ['1', d('a')]);
  t.equal(report.errors.length, 0);
});

t.test('a platform the index lacks is reported; none at all is an error', async (t) => {
  const source = fakeSource({ '1': INDEX, [d('a')]: image('c', ['1']) });
  const partly = await prefetchImage(
    source,
    IMAGE,
    [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 's390x' },
    ],
    signal,
  );
  t.same(partly.missingPlatforms, ['linux/s390x']);
  t.same(partly.errors, []);
  const none = await prefetchImage(source, IMAGE, [{ os: 'linux', architecture: 's390x' }], signal);
  t.same(none.errors, ['the index has no manifest for linux/s390x (it has linux/amd64, linux/arm64/v8)']);
  t.equal(none.blobs, 0);
});

t.test('a failing blob is an error of the image; the other blobs are still read', async (t) => {
  const source = fakeSource({ '1': image('c', ['1', '2', '3']) }, [], [d('2')]);
  const events: string[] = [];
  const report = await prefetchImage(source, IMAGE, [], signal, {
    blobDone: (_image, blob, outcome) => events.push(`${blob.digest.slice(7, 8)} ${'error' in outcome ? 'error' : 'ok'}`),
  });
  t.same(report.errors, [`${d('2')}: no upstream could answer`]);
  t.same(events.sort(), ['1 ok', '2 error', '3 ok', 'c ok']);
  t.equal(report.fetchedBytes, 10 + 200);
});

t.test('a manifest that cannot be had, or is not one', async (t) => {
  t.same((await prefetchImage(fakeSource({}), IMAGE, [], signal)).errors, ['manifest 1: status 404']);
  t.same((await prefetchImage(fakeSource({ '1': '{"hello":1}' }), IMAGE, [], signal)).errors, ['manifest 1: not an image manifest or index (no media type)']);
  t.same((await prefetchImage(fakeSource({ '1': 'nope' }), IMAGE, [], signal)).errors, ['manifest 1: the manifest is not JSON']);
});
