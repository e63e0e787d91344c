/**
 * A closed-loop HTTP/1.1 load generator for what Debian's wrk 4.1 cannot do: HEAD (wrk waits for
 * a body that a HEAD response never has when it carries Content-Length; wrk issue #198).
 *
 * N keep-alive connections over raw sockets, one request in flight on each (no pipelining),
 * for warmup + duration seconds; prints one JSON line:
 *   { requests, ok, bad, errors, reconnects, seconds, rps, p50, p99, max }   (latencies in ms)
 *
 * Raw sockets and not undici: undici closes the connection after every HEAD ("interop with
 * misbehaving servers", client-h1.js), which would turn a HEAD benchmark into a connect
 * benchmark. Responses must be Content-Length framed (or HEAD); anything else counts as an error
 * and the connection is reopened.
 *
 * usage: node hload.mjs --url URL [--method HEAD] [--connections 64] [--duration 5]
 *                       [--warmup 1] [--header 'Name: value']...
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    method: { type: 'string', default: 'HEAD' },
    connections: { type: 'string', default: '64' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    header: { type: 'string', multiple: true, default: [] },
  },
});
const url = new URL(values.url);
const method = values.method.toUpperCase();
const isHead = method === 'HEAD';
const connections = Number(values.connections);
const request = Buffer.from(
  `${method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: bench-hload\r\n${values.header.map((h) => `${h}\r\n`).join('')}\r\n`,
  'latin1',
);

const latencies = [];
let recording = false;
let stopped = false;
let ok = 0;
let bad = 0;
let errors = 0;
let reconnects = 0;

const CRLFCRLF = Buffer.from('\r\n\r\n');

function connection() {
  let socket;
  let buf = Buffer.alloc(0);
  let sentAt = 0;
  let need = -1; // bytes of the current response still expected once headers are parsed
  let status = 0;
  let closeAfter = false;

  const send = () => {
    if (stopped) return socket.end();
    sentAt = performance.now();
    need = -1;
    socket.write(request);
  };
  const done = () => {
    if (recording && !stopped) {
      latencies.push(performance.now() - sentAt);
      if (status >= 200 && status < 400) ok += 1;
      else bad += 1;
    }
    if (closeAfter) {
      socket.destroyedByUs = true;
      socket.destroy();
      reopen();
    } else {
      send();
    }
  };
  const fail = () => {
    if (recording && !stopped) errors += 1;
    socket.destroyedByUs = true;
    socket.destroy();
    reopen();
  };
  const reopen = () => {
    if (stopped) return;
    reconnects += 1;
    setTimeout(open, 5);
  };
  const open = () => {
    buf = Buffer.alloc(0);
    const s = net.connect(Number(url.port || 80), url.hostname);
    socket = s;
    s.setNoDelay(true);
    s.on('connect', send);
    s.on('error', () => {});
    s.on('close', () => {
      if (!stopped && !s.destroyedByUs) fail();
    });
    s.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        if (need === -1) {
          const end = buf.indexOf(CRLFCRLF);
          if (end === -1) return;
          const head = buf.subarray(0, end).toString('latin1');
          buf = buf.subarray(end + 4);
          status = Number(head.slice(9, 12));
          closeAfter = /\r\nconnection:\s*close/i.test(head);
          const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          if (isHead || status === 204 || status === 304) need = 0;
          else if (cl) need = Number(cl[1]);
          else return fail();
        }
        if (buf.length < need) return;
        buf = buf.subarray(need);
        need = -2; // between responses
        done();
        if (buf.length === 0) return;
      }
    });
  };
  open();
}

for (let i = 0; i < connections; i += 1) connection();
await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));
recording = true;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, Number(values.duration) * 1000));
stopped = true;
const seconds = (performance.now() - t0) / 1000;

const sorted = Float64Array.from(latencies).sort();
const pct = (p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
const requests = ok + bad;
process.stdout.write(
  `${JSON.stringify({ requests, ok, bad, errors, reconnects, seconds, rps: requests / seconds, p50: pct(50), p99: pct(99), max: pct(100) })}\n`,
);
process.exit(0);
