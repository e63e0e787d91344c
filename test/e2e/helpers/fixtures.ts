/**
 * The standard e2e image set, built offline from scratch:
 *
 * - library/alpine-test:1  3 layers: two small text-file layers + one random
 *                          (incompressible) layer of 20 MiB + 4321 bytes
 * - library/multi:1        OCI index, linux/amd64 + linux/arm64/v8, small
 * - library/only-one:1     small single layer; meant to be pushed to ONE registry only
 *
 * Content (including the seeded random layer) is deterministic, so digests are
 * stable across runs. Built once per workDir per process (memoized); a completed
 * build is also reused from disk via `workDir/fixtures.json`.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, buildIndex, type BuiltImage, type BuiltIndex } from './oci-image.js';
import { pushImage } from './skopeo.js';

export const BIG_LAYER_BYTES = 20 * 1024 * 1024 + 4321;
const FIXTURE_VERSION = 1;

export type FixtureKey = 'alpine' | 'multi' | 'onlyOne';

export interface FixtureEntry {
  key: FixtureKey;
  /** "library/NAME:TAG" */
  ref: string;
  /** OCI layout dir holding it (tagged with the same tag in index.json). */
  dir: string;
  /** Push/pull with skopeo --all (true for the index). */
  all: boolean;
  /** Top-level digest: the manifest digest, or the index digest for `multi`. */
  digest: string;
}

export interface TestImages {
  workDir: string;
  alpine: BuiltImage;
  multi: BuiltIndex;
  onlyOne: BuiltImage;
  /** The three above, in a uniform shape for push/pull loops. */
  list: FixtureEntry[];
}

const memo = new Map<string, Promise<TestImages>>();

/** Build (or reuse) the standard image set under `workDir` (no ':' in the path). */
export function prepareImages(workDir: string): Promise<TestImages> {
  let p = memo.get(workDir);
  if (!p) {
    p = loadCached(workDir).then((cached) => cached ?? build(workDir));
    p.catch(() => memo.delete(workDir));
    memo.set(workDir, p);
  }
  return p;
}

async function loadCached(workDir: string): Promise<TestImages | undefined> {
  try {
    const raw = JSON.parse(await readFile(join(workDir, 'fixtures.json'), 'utf8')) as {
      version: number;
      images: TestImages;
    };
    if (raw.version !== FIXTURE_VERSION || raw.images.workDir !== workDir) return undefined;
    for (const e of raw.images.list) await stat(join(e.dir, 'index.json'));
    return raw.images;
  } catch {
    return undefined;
  }
}

async function build(workDir: string): Promise<TestImages> {
  if (workDir.includes(':')) throw new Error(`workDir must not contain ':' (${workDir})`);

  const alpineDir = join(workDir, 'alpine-test');
  const alpine = await buildImage(alpineDir, {
    name: 'library/alpine-test',
    tag: '1',
    layers: [
      {
        files: {
          'etc/alpine-release': '3.99.0-mirrorgate\n',
          'etc/os-release': 'NAME="Alpine Test"\nID=alpine-test\nVERSION_ID=3.99.0\n',
          'etc/motd': 'mirrorgate e2e fixture image\n',
        },
      },
      {
        files: {
          'usr/share/mirrorgate/hello.txt': 'hello from layer 2\n',
          'usr/share/mirrorgate/lorem.txt': 'lorem ipsum dolor sit amet\n'.repeat(200),
        },
      },
      { randomBytes: BIG_LAYER_BYTES, seed: 'mirrorgate-e2e/alpine-test:1/big', path: 'var/lib/big/random.bin' },
    ],
  });

  const multiDir = join(workDir, 'multi');
  const amd64 = await buildImage(multiDir, {
    name: 'library/multi',
    tag: '1-amd64',
    arch: 'amd64',
    layers: [{ files: { 'etc/arch': 'amd64\n', 'etc/image': 'library/multi:1\n' } }],
  });
  const arm64 = await buildImage(multiDir, {
    name: 'library/multi',
    tag: '1-arm64',
    arch: 'arm64',
    layers: [{ files: { 'etc/arch': 'arm64\n', 'etc/image': 'library/multi:1\n' } }],
  });
  const multi = await buildIndex(multiDir, '1', [amd64, arm64]);

  const onlyOneDir = join(workDir, 'only-one');
  const onlyOne = await buildImage(onlyOneDir, {
    name: 'library/only-one',
    tag: '1',
    layers: [{ files: { 'etc/only-one': 'this image lives on a single upstream\n' } }],
  });

  const images: TestImages = {
    workDir,
    alpine,
    multi,
    onlyOne,
    list: [
      { key: 'alpine', ref: alpine.ref, dir: alpineDir, all: false, digest: alpine.manifestDigest },
      { key: 'multi', ref: multi.ref, dir: multiDir, all: true, digest: multi.indexDigest },
      { key: 'onlyOne', ref: onlyOne.ref, dir: onlyOneDir, all: false, digest: onlyOne.manifestDigest },
    ],
  };
  const tmp = join(workDir, `.fixtures.json.${process.pid}`);
  await writeFile(tmp, JSON.stringify({ version: FIXTURE_VERSION, images }, null, 2));
  await rename(tmp, join(workDir, 'fixtures.json'));
  return images;
}

/**
 * Push fixtures to a registry (default: all three; pass `only` to choose, e.g.
 * `['alpine', 'multi']` for every upstream and `['onlyOne']` for just one).
 * Throws if a push fails.
 */
export async function pushFixtures(images: TestImages, registryUrl: string, opts: { only?: FixtureKey[]; timeoutMs?: number } = {}): Promise<void> {
  for (const e of images.list) {
    if (opts.only && !opts.only.includes(e.key)) continue;
    await pushImage(e.dir, registryUrl, e.ref, { all: e.all, timeoutMs: opts.timeoutMs });
  }
}
