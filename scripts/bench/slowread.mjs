/**
 * N slow readers of one URL over raw keep-alive-less sockets, each read-limited to --rate bytes/s.
 * Prints {"event":"ready",...} once every connection has its status line (or after --ready-timeout
 * seconds), then keeps reading slowly until a line "hangup" arrives on stdin or --max-hold seconds
 * pass; then destroys every socket at once (the clients hang up mid-body), prints
 * {"event":"done",...} and exits.
 *
 * usage: node slowread.mjs --port P --path /v2/... [--count 500] [--rate 32768]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    path: { type: 'string' },
    count: { type: 'string', default: '500' },
    rate: { type: 'string', default: '32768' },
    'ready-timeout': { type: 'string', default: '20' },
    'max-hold': { type: 'string', default: '60' },
  },
});
const count = Number(values.count);
const rate = Number(values.rate);
const request = `GET ${values.path} HTTP/1.1\r\nHost: ${values.host}:${values.port}\r\nUser-Agent: bench-slowread\r\n\r\n`;

const conns = [];
let ready = 0;
let failed = 0;
let statusOk = 0;
let bytes = 0;
let readyPrinted = false;

function maybeReady(force = false) {
  if (readyPrinted || (!force && ready + failed < count)) return;
  readyPrinted = true;
  process.stdout.write(`${JSON.stringify({ event: 'ready', connections: count, withStatus: ready, status200: statusOk, failed })}\n`);
}

function open() {
  const c = { socket: net.connect(Number(values.port), values.host), allowance: rate / 10, paused: false, gotStatus: false, closed: false };
  c.socket.setNoDelay(true);
  c.socket.on('connect', () => c.socket.write(request));
  c.socket.on('data', (chunk) => {
    bytes += chunk.length;
    if (!c.gotStatus) {
      c.gotStatus = true;
      ready += 1;
      if (/^HTTP\/1\.[01] 200 /.test(chunk.subarray(0, 16).toString('latin1'))) statusOk += 1;
      maybeReady();
    }
    c.allowance -= chunk.length;
    if (c.allowance <= 0 && !c.paused) {
      c.paused = true;
      c.socket.pause();
    }
  });
  const gone = () => {
    if (c.closed) return;
    c.closed = true;
    if (!c.gotStatus) {
      failed += 1;
      maybeReady();
    }
  };
  c.socket.on('error', gone);
  c.socket.on('close', gone);
  conns.push(c);
}

// Token bucket refill every 100 ms.
const refill = setInterval(() => {
  for (const c of conns) {
    if (c.closed) continue;
    c.allowance = Math.min(c.allowance + rate / 10, rate / 10);
    if (c.paused && c.allowance > 0) {
      c.paused = false;
      c.socket.resume();
    }
  }
}, 100);

// Open in batches so that no accept queue overflows.
for (let opened = 0; opened < count;) {
  const batch = Math.min(50, count - opened);
  for (let i = 0; i < batch; i += 1) open();
  opened += batch;
  await new Promise((r) => setTimeout(r, 20));
}
const readyTimer = setTimeout(() => maybeReady(true), Number(values['ready-timeout']) * 1000);

function hangup() {
  clearInterval(refill);
  clearTimeout(readyTimer);
  maybeReady(true);
  let open = 0;
  for (const c of conns) {
    if (!c.closed) open += 1;
    c.socket.destroy();
  }
  process.stdout.write(`${JSON.stringify({ event: 'done', openAtHangup: open, bytes })}\n`);
  setTimeout(() => process.exit(0), 200);
}

const maxHold = setTimeout(hangup, Number(values['max-hold']) * 1000);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  if (text.includes('hangup')) {
    clearTimeout(maxHold);
    hangup();
  }
});
