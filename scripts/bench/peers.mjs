/**
 * The peers under test, all in front of the same three upstreams with weights 3:2:1, each one
 * process / one worker / one thread (pinned to the peer CPU when pinning is on):
 *
 *   mirrorgate   node dist/cli.js serve (this repo, built)
 *   mirrorgate-noverify  the same with `verifyDigests: false` (not run by default: --only=...),
 *                to show the data path's own cost apart from the sha256 of digest verification
 *   mirrorgate-baseline  mirrorgate from another built checkout (--baseline=DIR; --only=...), to
 *                measure a change against the code before it side by side
 *   nginx        nginx upstream{} with keepalive, proxy_buffering off
 *   nginx-buf    the same with proxy_buffering on (the nginx default)
 *   haproxy      nbthread 1, http-reuse always
 *   http-proxy   scripts/bench/gateway-http-proxy.mjs (http-proxy 1.18.1)
 *   bare         scripts/bench/gateway-bare.mjs: a minimal node:http + undici relay, the ceiling
 *                of mirrorgate's own stack (no failover, no verification)
 *   direct       no peer: straight to the weight-3 upstream (the ceiling)
 *   mirrorgate-cache, nginx-cache, distribution, nginx-static: the caching peers, see cache-peers.mjs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distributionYaml, mirrorgateYaml, nginxCacheConf } from './cache-peers.mjs';
import { nginxPreamble, upstreamNginxConf } from './fixtures.mjs';
import { childPids, freePort, start, stop, waitHttp } from './procs.mjs';

export const PEER_IDS = ['mirrorgate', 'bare', 'nginx', 'nginx-buf', 'haproxy', 'http-proxy', 'direct'];
/** The caching peers (cache-peers.mjs), run by the cache workloads (cache-*, fleet-wan). */
export const CACHE_PEER_IDS = ['mirrorgate-cache', 'nginx-cache', 'distribution', 'nginx-static'];
/** Peers run only when --only names them (or, for the caching ones, when a cache workload asks for them). */
export const OPTIONAL_PEER_IDS = ['mirrorgate-noverify', 'mirrorgate-baseline', ...CACHE_PEER_IDS];

export const PEER_LABELS = {
  mirrorgate: 'mirrorgate',
  'mirrorgate-noverify': 'mirrorgate, verifyDigests off',
  'mirrorgate-baseline': 'mirrorgate baseline (--baseline)',
  nginx: 'nginx (buffering off)',
  'nginx-buf': 'nginx (buffering on)',
  haproxy: 'haproxy',
  'http-proxy': 'http-proxy 1.18.1',
  bare: 'bare node:http + undici',
  'mirrorgate-cache': 'mirrorgate, cache on',
  'nginx-cache': 'nginx proxy_cache + lock',
  distribution: 'distribution proxy (1 remote)',
  'nginx-static': 'nginx static file (sendfile)',
  direct: 'direct (ceiling)',
};

/**
 * ctx: { dir, repoRoot, upstreamPorts, weights, cpu, logLevel, maxConnections, upstream (the
 * upstream nginx peer-like object, for `direct`), www and tree (the fixtures, for nginx-static) }.
 * Returns { id, port, pids(), proc, stop(), dir (configs, logs, the peer's cache) }.
 */
export async function startPeer(id, ctx) {
  const dir = join(ctx.dir, 'peers', id);
  mkdirSync(dir, { recursive: true });
  const ups = ctx.upstreamPorts.map((port, i) => ({ name: `u${i + 1}`, port, weight: ctx.weights[i] }));
  const log = join(dir, 'output.log');

  if (id === 'direct') {
    return { id, port: ups[0].port, pids: () => ctx.upstream.pids(), proc: undefined, stop: async () => {}, external: true };
  }

  const port = await freePort();
  let argv;
  let cwd = ctx.repoRoot;
  let nginxLike = false;
  switch (id) {
    case 'mirrorgate':
    case 'mirrorgate-baseline':
    case 'mirrorgate-noverify':
    case 'mirrorgate-cache': {
      const cacheDir = id === 'mirrorgate-cache' || ctx.cache === true ? join(dir, 'cache') : undefined;
      const yaml = mirrorgateYaml({
        port,
        ups,
        maxConnections: ctx.maxConnections,
        logLevel: ctx.logLevel,
        cacheDir,
        verifyDigests: id !== 'mirrorgate-noverify',
        parallel: ctx.parallel,
        health: ctx.health,
      });
      const file = join(dir, 'mirrorgate.yaml');
      writeFileSync(file, yaml);
      if (id === 'mirrorgate-baseline' && ctx.baselineRoot === undefined) throw new Error('mirrorgate-baseline needs --baseline=DIR');
      const root = id === 'mirrorgate-baseline' ? ctx.baselineRoot : ctx.repoRoot;
      argv = [process.execPath, ...(ctx.nodeFlags ?? []), join(root, 'dist', 'cli.js'), 'serve', '-c', file, '--no-watch'];
      break;
    }
    case 'nginx-cache':
    case 'nginx-static': {
      nginxLike = true;
      for (const d of ['client', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, 'tmp', d), { recursive: true });
      mkdirSync(join(dir, 'cache'), { recursive: true });
      const conf = join(dir, 'nginx.conf');
      const user = process.getuid?.() === 0;
      if (id === 'nginx-cache') writeFileSync(conf, nginxCacheConf({ dir, port, ups, user }));
      else {
        if (ctx.www === undefined || ctx.tree === undefined) throw new Error('nginx-static needs the fixture tree');
        writeFileSync(conf, upstreamNginxConf({ dir, www: ctx.www, ports: [port], tree: ctx.tree, user, name: 'nginx-static' }));
      }
      argv = ['nginx', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')];
      cwd = dir;
      break;
    }
    case 'distribution': {
      const storageDir = join(dir, 'storage');
      mkdirSync(storageDir, { recursive: true });
      const file = join(dir, 'config.yml');
      writeFileSync(file, distributionYaml({ port, remotePort: ups[0].port, storageDir, debugPort: await freePort() }));
      argv = ['docker-registry', 'serve', file];
      cwd = dir;
      break;
    }
    case 'nginx':
    case 'nginx-buf': {
      nginxLike = true;
      mkdirSync(join(dir, 'tmp'), { recursive: true });
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, nginxPeerConf({ dir, port, ups, buffering: id === 'nginx-buf', user: process.getuid?.() === 0 }));
      argv = ['nginx', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')];
      cwd = dir;
      break;
    }
    case 'haproxy': {
      const cfg = join(dir, 'haproxy.cfg');
      writeFileSync(cfg, haproxyConf({ port, ups }));
      argv = ['haproxy', '-db', '-f', cfg];
      cwd = dir;
      break;
    }
    case 'http-proxy':
    case 'bare': {
      const spec = ups.map((u) => `127.0.0.1:${u.port}:${u.weight}`).join(',');
      argv = [process.execPath, join(ctx.repoRoot, 'scripts', 'bench', `gateway-${id}.mjs`), String(port), spec];
      break;
    }
    default:
      throw new Error(`unknown peer ${id}`);
  }
  const proc = start(id, argv, { cpu: ctx.cpu, cwd, log });
  await waitHttp(`http://127.0.0.1:${port}/v2/`, proc);
  // nginx: master + worker. mirrorgate: itself, plus any worker it forks (a `workers` setting).
  const pids = () => (nginxLike || id.startsWith('mirrorgate') ? [proc.pid, ...childPids(proc.pid)] : [proc.pid]);
  return { id, port, pids, proc, stop: () => stop(proc), log, dir };
}

function nginxPeerConf({ dir, port, ups, buffering, user }) {
  return `# generated by scripts/bench: nginx as the gateway (proxy_buffering ${buffering ? 'on' : 'off'})
${nginxPreamble({ dir, user, name: 'nginx' })}  keepalive_timeout 120s;
  keepalive_requests 100000000;
  server_tokens off;
  upstream registries {
    ${ups.map((u) => `server 127.0.0.1:${u.port} weight=${u.weight};`).join('\n    ')}
    keepalive 64;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://registries;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering ${buffering ? 'on' : 'off'};
      proxy_read_timeout 60s;
      proxy_send_timeout 60s;
    }
  }
}
`;
}

function haproxyConf({ port, ups }) {
  return `# generated by scripts/bench: haproxy as the gateway
global
  nbthread 1
  maxconn 8000
  log stderr format raw local0 emerg

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 120s
  option http-keep-alive

frontend gateway
  bind 127.0.0.1:${port}
  default_backend registries

backend registries
  balance roundrobin
  http-reuse always
${ups.map((u) => `  server ${u.name} 127.0.0.1:${u.port} weight ${u.weight} maxconn 10000`).join('\n')}
`;
}
