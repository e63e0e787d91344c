/**
 * The soak's clients: a few loops, each pulling one thing at a time through the gateway (a
 * manifest by tag, a HEAD, a manifest by digest, a blob of each size, a Range of a blob) and
 * checking every byte it got against the content. A response the client would accept (a 2xx
 * whose body ended cleanly at its Content-Length) with bytes other than the content's counts as
 * wrong bytes; a cut body or an error status is a failed try, retried like a real client does.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { REPO } from './content.mjs';

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** kind -> weight of its share of the pulls. */
const MIX = { tag: 20, head: 10, digest: 15, small: 30, medium: 10, big: 4, range: 11 };
const KINDS = Object.entries(MIX).flatMap(([kind, weight]) => Array(weight).fill(kind));

const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** GET/HEAD `path` with `headers`; resolves { status, headers, body, complete } and never rejects. */
function request(base, method, path, headers = {}, timeoutMs = 60_000) {
  return new Promise((resolve) => {
    const chunks = [];
    const req = http.request(`${base}${path}`, { method, headers, agent }, (res) => {
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const length = res.headers['content-length'];
        const complete = res.complete && (method === 'HEAD' || length === undefined || Number(length) === body.length);
        resolve({ status: res.statusCode, headers: res.headers, body, complete });
      });
      res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), complete: false }));
      res.on('aborted', () => {});
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', () => resolve({ status: 0, headers: {}, body: Buffer.concat(chunks), complete: false }));
    req.end();
  });
}

/** What one pull of `kind` asks for and what the right answer is. */
function plan(kind, content) {
  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
  if (kind === 'tag' || kind === 'head') {
    const tag = pick([...content.tags.keys()]);
    const digest = content.tags.get(tag);
    return { method: kind === 'head' ? 'HEAD' : 'GET', path: `/v2/${REPO}/manifests/${tag}`, headers: accept, expect: content.manifests.get(digest), digest };
  }
  if (kind === 'digest') {
    const digest = pick([...content.manifests.keys()]);
    return { method: 'GET', path: `/v2/${REPO}/manifests/${digest}`, headers: accept, expect: content.manifests.get(digest), digest };
  }
  const pool = content.blobs.filter((b) => b.kind === (kind === 'range' ? pick(['small', 'medium', 'big']) : kind));
  const blob = pick(pool);
  if (kind !== 'range') return { method: 'GET', path: `/v2/${REPO}/blobs/${blob.digest}`, headers: {}, expect: blob.bytes, digest: blob.digest };
  const start = Math.floor(Math.random() * blob.bytes.length);
  const end = Math.min(blob.bytes.length - 1, start + Math.floor(Math.random() * 2 * 1024 * 1024));
  return {
    method: 'GET',
    path: `/v2/${REPO}/blobs/${blob.digest}`,
    headers: { range: `bytes=${start}-${end}` },
    expect: blob.bytes,
    digest: blob.digest,
    start,
    end,
  };
}

/** 'ok', 'failed' (error status, cut body: the client retries) or 'wrong' (accepted bytes that are not the content). */
function judge(p, res) {
  if (res.status < 200 || res.status >= 300 || !res.complete) return 'failed';
  if (p.method === 'HEAD') {
    const sameSize = Number(res.headers['content-length']) === p.expect.length;
    return sameSize && res.headers['docker-content-digest'] === p.digest ? 'ok' : 'wrong';
  }
  if (p.start !== undefined && res.status === 206) {
    const wanted = `bytes ${p.start}-${p.end}/${p.expect.length}`;
    return res.headers['content-range'] === wanted && res.body.equals(p.expect.subarray(p.start, p.end + 1)) ? 'ok' : 'wrong';
  }
  const hash = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
  return hash === p.digest ? 'ok' : 'wrong';
}

export function createStats() {
  const byKind = Object.fromEntries(Object.keys(MIX).map((k) => [k, { ok: 0, retried: 0, failed: 0, wrong: 0, wrongBytes: 0 }]));
  return { byKind, pulls: 0, tries: 0 };
}

/**
 * Runs `loops` pull loops until `signal` aborts; each waits `pauseMs` between pulls (the request
 * rate bound). A failed try is retried up to 3 times, as docker and containerd do.
 */
export async function runPullers({ base, content, loops, pauseMs, stats, signal }) {
  const loop = async () => {
    while (!signal.aborted) {
      const kind = pick(KINDS);
      const p = plan(kind, content);
      const s = stats.byKind[kind];
      let verdict = 'failed';
      let tries = 0;
      for (; tries < 4 && !signal.aborted; tries++) {
        stats.tries++;
        const res = await request(base, p.method, p.path, p.headers);
        verdict = judge(p, res);
        if (verdict === 'wrong') {
          s.wrong++;
          s.wrongBytes += res.body.length;
          break;
        }
        if (verdict === 'ok') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      stats.pulls++;
      if (verdict === 'ok') s.ok++;
      if (verdict === 'ok' && tries > 0) s.retried++;
      if (verdict === 'failed') s.failed++;
      await new Promise((resolve) => setTimeout(resolve, pauseMs * (0.5 + Math.random())));
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  agent.destroy();
}

export { request };
