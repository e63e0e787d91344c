/**
 * The upstream registry content, generated on every run into the bench work dir and laid out
 * as the registry API for nginx to serve as static files:
 *
 *   www/v2/library/bench/manifests/1                 the image manifest by tag (~1.5 KiB OCI)
 *   www/v2/library/bench/manifests/sha256:<hex>      the same manifest by digest
 *   www/v2/library/bench/blobs/sha256:<hex>          config, 3 gzip tar layers (random data),
 *                                                    and random blobs of 4 KiB, 1 MiB, 256 MiB
 *
 * nginx adds Content-Type and Docker-Content-Digest (see upstreamNginxConf).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const REPO = 'library/bench';
export const TAG = '1';
export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** A one-file POSIX ustar archive (header, data, padding, two zero blocks). */
function tarOneFile(name, data) {
  const h = Buffer.alloc(512);
  const str = (off, len, s) => Buffer.from(s).copy(h, off, 0, len);
  const oct = (off, len, n) => str(off, len, n.toString(8).padStart(len - 1, '0') + '\0');
  str(0, 100, name);
  oct(100, 8, 0o644);
  oct(108, 8, 0);
  oct(116, 8, 0);
  oct(124, 12, data.length);
  oct(136, 12, 1_700_000_000);
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  str(156, 1, '0');
  str(257, 6, 'ustar\0');
  str(263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  str(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([h, data, Buffer.alloc(pad), Buffer.alloc(1024)]);
}

function randomBuffer(size) {
  return randomFillSync(Buffer.allocUnsafe(size));
}

/** Streams `size` random bytes to blobs/sha256:<hex> without holding them in memory. */
function writeBigRandomBlob(blobDir, size) {
  const tmp = join(blobDir, '.partial');
  const fd = openSync(tmp, 'w');
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
  for (let left = size; left > 0;) {
    const n = Math.min(left, chunk.length);
    randomFillSync(chunk, 0, n);
    const part = chunk.subarray(0, n);
    hash.update(part);
    writeSync(fd, part);
    left -= n;
  }
  closeSync(fd);
  const digest = `sha256:${hash.digest('hex')}`;
  renameSync(tmp, join(blobDir, digest));
  return digest;
}

/**
 * Writes the tree under `root` (a fresh directory) and returns the paths the workloads use.
 * `layerSizes`: uncompressed random payload of each of the image's layers (3 by default), in bytes.
 */
export function generateRegistryTree(root, { bigBlobBytes = 256 * 1024 * 1024, layerSizes = [6 << 20, 3 << 20, 1 << 20] } = {}) {
  const base = join(root, 'v2', REPO);
  const blobDir = join(base, 'blobs');
  const manifestDir = join(base, 'manifests');
  mkdirSync(blobDir, { recursive: true });
  mkdirSync(manifestDir, { recursive: true });

  const putBlob = (buf) => {
    const digest = `sha256:${sha256(buf)}`;
    writeFileSync(join(blobDir, digest), buf);
    return digest;
  };

  const layers = layerSizes.map((size, i) => {
    const tar = tarOneFile(`data/layer-${i + 1}.bin`, randomBuffer(size));
    const gz = gzipSync(tar, { level: 1 });
    return { digest: putBlob(gz), size: gz.length, diffId: `sha256:${sha256(tar)}` };
  });
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/true'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `bench layer ${i + 1}` })),
    }),
  );
  const configDigest = putBlob(config);

  // An OCI image manifest padded with an annotation to ~1.5 KiB, about the size of a real one.
  const build = (pad) =>
    Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: MEDIA.manifest,
          config: { mediaType: MEDIA.config, digest: configDigest, size: config.length },
          layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
          annotations: { 'org.opencontainers.image.description': 'x'.repeat(pad) },
        },
        null,
        2,
      ),
    );
  const target = 1536;
  const manifest = build(Math.max(1, target - build(0).length));
  const manifestDigest = `sha256:${sha256(manifest)}`;
  writeFileSync(join(manifestDir, TAG), manifest);
  writeFileSync(join(manifestDir, manifestDigest), manifest);

  const blob4k = putBlob(randomBuffer(4096));
  const blob1m = putBlob(randomBuffer(1024 * 1024));
  const blobBig = writeBigRandomBlob(blobDir, bigBlobBytes);

  return {
    repo: REPO,
    tag: TAG,
    manifestBytes: manifest.length,
    manifestDigest,
    imageBytes: config.length + layers.reduce((a, l) => a + l.size, 0),
    paths: {
      manifestByTag: `/v2/${REPO}/manifests/${TAG}`,
      manifestByDigest: `/v2/${REPO}/manifests/${manifestDigest}`,
      blob4k: `/v2/${REPO}/blobs/${blob4k}`,
      blob1m: `/v2/${REPO}/blobs/${blob1m}`,
      blobBig: `/v2/${REPO}/blobs/${blobBig}`,
    },
    digests: { blob4k, blob1m, blobBig },
    bigBlobBytes,
  };
}

/**
 * What every nginx of the bench shares (the upstream and the nginx peers): one worker, the
 * foreground, files in `dir`, and the opening of the http block (no access log, temp paths).
 * `name` prefixes the pid and error log files.
 */
export function nginxPreamble({ dir, user, name }) {
  return `${user ? 'user root root;\n' : ''}worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/client;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
`;
}

/**
 * nginx as the three upstream registries: one master, one worker, three loopback ports, static
 * files with sendfile, unlimited keep-alive. Manifests get their media type and digest header
 * (the digest from the file name, or for the tag from a map); blobs get theirs from the path.
 */
export function upstreamNginxConf({ dir, www, ports, tree, user, name = 'upstream', accessLog }) {
  const tagUri = `/v2/${tree.repo}/manifests/${tree.tag}`;
  // accessLog: one line per response with the port and the body bytes sent, for the workloads
  // that count what went over the (shaped) wire per mirror and per blob.
  const logFormat = accessLog ? `  log_format bytes '$server_port $request_method $uri $status $body_bytes_sent $msec $request_time $http_range';\n` : '';
  const logLine = accessLog ? `\n    access_log ${accessLog} bytes;` : '';
  return `# generated by scripts/bench: the registry upstream(s) (static files)
${nginxPreamble({ dir, user, name })}${logFormat}  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  open_file_cache max=64 inactive=600s;
  open_file_cache_valid 600s;
  etag off;
  server_tokens off;
  types { }
  default_type application/octet-stream;
  map $uri $manifest_digest {
    "${tagUri}" "${tree.manifestDigest}";
    "~/manifests/(?<d>sha256:[a-f0-9]{64})$" $d;
  }
  server {
    ${ports.map((p) => `listen 127.0.0.1:${p} backlog=4096;`).join('\n    ')}
    root ${www};${logLine}
    location = /_upstream_status { stub_status; }
    location = /v2/ {
      default_type application/json;
      add_header Docker-Distribution-API-Version registry/2.0 always;
      return 200 '{}';
    }
    location ~ ^/v2/.+/manifests/[^/]+$ {
      default_type ${MEDIA.manifest};
      add_header Docker-Content-Digest $manifest_digest;
      add_header Docker-Distribution-API-Version registry/2.0;
    }
    location ~ "^/v2/.+/blobs/(?<blob_digest>sha256:[a-f0-9]{64})$" {
      default_type application/octet-stream;
      add_header Docker-Content-Digest $blob_digest;
      add_header Docker-Distribution-API-Version registry/2.0;
    }
  }
}
`;
}
