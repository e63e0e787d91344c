/**
 * Build OCI images from scratch, offline: a minimal POSIX ustar writer, gzip via
 * node:zlib, sha256 digests, and an OCI image layout directory
 * (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) that `skopeo copy oci:DIR:TAG`
 * can read.
 *
 * Layers are streamed (tar -> sha256(diff_id) -> gzip -> sha256(digest) -> file), so
 * a large random layer costs ~1 MiB of memory, not its size.
 */
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip } from 'node:zlib';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** Fixed timestamps keep file-only images byte-for-byte reproducible. */
const FIXED_MTIME = 1_700_000_000; // 2023-11-14T22:13:20Z
const FIXED_CREATED = '2024-01-01T00:00:00Z';
const CHUNK = 1024 * 1024;

// ---------------------------------------------------------------------------
// ustar writer
// ---------------------------------------------------------------------------

export interface TarHeaderFields {
  path: string;
  size: number;
  type?: 'file' | 'dir';
  mode?: number;
  mtime?: number;
}

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar: field too long (${bytes.length} > ${length}): ${value}`);
  bytes.copy(buf, offset);
}

/** Octal number, zero padded to length-1 digits, NUL terminated. */
function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar: value ${value} does not fit in ${length} bytes`);
  writeString(buf, offset, length, digits.padStart(length - 1, '0') + '\0');
}

function normalizeTarPath(p: string): string {
  let s = p
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '');
  s = s.replace(/\/+/g, '/').replace(/\/$/, '');
  if (s === '' || s.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new Error(`tar: invalid path ${JSON.stringify(p)}`);
  }
  return s;
}

/** Split a path into ustar (prefix, name) so that name <= 100 and prefix <= 155 bytes. */
function splitUstarPath(p: string): { name: string; prefix: string } {
  if (Buffer.byteLength(p) <= 100) return { name: p, prefix: '' };
  for (let i = p.length - 1; i > 0; i--) {
    if (p[i] !== '/') continue;
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') {
      return { name, prefix };
    }
  }
  throw new Error(`tar: path too long for ustar: ${p}`);
}

/** One 512-byte ustar header block. */
export function tarHeader(fields: TarHeaderFields): Buffer {
  const type = fields.type ?? 'file';
  const h = Buffer.alloc(512, 0);
  const path = normalizeTarPath(fields.path) + (type === 'dir' ? '/' : '');
  const { name, prefix } = splitUstarPath(path);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, fields.mode ?? (type === 'dir' ? 0o755 : 0o644));
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, type === 'dir' ? 0 : fields.size);
  writeOctal(h, 136, 12, fields.mtime ?? FIXED_MTIME);
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  writeString(h, 156, 1, type === 'dir' ? '5' : '0');
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 265, 32, 'root');
  writeString(h, 297, 32, 'root');
  writeOctal(h, 329, 8, 0); // devmajor
  writeOctal(h, 337, 8, 0); // devminor
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  // 6 octal digits, NUL, space (the traditional layout)
  writeString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** Zero padding that brings `size` bytes of file data up to a 512-byte boundary. */
export function tarPadding(size: number): Buffer {
  const rem = size % 512;
  return Buffer.alloc(rem === 0 ? 0 : 512 - rem, 0);
}

/** End-of-archive marker: two zero blocks. */
export function tarTrailer(): Buffer {
  return Buffer.alloc(1024, 0);
}

export interface TarStreamEntry {
  path: string;
  size: number;
  mode?: number;
  /** Must yield exactly `size` bytes. */
  content: Buffer | Iterable<Buffer> | AsyncIterable<Buffer>;
}

/**
 * Stream a tar archive. Parent directories are emitted automatically (once, before
 * their first child). Entries are written in the given order.
 */
export async function* tarStream(entries: Iterable<TarStreamEntry>): AsyncGenerator<Buffer> {
  const seenDirs = new Set<string>();
  for (const entry of entries) {
    const path = normalizeTarPath(entry.path);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!seenDirs.has(dir)) {
        seenDirs.add(dir);
        yield tarHeader({ path: dir, size: 0, type: 'dir' });
      }
    }
    yield tarHeader({ path, size: entry.size, mode: entry.mode });
    let written = 0;
    if (Buffer.isBuffer(entry.content)) {
      written = entry.content.length;
      if (written > 0) yield entry.content;
    } else {
      for await (const chunk of entry.content) {
        written += chunk.length;
        if (written > entry.size) throw new Error(`tar: ${path}: content exceeds declared size ${entry.size}`);
        yield chunk;
      }
    }
    if (written !== entry.size) throw new Error(`tar: ${path}: wrote ${written} bytes, declared ${entry.size}`);
    const pad = tarPadding(entry.size);
    if (pad.length > 0) yield pad;
  }
  yield tarTrailer();
}

/** Whole tar archive in memory (small file sets only). Paths are sorted. */
export async function buildTar(files: Record<string, Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tarStream(fileEntries(files))) chunks.push(c);
  return Buffer.concat(chunks);
}

function fileEntries(files: Record<string, Buffer | string>): TarStreamEntry[] {
  return Object.keys(files)
    .sort()
    .map((p) => {
      const v = files[p] as Buffer | string;
      const content = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
      return { path: p, size: content.length, content };
    });
}

// ---------------------------------------------------------------------------
// random content
// ---------------------------------------------------------------------------

/**
 * `size` incompressible bytes in 1 MiB chunks. With a seed the stream is
 * deterministic (AES-256-CTR keystream, key = sha256(seed)); without, it comes
 * from crypto.randomBytes.
 */
export function* randomChunks(size: number, seed?: string): Generator<Buffer> {
  const cipher = seed === undefined ? undefined : createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(CHUNK, 0);
  let left = size;
  while (left > 0) {
    const n = Math.min(CHUNK, left);
    yield cipher ? cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n)) : randomBytes(n);
    left -= n;
  }
}

// ---------------------------------------------------------------------------
// OCI layout
// ---------------------------------------------------------------------------

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export type LayerSpec =
  | { files: Record<string, Buffer | string> }
  | {
      /** Size of a single random file in the layer (uncompressed, before tar framing). */
      randomBytes: number;
      /** Deterministic content when given; crypto.randomBytes otherwise. */
      seed?: string;
      /** Path of the file inside the layer. Default `data/random-<size>.bin`. */
      path?: string;
    };

export interface ImageSpec {
  /** Repository name, e.g. "library/alpine-test" (informational; used for `ref`). */
  name: string;
  /** Tag, written as the org.opencontainers.image.ref.name of the index.json entry. */
  tag: string;
  layers: LayerSpec[];
  arch?: 'amd64' | 'arm64' | (string & {});
  /** Default: "v8" for arm64, none otherwise. */
  variant?: string;
  os?: string;
  /** gzip level for layers (default 6; random layers always use 1, it can't compress anyway). */
  gzipLevel?: number;
}

export interface BuiltLayer {
  mediaType: string;
  /** sha256 of the gzipped blob */
  digest: string;
  /** size of the gzipped blob */
  size: number;
  /** sha256 of the uncompressed tar */
  diffId: string;
  uncompressedSize: number;
}

export interface BuiltImage {
  dir: string;
  name: string;
  tag: string;
  /** `${name}:${tag}` */
  ref: string;
  platform: Platform;
  manifestDigest: string;
  manifestSize: number;
  manifestMediaType: string;
  configDigest: string;
  configSize: number;
  layers: BuiltLayer[];
  layerDigests: string[];
  diffIds: string[];
}

export interface BuiltIndex {
  dir: string;
  name: string;
  tag: string;
  ref: string;
  indexDigest: string;
  indexSize: number;
  indexMediaType: string;
  images: BuiltImage[];
  /** Child manifest digests in index order. */
  manifestDigests: string[];
}

interface OciIndexJson {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

const sha256 = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

export function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  if (alg !== 'sha256' || !hex || !/^[a-f0-9]{64}$/.test(hex)) throw new Error(`bad digest ${digest}`);
  return join(dir, 'blobs', alg, hex);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Create `oci-layout`, `blobs/sha256/` and an empty `index.json` if missing. */
export async function initOciLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const layoutFile = join(dir, 'oci-layout');
  if (!(await exists(layoutFile))) {
    await writeFile(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }
  const indexFile = join(dir, 'index.json');
  if (!(await exists(indexFile))) {
    await writeIndexJson(dir, { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [] });
  }
}

async function readIndexJson(dir: string): Promise<OciIndexJson> {
  return JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as OciIndexJson;
}

async function writeIndexJson(dir: string, index: OciIndexJson): Promise<void> {
  const tmp = join(dir, `.index.json.${randomUUID()}`);
  await writeFile(tmp, JSON.stringify(index, null, 2) + '\n');
  await rename(tmp, join(dir, 'index.json'));
}

// Serialise index.json read-modify-write per layout dir (in this process).
const indexLocks = new Map<string, Promise<unknown>>();
function withIndexLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const prev = indexLocks.get(dir) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  indexLocks.set(
    dir,
    next.catch(() => undefined),
  );
  return next;
}

async function updateIndexJson(dir: string, mutate: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
  await withIndexLock(dir, async () => {
    const idx = await readIndexJson(dir);
    idx.manifests = mutate(idx.manifests ?? []);
    await writeIndexJson(dir, idx);
  });
}

/** Write bytes as a blob; returns its descriptor fields. */
export async function writeBlob(dir: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  const p = blobPath(dir, digest);
  if (!(await exists(p))) {
    const tmp = join(dir, 'blobs', 'sha256', `.tmp-${randomUUID()}`);
    await writeFile(tmp, bytes);
    await rename(tmp, p);
  }
  return { digest, size: bytes.length };
}

/** Stream a tar through gzip into a blob, hashing both sides. */
async function writeLayerBlob(dir: string, tar: AsyncIterable<Buffer>, gzipLevel: number): Promise<BuiltLayer> {
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let uncompressedSize = 0;
  let size = 0;
  const tmp = join(dir, 'blobs', 'sha256', `.tmp-${randomUUID()}`);
  try {
    await pipeline(
      async function* () {
        for await (const c of tar) {
          diffHash.update(c);
          uncompressedSize += c.length;
          yield c;
        }
      },
      createGzip({ level: gzipLevel, memLevel: 8, strategy: zlibConstants.Z_DEFAULT_STRATEGY }),
      async function* (src: AsyncIterable<Buffer>) {
        for await (const c of src) {
          blobHash.update(c);
          size += c.length;
          yield c;
        }
      },
      createWriteStream(tmp),
    );
    const digest = 'sha256:' + blobHash.digest('hex');
    await rename(tmp, blobPath(dir, digest));
    return {
      mediaType: MEDIA_TYPES.layerGzip,
      digest,
      size,
      diffId: 'sha256:' + diffHash.digest('hex'),
      uncompressedSize,
    };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function buildLayer(dir: string, spec: LayerSpec, gzipLevel: number): Promise<BuiltLayer> {
  if ('files' in spec) {
    return writeLayerBlob(dir, tarStream(fileEntries(spec.files)), gzipLevel);
  }
  if (!Number.isSafeInteger(spec.randomBytes) || spec.randomBytes < 0) {
    throw new Error(`randomBytes must be a non-negative integer, got ${spec.randomBytes}`);
  }
  const entry: TarStreamEntry = {
    path: spec.path ?? `data/random-${spec.randomBytes}.bin`,
    size: spec.randomBytes,
    content: randomChunks(spec.randomBytes, spec.seed),
  };
  return writeLayerBlob(dir, tarStream([entry]), 1);
}

function platformOf(spec: { arch?: string; variant?: string; os?: string }): Platform {
  const architecture = spec.arch ?? 'amd64';
  const variant = spec.variant ?? (architecture === 'arm64' ? 'v8' : undefined);
  return { architecture, os: spec.os ?? 'linux', ...(variant ? { variant } : {}) };
}

/**
 * Build one single-platform image into the OCI layout at `dir` (created if needed)
 * and tag it in index.json (an existing entry with the same tag is replaced).
 */
export async function buildImage(dir: string, spec: ImageSpec): Promise<BuiltImage> {
  if (spec.layers.length === 0) throw new Error('buildImage: at least one layer required');
  await initOciLayout(dir);
  const gzipLevel = spec.gzipLevel ?? 6;
  const layers: BuiltLayer[] = [];
  for (const l of spec.layers) layers.push(await buildLayer(dir, l, gzipLevel));
  const platform = platformOf(spec);

  const config = {
    created: FIXED_CREATED,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Labels: { 'org.opencontainers.image.title': spec.name },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: FIXED_CREATED, created_by: `mirrorgate e2e layer ${i}` })),
  };
  const configBlob = await writeBlob(dir, Buffer.from(JSON.stringify(config)));

  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBlob = await writeBlob(dir, Buffer.from(JSON.stringify(manifest)));

  await updateIndexJson(dir, (ms) => [
    ...ms.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== spec.tag),
    {
      mediaType: MEDIA_TYPES.manifest,
      digest: manifestBlob.digest,
      size: manifestBlob.size,
      annotations: { [REF_NAME_ANNOTATION]: spec.tag },
    },
  ]);

  return {
    dir,
    name: spec.name,
    tag: spec.tag,
    ref: `${spec.name}:${spec.tag}`,
    platform,
    manifestDigest: manifestBlob.digest,
    manifestSize: manifestBlob.size,
    manifestMediaType: MEDIA_TYPES.manifest,
    configDigest: configBlob.digest,
    configSize: configBlob.size,
    layers,
    layerDigests: layers.map((l) => l.digest),
    diffIds: layers.map((l) => l.diffId),
  };
}

async function copyBlobIfMissing(fromDir: string, toDir: string, digest: string): Promise<void> {
  const dest = blobPath(toDir, digest);
  if (await exists(dest)) return;
  const tmp = join(toDir, 'blobs', 'sha256', `.tmp-${randomUUID()}`);
  await copyFile(blobPath(fromDir, digest), tmp);
  await rename(tmp, dest);
}

/**
 * Write a multi-platform OCI image index over already built images and tag it in
 * `dir`'s index.json. Images built in other layout dirs have their blobs copied in.
 * index.json entries that pointed directly at the child manifests are removed
 * (the children stay reachable through the index), so the layout ends up with the
 * index as its single entry when built the usual way.
 */
export async function buildIndex(dir: string, tag: string, images: BuiltImage[], opts: { name?: string } = {}): Promise<BuiltIndex> {
  if (images.length === 0) throw new Error('buildIndex: at least one image required');
  await initOciLayout(dir);
  for (const img of images) {
    if (img.dir === dir) continue;
    for (const d of [img.manifestDigest, img.configDigest, ...img.layerDigests]) {
      await copyBlobIfMissing(img.dir, dir, d);
    }
  }
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: images.map((img) => ({
      mediaType: img.manifestMediaType,
      digest: img.manifestDigest,
      size: img.manifestSize,
      platform: img.platform,
    })),
  };
  const indexBlob = await writeBlob(dir, Buffer.from(JSON.stringify(index)));
  const children = new Set(images.map((i) => i.manifestDigest));
  await updateIndexJson(dir, (ms) => [
    ...ms.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== tag && !children.has(m.digest)),
    {
      mediaType: MEDIA_TYPES.index,
      digest: indexBlob.digest,
      size: indexBlob.size,
      annotations: { [REF_NAME_ANNOTATION]: tag },
    },
  ]);
  const name = opts.name ?? (images[0] as BuiltImage).name;
  return {
    dir,
    name,
    tag,
    ref: `${name}:${tag}`,
    indexDigest: indexBlob.digest,
    indexSize: indexBlob.size,
    indexMediaType: MEDIA_TYPES.index,
    images,
    manifestDigests: images.map((i) => i.manifestDigest),
  };
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) h.update(chunk as Buffer);
  return 'sha256:' + h.digest('hex');
}

// ---------------------------------------------------------------------------
// ustar reader (verification of small/medium in-memory archives)
// ---------------------------------------------------------------------------

export interface TarListEntry {
  path: string;
  type: 'file' | 'dir' | 'other';
  size: number;
  mode: number;
  /** File data (a view into the archive buffer). */
  data: Buffer;
}

function readCString(buf: Buffer, offset: number, length: number): string {
  const field = buf.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

function readOctal(buf: Buffer, offset: number, length: number): number {
  const s = readCString(buf, offset, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/**
 * Parse a ustar archive, verifying every header checksum, the ustar magic, and
 * the end-of-archive marker. Throws on malformed input.
 */
export function parseTar(buf: Buffer): TarListEntry[] {
  const out: TarListEntry[] = [];
  let off = 0;
  for (;;) {
    if (off + 512 > buf.length) throw new Error('tar: truncated archive (no end-of-archive marker)');
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) {
      const next = buf.subarray(off + 512, off + 1024);
      if (next.length !== 512 || !next.every((b) => b === 0)) throw new Error('tar: expected two zero blocks at end');
      return out;
    }
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    const declared = readOctal(h, 148, 8);
    if (declared !== sum) throw new Error(`tar: bad header checksum at offset ${off} (${declared} != ${sum})`);
    if (readCString(h, 257, 6) !== 'ustar') throw new Error(`tar: not a ustar header at offset ${off}`);
    const name = readCString(h, 0, 100);
    const prefix = readCString(h, 345, 155);
    const size = readOctal(h, 124, 12);
    const flag = String.fromCharCode(h[156] as number);
    const type = flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'dir' : 'other';
    const dataStart = off + 512;
    if (dataStart + size > buf.length) throw new Error(`tar: truncated data for ${name}`);
    out.push({
      path: (prefix ? `${prefix}/${name}` : name).replace(/\/$/, ''),
      type,
      size,
      mode: readOctal(h, 100, 8),
      data: buf.subarray(dataStart, dataStart + size),
    });
    off = dataStart + size + tarPadding(size).length;
  }
}
