/**
 * Issue 13, item 4: `CONNECT` gets a 405 answer, not a closed connection; a request with a
 * transfer coding mirrorgate does not know (`xchunked`) gets a 400 before any other answer
 * (RFC 9112 §6.3), and the connection closes. Raw sockets: a client library would refuse to
 * send either.
 */
import { connect } from 'node:net';
import t from 'tap';
import { startFakeUpstream, registryAnswer } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml } from '../helpers/gateway.js';

/** Writes `raw`, then collects everything the gateway sends until it closes (or 10 s pass). */
function exchange(url: string, raw: string): Promise<{ text: string; closed: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, 10_000);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(raw);
  });
}

const statusLines = (text: string): string[] => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];

t.test('CONNECT is answered 405 UNSUPPORTED, then the connection closes', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => gw.close());
  const { text, closed } = await exchange(gw.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  t.same(statusLines(text), ['HTTP/1.1 405'], 'one answer, a 405');
  t.match(text, /\r\nallow: GET, HEAD\r\n/i);
  t.match(text, /"code":"UNSUPPORTED"/);
  t.ok(closed, 'the connection is closed after the answer');
  t.equal(upstream.requests.length, 0);
  t.ok(
    gw.logs().some((line) => line['method'] === 'CONNECT' && line['status'] === 405),
    'the request is logged',
  );
});

t.test('an unknown transfer coding gets a 400 before any other answer, and the connection closes', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer('{}'));
  t.teardown(() => upstream.close());
  const gw = await startGateway(upstreamsYaml([['u', upstream.url, 1]]));
  t.teardown(() => gw.close());
  for (const path of ['/v2/', '/v2/library/alpine/manifests/latest', '/healthz']) {
    const raw = `GET ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n`;
    const { text, closed } = await exchange(gw.url, raw);
    t.same(statusLines(text), ['HTTP/1.1 400'], `${path}: the 400 is the only answer`);
    t.ok(closed, `${path}: the connection is closed`);
  }
  t.equal(upstream.requests.length, 0, 'nothing went upstream');
  // `chunked` itself is still a request like any other.
  const { text } = await exchange(gw.url, 'GET /v2/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n');
  t.same(statusLines(text), ['HTTP/1.1 200']);
});
