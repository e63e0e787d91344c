/**
 * Cache-hit workloads on the static-mirror bench (issue 9): the same measurements as
 * manifest-get, big-1/big-8 and slow500, after the peer has the object in its cache. Run on
 * mirrorgate-cache, beside nginx (the LB, which relays every time) and nginx-static (the file
 * served by nginx with sendfile: the most a cache hit can be).
 *
 * Each run first fetches the object twice and keeps the second answer's X-Cache (mirrorgate:
 * HIT expected), and counts the requests the upstreams served during the measurement: 0 per
 * 1000 means every answer came from the cache.
 */
import { MEDIA } from './fixtures.mjs';
import { run } from './procs.mjs';
import { bigBlob, slow500, upstreamCounters, wrk, wrkWorkload } from './workloads.mjs';

export const CACHE_WORKLOADS = {
  'cache-manifest-get': 'manifest GET by tag from the cache (warmed), wrk -t1 -c64',
  'cache-big-1': '256 MiB blob from the cache (warmed), 1 stream',
  'cache-big-8': '256 MiB blob from the cache (warmed), 8 streams',
  'cache-slow500': '500 slow readers of the cached 256 MiB blob: RSS',
};

/** The peers the cache-hit workloads compare. */
export const CACHE_HIT_PEERS = ['mirrorgate-cache', 'nginx', 'nginx-static', 'nginx-cache'];

/** GETs `path` twice with curl (body to /dev/null) and returns the second answer's status, size and X-Cache. */
async function warm(peer, env, path, headers = []) {
  const url = `http://127.0.0.1:${peer.port}${path}`;
  const argv = ['curl', '-s', '-o', '/dev/null', '--max-time', '60', '-D', '-', '-w', 'SIZE %{size_download}\n'];
  for (const h of headers) argv.push('-H', h);
  argv.push(url);
  let last;
  for (let i = 0; i < 2; i += 1) last = await run('curl', argv, { cpu: env.clientCpu, timeoutMs: 65_000 });
  const status = Number(/^HTTP\/[\d.]+ (\d+)/m.exec(last.stdout)?.[1]);
  const xcache = /^x-cache:\s*(\S+)/im.exec(last.stdout)?.[1] ?? '';
  const size = Number(/^SIZE (\d+)/m.exec(last.stdout)?.[1]);
  return { status, xcache, size };
}

/**
 * Runs `measure` and adds the upstream requests it caused per 1000 of its own, and the warm-up's
 * X-Cache. `statusReads`: stub_status requests `measure` makes itself (they count as requests).
 */
async function withCounters(peer, env, warmed, measure, requestsOf, statusReads = 0) {
  if (warmed.status !== 200) env.log(`  ${peer.id}: warm-up answered ${warmed.status}`);
  if (peer.id === 'mirrorgate-cache' && warmed.xcache !== 'HIT') env.log(`  ${peer.id}: second warm-up GET has X-Cache "${warmed.xcache}", not HIT`);
  const c0 = await upstreamCounters(env);
  const r = await measure();
  const c1 = await upstreamCounters(env);
  const upstreamRequests = c1.requests - c0.requests - 1 - statusReads; // minus the second stub_status request
  const own = requestsOf(r);
  return {
    ...r,
    upstreamRequests,
    upReqPer1k: own > 0 ? (upstreamRequests / own) * 1000 : NaN,
    hit: warmed.xcache === 'HIT' ? 1 : 0,
  };
}

export async function cacheManifestGet(peer, env) {
  const path = env.tree.paths.manifestByTag;
  const accept = `Accept: ${MEDIA.manifest}`;
  const warmed = await warm(peer, env, path, [accept]);
  // wrk's warm-up outside the counted span, so that upstream requests per 1k are the measurement's.
  if (env.opts.warmup > 0) await wrk(env, `http://127.0.0.1:${peer.port}${path}`, { connections: 64, seconds: env.opts.warmup, headers: [accept] });
  const measured = { ...env, opts: { ...env.opts, warmup: 0 } };
  return withCounters(
    peer,
    env,
    warmed,
    () => wrkWorkload(peer, measured, path, 64, [accept]),
    (r) => r.requests,
    2, // wrkWorkload reads stub_status twice itself (new upstream connections)
  );
}

const cacheBig = (lanes) => async (peer, env) => {
  const warmed = await warm(peer, env, env.tree.paths.blobBig);
  return withCounters(
    peer,
    env,
    warmed,
    () => bigBlob(peer, env, lanes),
    (r) => r.downloads,
  );
};
export const cacheBig1 = cacheBig(1);
export const cacheBig8 = cacheBig(8);

export async function cacheSlow500(peer, env) {
  const warmed = await warm(peer, env, env.tree.paths.blobBig);
  return withCounters(
    peer,
    env,
    warmed,
    () => slow500(peer, env),
    (r) => r.readers200,
  );
}

export const CACHE_RUNNERS = {
  'cache-manifest-get': cacheManifestGet,
  'cache-big-1': cacheBig1,
  'cache-big-8': cacheBig8,
  'cache-slow500': cacheSlow500,
};

/** Why a cache workload does not run on a peer (undefined: it does; not a cache workload: undefined). */
export function cacheSkipReason(workload, peerId) {
  if (!(workload in CACHE_WORKLOADS)) return undefined;
  if (!CACHE_HIT_PEERS.includes(peerId)) return 'cache-hit workloads compare mirrorgate-cache, nginx, nginx-static (and nginx-cache)';
  return undefined;
}
