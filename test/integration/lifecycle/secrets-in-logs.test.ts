/**
 * Credentials that pass through a running `serve` never reach its output: the client's
 * Authorization, Proxy-Authorization and Cookie headers, an upstream's Set-Cookie and
 * WWW-Authenticate, the token its token service issues, and a value the config pulls from the
 * environment with `${VAR}`. Checked in stdout/stderr (log level trace; failovers, a Bearer
 * challenge, 404/503 answers, a malformed request, a reload, the shutdown) and in /metrics.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { closedPort, startFakeUpstream, MANIFEST_TYPE } from '../helpers/fake-upstream.js';
import { freePort, httpGet, startCli, tempDir } from '../../helpers/cli-process.js';

const MANIFEST = '/v2/library/x/manifests/latest';
// The digest of the 3-byte body "abc" the upstream serves for it.
const BLOB = '/v2/library/x/blobs/sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const MISSING = '/v2/library/nope/manifests/latest';

const hex = (): string => randomBytes(12).toString('hex');

/** Sends raw bytes and resolves with whatever comes back before the connection ends (bounded). */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(text));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('close', () => resolve(received));
    socket.on('error', () => undefined);
  });
}

t.test('secrets in requests, responses and ${VAR} config values never reach the output or /metrics', { timeout: 60_000 }, async (t) => {
  const password = `hunter2-${hex()}`;
  const basic = Buffer.from(`alice:${password}`).toString('base64');
  const bearer = `eyJhbGciOi.${hex()}.sig`;
  const proxyPassword = `proxy-${hex()}`;
  const proxyBasic = Buffer.from(`bob:${proxyPassword}`).toString('base64');
  const cookie = `sess-${hex()}`;
  const upstreamCookie = `upstream-sess-${hex()}`;
  const upstreamToken = `upstream-token-${hex()}`;
  // What the upstream's token service hands out when the upstream challenges with Bearer.
  const issuedToken = `issued-${hex()}`;
  // Used through `${MG_CA_TOKEN}` in `tls.ca`, a free-form string value (the file exists: the
  // pool reads it at startup; its content is irrelevant for an http:// upstream).
  const envSecret = `ghp_${hex()}`;
  const secrets = { password, basic, bearer, proxyPassword, proxyBasic, cookie, upstreamCookie, upstreamToken, issuedToken, envSecret };

  let goodUrl = '';
  const good = await startFakeUpstream((req, res) => {
    if (req.url?.startsWith('/token')) {
      const body = JSON.stringify({ token: issuedToken, access_token: issuedToken, expires_in: 300 });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (req.url?.includes('/blobs/') && req.headers['authorization'] === `Bearer ${issuedToken}`) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 3 });
      res.end('abc');
      return;
    }
    if (req.url?.includes('/nope/')) {
      const body = JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'not here' }] });
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (req.url?.includes('/blobs/')) {
      const body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      res.writeHead(401, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'www-authenticate': `Bearer realm="${goodUrl}/token",service="x",scope="repository:library/x:pull",error="${upstreamToken}"`,
      });
      res.end(body);
      return;
    }
    const body = '{"schemaVersion":2}';
    res.writeHead(200, {
      'content-type': MANIFEST_TYPE,
      'content-length': Buffer.byteLength(body),
      'docker-content-digest': `sha256:${createHash('sha256').update(body).digest('hex')}`,
      'set-cookie': `session=${upstreamCookie}; HttpOnly`,
      'x-upstream-token': upstreamToken,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  t.teardown(() => good.close());
  goodUrl = good.url;
  const dead = `http://127.0.0.1:${await closedPort()}`;

  const dir = await tempDir(t);
  const caDir = join(dir, 'ca');
  await mkdir(caDir);
  await writeFile(join(caDir, `${envSecret}.pem`), '-----BEGIN CERTIFICATE-----\nnot used for http upstreams\n-----END CERTIFICATE-----\n');
  const file = join(dir, 'mirrorgate.yaml');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const yaml = [
    `listen: "127.0.0.1:${port}"`,
    'log: { level: trace }',
    'upstreams:',
    `  - { name: dead, url: "${dead}", weight: 1 }`,
    `  - name: good`,
    `    url: "${good.url}"`,
    `    weight: 1`,
    `    tls: { ca: "${caDir}/\${MG_CA_TOKEN}.pem" }`,
    '',
  ].join('\n');
  t.notOk(yaml.includes(envSecret), 'the file itself only has the reference');
  await writeFile(file, yaml);

  const proc = startCli(t, ['serve', '-c', file, '--no-watch'], { env: { MG_CA_TOKEN: envSecret } });
  t.equal(await proc.listening(), port, 'listening');

  const clientHeaders = (auth: string): Record<string, string> => ({
    authorization: auth,
    'proxy-authorization': `Basic ${proxyBasic}`,
    cookie: `session=${cookie}; other=1`,
  });
  const statuses = new Map<string, number[]>();
  for (let i = 0; i < 4; i++) {
    for (const path of [MANIFEST, BLOB, MISSING, '/v2/', '/healthz', '/no-such-endpoint']) {
      const res = await httpGet(base + path, clientHeaders(i % 2 === 0 ? `Basic ${basic}` : `Bearer ${bearer}`));
      statuses.set(path, [...(statuses.get(path) ?? []), res.status]);
      if (path === MANIFEST) {
        t.equal(res.status, 200, 'the manifest is served (directly or after failing over from dead)');
        t.match(res.headers['set-cookie'], [new RegExp(upstreamCookie)], "the upstream's cookie reaches the client");
      }
    }
  }
  t.notOk(statuses.get(MISSING)?.includes(200), `the missing manifest is not served (${statuses.get(MISSING)?.join(', ')})`);
  t.same(statuses.get('/no-such-endpoint'), [404, 404, 404, 404], 'an unknown local endpoint is a 404');
  t.ok(
    good.requests.some((r) => r.url.includes('/blobs/')),
    'the blob (challenged with a Bearer 401) was asked for',
  );
  const clientCredentials = [basic, bearer, proxyBasic, cookie];
  t.notOk(
    good.requests.some((r) => clientCredentials.some((secret) => JSON.stringify(r.headers).includes(secret))),
    'no client credential was forwarded upstream',
  );
  t.ok(
    proc.logs.some((l) => l['msg'] === 'request' && l['upstream'] === 'good' && l['attempts'] === 2),
    'a failover from dead happened',
  );

  // A request the HTTP parser rejects (a header line without a colon), carrying the secrets.
  const raw = await rawRequest(
    port,
    `GET ${MANIFEST} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${basic}\r\nCookie: session=${cookie}\r\nbroken header ${password}\r\n\r\n`,
  );
  t.match(raw, /^HTTP\/1\.1 400 /, 'the malformed request is answered 400');

  // A reload (the env value is substituted again) and its logs.
  const mark = proc.mark();
  proc.signal('SIGHUP');
  const reloaded = await proc.waitForLog((l) => l['event'] === 'reload', { since: mark, what: 'the reload' });
  t.equal(reloaded['msg'], 'configuration reloaded', 'the reload succeeded (the variable was substituted again)');

  const metrics = (await httpGet(`${base}/metrics`, clientHeaders(`Basic ${basic}`))).body.toString('utf8');
  t.match(metrics, /mirrorgate_requests_total\{/, '/metrics has the request series');

  proc.signal('SIGTERM');
  t.same(await proc.waitForExit(10_000), { code: 0, signal: null }, 'exit 0');

  const output = proc.output;
  // Positive control: the scan looks at real output (config values that are not secret are logged).
  t.ok(output.includes(good.url) && output.includes(dead), 'the upstream URLs are in the output');
  t.ok(proc.logs.length > 20, `a lot was logged at trace level (${proc.logs.length} lines)`);
  t.ok(
    proc.logs.some((l) => l['level'] === 10 || l['level'] === 20),
    'debug/trace lines were written',
  );
  for (const [name, secret] of Object.entries(secrets)) {
    t.notOk(output.includes(secret), `${name} is not in stdout/stderr`);
    t.notOk(metrics.includes(secret), `${name} is not in /metrics`);
  }
});
