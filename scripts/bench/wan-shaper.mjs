/**
 * A WAN in front of the mirrors, in user space: one TCP relay per mirror that models a link of
 * `rate` bytes/s shared by all of that mirror's connections, with `rtt`/2 of one-way delay in
 * each direction and an extra RTT before a connection carries data (the handshake).
 *
 * Why user space: this kernel has tbf but no netem (CONFIG_NET_SCH_NETEM unset, no modules), so
 * the delay cannot be done with tc; one process doing both keeps the two in one model.
 *
 * The link: every mirror→client piece gets a departure time on the mirror's one virtual clock
 * (FIFO over all its connections, as on a wire; `burst` bytes of credit when idle), and arrives
 * `rtt`/2 later. A connection with more than QUEUED bytes waiting for the wire pauses its mirror socket, so
 * the mirror sees backpressure and its $body_bytes_sent stays close to what went over the link.
 *
 * usage: node wan-shaper.mjs --spec LISTEN:TARGET:BYTES_PER_S,... --rtt-ms 20 --stats-port P [--piece 65536]
 * GET http://127.0.0.1:P/stats[?reset] → {"mirrors":[{listen,target,rate,bytesDown,bytesUp,connections,lastDownAt,maxLagMs}]}
 * `maxLagMs`: how late the shaper wrote a piece at most (past its time on the virtual link + delay)
 * since the last `?reset`: when it is CPU-starved, the WAN it models is slower than its rates.
 * `lastDownAt`: when the shaper last delivered a mirror→client byte of that mirror (epoch ms,
 * fractional; 0 before any): the end of a pull's WAN time, read by fleet-wan.mjs (issue 10).
 * POST http://127.0.0.1:P/rate?listen=PORT&rate=BYTES_PER_S → 204: that mirror's link runs at the
 * new rate from its next piece on (pieces already scheduled keep their times): a mirror that
 * slows down mid-run, for adaptive-balance.mjs (issue 10 §2).
 */
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    spec: { type: 'string' },
    'rtt-ms': { type: 'string', default: '20' },
    'stats-port': { type: 'string' },
    burst: { type: 'string', default: '65536' },
    piece: { type: 'string', default: '16384' },
  },
});
const oneWayMs = Number(values['rtt-ms']) / 2;
const burst = Number(values.burst);
/**
 * Pieces are at most this big (`--piece`, default 16 KiB), so that one connection's chunk does not
 * hold the wire for long. At the summed 120 MiB/s that is 7,700 timed writes a second: 0.3–0.6
 * CPU s per 96 MiB pull on the core the shaper shares with the client; 64 KiB pieces did not make
 * the pulls measurably faster at load 7–8 (its timers were ≤ 40 ms late either way: `maxLagMs`).
 */
const PIECE = Number(values.piece);
/** Bytes queued for the wire per connection above which its mirror socket is paused. */
const QUEUED = 256 * 1024;

const mirrors = values.spec.split(',').map((s) => {
  const [listen, target, rate] = s.split(':').map(Number);
  return { listen, target, rate, free: 0, bytesDown: 0, bytesUp: 0, connections: 0, lastDownAt: 0, maxLagMs: 0 };
});

/** Ordered delayed delivery on one socket: items are written when their time comes. */
function delayedWriter(socket, onWritten, onIdle = () => {}, onLag = () => {}) {
  const queue = [];
  let timer;
  const pump = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].at <= now + 0.5) {
      const item = queue.shift();
      onLag(now - item.at);
      if (!socket.destroyed) socket.write(item.buf);
      onWritten(item.buf.length);
    }
    if (queue.length > 0) timer = setTimeout(pump, Math.max(0, queue[0].at - performance.now()));
    else onIdle();
  };
  return {
    push(at, buf) {
      queue.push({ at, buf });
      if (timer === undefined) timer = setTimeout(pump, Math.max(0, at - performance.now()));
    },
    get idle() {
      return queue.length === 0;
    },
    clear() {
      clearTimeout(timer);
      queue.length = 0;
    },
  };
}

function serve(m) {
  const server = net.createServer((client) => {
    m.connections += 1;
    client.setNoDelay(true);
    const upstream = net.connect({ port: m.target, host: '127.0.0.1' });
    upstream.setNoDelay(true);
    let inFlight = 0;
    // In flight = queued for the wire + on the wire (rate × one-way delay): pausing on the queued
    // part only keeps a single connection able to fill its link, as TCP's window autotuning does.
    const high = QUEUED + (m.rate * oneWayMs) / 1000;
    let open = false; // data flows once the emulated handshake (one RTT) is over
    const early = [];
    setTimeout(() => {
      open = true;
      for (const b of early.splice(0)) upstream.write(b);
    }, 2 * oneWayMs);
    // Requests (client → mirror): delayed, not rate-limited (they are a few hundred bytes).
    const up = delayedWriter(upstream, () => {});
    client.on('data', (buf) => {
      m.bytesUp += buf.length;
      if (!open) early.push(buf);
      else up.push(performance.now() + oneWayMs, buf);
    });
    // Responses (mirror → client): on the shared link, then delayed. The mirror's FIN reaches
    // the client after the last byte in flight, not before.
    let upstreamDone = false;
    const finish = () => {
      if (upstreamDone && down.idle) client.end();
    };
    const down = delayedWriter(
      client,
      (n) => {
        inFlight -= n;
        m.bytesDown += n;
        m.lastDownAt = performance.timeOrigin + performance.now();
        if (inFlight < high - QUEUED / 2 && upstream.isPaused()) upstream.resume();
      },
      finish,
      (lag) => (m.maxLagMs = Math.max(m.maxLagMs, lag)),
    );
    upstream.on('data', (buf) => {
      for (let off = 0; off < buf.length; off += PIECE) {
        const piece = buf.subarray(off, Math.min(buf.length, off + PIECE));
        const now = performance.now();
        // Idle credit: the clock may lag `now` by up to one burst.
        const start = Math.max(m.free, now - (burst / m.rate) * 1000);
        m.free = start + (piece.length / m.rate) * 1000;
        inFlight += piece.length;
        down.push(Math.max(now, m.free) + oneWayMs, piece);
      }
      if (inFlight > high) upstream.pause();
    });
    const upstreamGone = () => {
      upstreamDone = true;
      finish();
    };
    upstream.on('end', upstreamGone);
    upstream.on('close', upstreamGone);
    upstream.on('error', upstreamGone);
    client.on('end', () => setTimeout(() => upstream.end(), oneWayMs));
    const close = () => {
      up.clear();
      down.clear();
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    client.on('close', close);
  });
  server.listen(m.listen, '127.0.0.1');
}

for (const m of mirrors) serve(m);

http
  .createServer((req, res) => {
    const url = new URL(req.url, 'http://stats');
    if (req.method === 'POST' && url.pathname === '/rate') {
      const m = mirrors.find((x) => x.listen === Number(url.searchParams.get('listen')));
      const rate = Number(url.searchParams.get('rate'));
      if (m === undefined || !(rate > 0)) {
        res.writeHead(400).end();
        return;
      }
      m.rate = rate;
      res.writeHead(204).end();
      return;
    }
    // ?reset: the lag maximum starts again (per measurement round).
    const reset = (req.url ?? '').includes('reset');
    const body = JSON.stringify({
      mirrors: mirrors.map(({ listen, target, rate, bytesDown, bytesUp, connections, lastDownAt, maxLagMs }) => ({
        listen,
        target,
        rate,
        bytesDown,
        bytesUp,
        connections,
        lastDownAt,
        maxLagMs,
      })),
    });
    if (reset) for (const m of mirrors) m.maxLagMs = 0;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  })
  .listen(Number(values['stats-port']), '127.0.0.1');
