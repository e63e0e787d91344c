/**
 * One reading of the gateway process: RSS and open descriptors from /proc/PID (sockets are the
 * fds that link to `socket:[…]`), and from its /metrics (prom-client's default metrics) the
 * active handles and the event-loop delay. prom-client resets its event-loop histogram at each
 * scrape, so with one scrape a minute each p99 covers that minute.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { request } from './puller.mjs';

function procReading(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  let fds = 0;
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return { rssMiB: rssKiB / 1024, fds, sockets };
}

/** The sum of the series of `name` in Prometheus text (no label filter). */
export function metricValue(text, name) {
  let sum = NaN;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})? (\S+)$/.exec(line);
    if (match !== null && match[1] === name) sum = (Number.isNaN(sum) ? 0 : sum) + Number(match[2]);
  }
  return sum;
}

export async function sampleGateway(pid, base) {
  const proc = procReading(pid);
  const res = await request(base, 'GET', '/metrics', {}, 10_000);
  const text = res.body.toString('utf8');
  return {
    ...proc,
    handles: metricValue(text, 'nodejs_active_handles_total'),
    lagP99Ms: metricValue(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    lagMaxMs: metricValue(text, 'nodejs_eventloop_lag_max_seconds') * 1000,
    cpuSeconds: metricValue(text, 'process_cpu_seconds_total'),
    failovers: metricValue(text, 'mirrorgate_failovers_total'),
    quarantined: metricValue(text, 'mirrorgate_upstream_quarantined'),
    cacheBlobs: metricValue(text, 'mirrorgate_cache_blobs'),
    evicted: metricValue(text, 'mirrorgate_cache_evicted_blobs_total'),
  };
}
