/**
 * TLS on the listener (issue 11 §1), with a CA made at test time (openssl): HTTPS over HTTP/1.1
 * and HTTP/2 by ALPN; a certificate rotated in place is served to new connections while an
 * open one goes on; a bad pair at reload is logged and ignored; `tls.ca` asks clients for a
 * certificate; a bad pair at start is a config error at the listener's `tls` line.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls, type PeerCertificate, type TLSSocket } from 'node:tls';
import t from 'tap';
import type { Teardown } from '../../helpers/cli-process.js';
import { ConfigError, loadConfigFile } from '../../../src/config/load.js';
import { createTestCa, type IssuedPair } from '../../helpers/test-ca.js';
import { registryAnswer, startFakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml, type TestGateway } from '../helpers/gateway.js';

const ca = createTestCa();
t.teardown(() => ca.remove());
const first = ca.server('first', 'first.test');
const second = ca.server('second', 'second.test');
const other = ca.server('other', 'other.test');

/** The listener's files: copies, so a test can rewrite them in place. */
async function liveFiles(t: Teardown, pair: IssuedPair): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  copyFileSync(pair.cert, files.cert);
  copyFileSync(pair.key, files.key);
  return files;
}

const tlsListen = (files: { cert: string; key: string }, extra = ''): string =>
  `{ address: "127.0.0.1:0", tls: { cert: "${files.cert}", key: "${files.key}"${extra} } }`;

function h2(gateway: TestGateway, options: { cert?: string; key?: string } = {}): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(gateway.url, { ca: readPem(ca.cert), ...(options.cert && { cert: readPem(options.cert), key: readPem(options.key!) }) });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

const readPem = (file: string): Buffer => readFileSync(file);

function h2Get(session: ClientHttp2Session, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let body = '';
    let headers: Record<string, unknown> = {};
    stream.on('response', (h) => (headers = h));
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status']), body, headers }));
    stream.on('error', reject);
  });
}

/** The common name of the certificate a new TLS connection gets. */
function servedName(gateway: TestGateway): Promise<string> {
  const port = Number(new URL(gateway.url).port);
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca: readPem(ca.cert), ALPNProtocols: ['http/1.1'] }, () => {
      const peer: PeerCertificate = socket.getPeerCertificate();
      socket.end();
      resolve(String(peer.subject.CN));
    });
    socket.once('error', reject);
  });
}

function h1Get(gateway: TestGateway, path: string): Promise<{ status: number; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${gateway.url}${path}`, { ca: readPem(ca.cert) }, (res) => {
      const alpn = (res.socket as TLSSocket).alpnProtocol;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, alpn }));
    });
    req.once('error', reject);
    req.end();
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const manifest = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}';

t.test('HTTPS serves HTTP/1.1, and HTTP/2 by ALPN with the same handler', async (t) => {
  const upstream = await startFakeUpstream(registryAnswer(manifest));
  t.teardown(() => upstream.close());
  const gateway = await startGateway(upstreamsYaml([['a', upstream.url, 1]]), { listen: tlsListen(await liveFiles(t, first)) });
  t.teardown(() => gateway.close());
  t.match(gateway.url, /^https:/);

  const plain = await h1Get(gateway, '/v2/');
  t.equal(plain.status, 200, 'HTTP/1.1 over TLS');
  t.not(plain.alpn, 'h2', 'a client that does not offer h2 gets HTTP/1.1');

  const session = await h2(gateway);
  t.teardown(() => session.close());
  t.equal(session.alpnProtocol, 'h2', 'ALPN chose h2');
  const ping = await h2Get(session, '/v2/');
  t.equal(ping.status, 200);
  t.equal(ping.headers['docker-distribution-api-version'], 'registry/2.0');
  const pulled = await h2Get(session, '/v2/library/app/manifests/latest');
  t.equal(pulled.status, 200, 'a pull relayed over h2');
  t.equal(pulled.body, manifest);
  const missing = await h2Get(session, '/v2/library/app/nope/x');
  t.equal(missing.status, 404, 'a registry error over h2');
  t.equal(await gateway.metric('mirrorgate_tls_connections_total', { protocol: 'h2' }), 1);
  t.equal(await gateway.metric('mirrorgate_tls_connections_total', { protocol: 'http/1.1' }), 1);
});

t.test('a certificate rotated in place reaches new connections; an open one goes on; a bad pair is ignored', async (t) => {
  const files = await liveFiles(t, first);
  const gateway = await startGateway(upstreamsYaml([['a', 'http://127.0.0.1:9', 1]]), { listen: tlsListen(files) });
  t.teardown(() => gateway.close());
  const session = await h2(gateway);
  t.teardown(() => session.close());
  t.equal((await h2Get(session, '/v2/')).status, 200);
  t.equal(await servedName(gateway), 'first.test');

  // As cert-manager does: the files are rewritten where they are.
  writeFileSync(files.cert, readFileSync(second.cert));
  writeFileSync(files.key, readFileSync(second.key));
  await until('the new certificate', async () => (await servedName(gateway)) === 'second.test');
  t.ok(
    gateway.logs().some((line) => line['event'] === 'tls' && String(line['msg']).includes('reloaded')),
    'the reload is logged',
  );
  t.equal((await h2Get(session, '/v2/')).status, 200, 'the connection opened before the rotation still serves');
  t.notOk(session.closed || session.destroyed, 'and was never closed');

  // A certificate whose key is not there yet (or is another's): refused, the second pair stays.
  writeFileSync(files.cert, readFileSync(other.cert));
  await until('the failed reload', async () => (await gateway.metric('mirrorgate_tls_reloads_total', { result: 'error' })) >= 1);
  const failed = gateway.logs().find((line) => line['event'] === 'tls' && line['level'] === 50);
  t.ok(failed, 'the failed reload is logged as an error');
  t.match(String(failed?.['msg']), /not reloaded .*previous one keeps serving/);
  t.notMatch(JSON.stringify(gateway.logs()), /PRIVATE KEY/, 'no key material in any log line');
  t.equal(await servedName(gateway), 'second.test', 'new connections still get the last good certificate');
  t.equal((await h2Get(session, '/v2/')).status, 200);
});

t.test('tls.ca: a client must present a certificate signed by that CA', async (t) => {
  const files = await liveFiles(t, first);
  const gateway = await startGateway(upstreamsYaml([['a', 'http://127.0.0.1:9', 1]]), { listen: tlsListen(files, `, ca: "${ca.cert}"`) });
  t.teardown(() => gateway.close());
  const client = ca.client('ci-runner');
  const session = await h2(gateway, client);
  t.teardown(() => session.close());
  t.equal((await h2Get(session, '/v2/')).status, 200, 'with a client certificate');

  const refused = await h1Get(gateway, '/v2/').then(
    () => 'answered',
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  t.not(refused, 'answered', `without one the handshake fails (${refused})`);

  const stranger = createTestCa('another CA');
  t.teardown(() => stranger.remove());
  const foreign = stranger.client('stranger');
  const outcome = await h2(gateway, foreign).then(
    (s) =>
      h2Get(s, '/v2/')
        .then(
          (r) => (r.status === 200 ? `answered` : `refused: status ${r.status}`),
          () => 'refused',
        )
        .finally(() => s.destroy()),
    (err: Error) => `refused: ${err.message}`,
  );
  t.match(outcome, /^refused/, 'a certificate from another CA is refused');
});

t.test('a certificate and key that are not a pair are a config error at start, at the tls line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorgate-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'mirrorgate.yaml');
  writeFileSync(
    file,
    `listen:\n  - "127.0.0.1:0"\n  - { address: "127.0.0.1:0", tls: { cert: "${first.cert}", key: "${second.key}" } }\nupstreams:\n  - { name: a, url: "http://127.0.0.1:9" }\n`,
  );
  const err = await loadConfigFile(file, {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ConfigError, 'a ConfigError');
  t.match(
    (err as Error).message,
    new RegExp(
      `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+ listen\\[1\\]\\.tls: certificate ${first.cert} and key ${second.key} cannot be used together \\(.+\\)$`,
    ),
  );
  t.notMatch((err as Error).message, /BEGIN/, 'no file content in the message');

  writeFileSync(
    file,
    `listen: { address: "127.0.0.1:0", tls: { cert: "${join(dir, 'missing.crt')}", key: "${second.key}" } }\nupstreams:\n  - { name: a, url: "http://127.0.0.1:9" }\n`,
  );
  const missing = await loadConfigFile(file, {}).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  t.match(missing?.message, /listen\.tls\.cert: cannot read file .*missing\.crt \(ENOENT\)/);
});
