/**
 * `access:` through the real gateway (issue 11 §2): anonymous pulls where a rule allows them, a
 * user of the htpasswd file with the right password, a repository no rule lets anyone pull, a
 * wrong password, a user not on the rule's list, the network allowlist; and content cached for
 * a private repository asked for by digest through a public one, which must not come from the
 * cache. Refusals are registry JSON errors with the Basic challenge on 401, counted by reason,
 * and no log line holds a password or the Authorization header.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import t from 'tap';
import type { Teardown } from '../../helpers/cli-process.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml, type TestGateway } from '../helpers/gateway.js';

const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const CI = basic('ci', PASSWORD);

const blobOf = (text: string): { body: Buffer; digest: string } => {
  const body = Buffer.from(text);
  return { body, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` };
};
const PRIVATE = blobOf(`private layer ${randomBytes(8).toString('hex')}`);
const PUBLIC = blobOf(`public layer ${randomBytes(8).toString('hex')}`);

/** A registry that holds PRIVATE only under private/app and PUBLIC under library/alpine, as a real one links blobs to repositories. */
function linkedRegistry(): Promise<FakeUpstream> {
  const held = new Map([
    [`/v2/private/app/blobs/${PRIVATE.digest}`, PRIVATE.body],
    [`/v2/library/alpine/blobs/${PUBLIC.digest}`, PUBLIC.body],
  ]);
  return startFakeUpstream((req, res) => {
    const body = held.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(gateway: TestGateway, path: string, authorization?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.url}${path}`, { headers: authorization === undefined ? {} : { authorization } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.once('error', reject);
    req.end();
  });
}

const codeOf = (answer: Answer): string | undefined => (JSON.parse(answer.body) as { errors?: { code: string }[] }).errors?.[0]?.code;

async function accessGateway(t: Teardown, upstream: FakeUpstream, extra = ''): Promise<TestGateway> {
  const gateway = await startGateway(
    `${upstreamsYaml([['a', upstream.url, 1]])}cache: { dir: cache }\naccess:\n  htpasswd: htpasswd\n  rules:\n    - { repositories: ["library/*"], allow: anonymous }\n    - { repositories: ["private/*"], allow: [ci] }\n    - { repositories: ["team/*"], allow: [bob] }\n${extra}`,
    { beforeStart: async (dir) => writeFile(join(dir, 'htpasswd'), `# test users\nci:${bcrypt.hashSync(PASSWORD, 4)}\nbob:${bcrypt.hashSync('bobs', 4)}\n`) },
  );
  t.teardown(() => gateway.close());
  return gateway;
}

t.test('anonymous, a user, a denied repository, a wrong password, a user not on the list', async (t) => {
  const upstream = await linkedRegistry();
  t.teardown(() => upstream.close());
  const gateway = await accessGateway(t, upstream);

  const ping = await get(gateway, '/v2/');
  t.equal(ping.status, 401, '/v2/ without credentials: 401, so clients learn to log in');
  t.equal(ping.headers['www-authenticate'], 'Basic realm="mirrorgate"');
  t.equal(codeOf(ping), 'UNAUTHORIZED');
  t.equal((await get(gateway, '/v2/', CI)).status, 200, "/v2/ with ci's password: 200 (docker login)");
  t.equal((await get(gateway, '/v2/', basic('ci', 'wrong'))).status, 401, '/v2/ with a wrong password: 401');

  const anonymous = await get(gateway, `/v2/library/alpine/blobs/${PUBLIC.digest}`);
  t.equal(anonymous.status, 200, 'anonymous pulls library/*');
  t.equal(anonymous.body, PUBLIC.body.toString());
  const hubLogin = await get(gateway, `/v2/library/alpine/blobs/${PUBLIC.digest}`, basic('someone', 'docker-hub-password'));
  t.equal(hubLogin.status, 200, 'credentials that do not verify are ignored where anonymous may pull');

  const needsLogin = await get(gateway, `/v2/private/app/blobs/${PRIVATE.digest}`);
  t.equal(needsLogin.status, 401, 'private/* without credentials');
  t.equal(needsLogin.headers['www-authenticate'], 'Basic realm="mirrorgate"');
  t.equal(codeOf(needsLogin), 'UNAUTHORIZED');

  const user = await get(gateway, `/v2/private/app/blobs/${PRIVATE.digest}`, CI);
  t.equal(user.status, 200, 'ci pulls private/*');
  t.equal(user.body, PRIVATE.body.toString());

  const wrong = await get(gateway, `/v2/private/app/blobs/${PRIVATE.digest}`, basic('ci', 'not-it'));
  t.equal(wrong.status, 401, 'a wrong password');
  t.equal(codeOf(wrong), 'UNAUTHORIZED');

  const noRule = await get(gateway, `/v2/other/thing/manifests/latest`, CI);
  t.equal(noRule.status, 403, 'a repository no rule matches is refused to everyone');
  t.equal(codeOf(noRule), 'DENIED');
  t.equal(noRule.headers['www-authenticate'], undefined, 'no challenge: logging in would not help');
  const notListed = await get(gateway, `/v2/team/tool/manifests/latest`, CI);
  t.equal(notListed.status, 403, 'ci is not on team/*');
  t.equal(codeOf(notListed), 'DENIED');

  const upstreamPaths = upstream.requests.map((r) => r.url);
  t.notOk(
    upstreamPaths.some((p) => p.startsWith('/v2/other/') || p.startsWith('/v2/team/')),
    'refused requests never reach an upstream',
  );
  t.notOk(
    upstream.requests.some((r) => r.headers.authorization !== undefined),
    "the client's Authorization is never forwarded upstream",
  );
  t.equal(await gateway.metric('mirrorgate_access_denied_total', { reason: 'no_credentials' }), 2);
  t.equal(await gateway.metric('mirrorgate_access_denied_total', { reason: 'bad_credentials' }), 2);
  t.equal(await gateway.metric('mirrorgate_access_denied_total', { reason: 'no_rule' }), 1);
  t.equal(await gateway.metric('mirrorgate_access_denied_total', { reason: 'not_allowed' }), 1);

  const logs = JSON.stringify(gateway.logs());
  t.notMatch(logs, PASSWORD, 'no log line holds the password');
  t.notMatch(logs, CI.slice('Basic '.length), 'nor the Authorization value');
  t.notMatch(logs, 'docker-hub-password');
  const refusal = gateway.logs().find((line) => line['event'] === 'access' && line['reason'] === 'bad_credentials');
  t.equal(refusal?.['user'], 'ci', 'a refusal is logged with the user name');
});

t.test('a blob cached for a private repository is not served from the cache through a public one', async (t) => {
  const upstream = await linkedRegistry();
  t.teardown(() => upstream.close());
  const gateway = await accessGateway(t, upstream);

  const owner = await get(gateway, `/v2/private/app/blobs/${PRIVATE.digest}`, CI);
  t.equal(owner.status, 200, 'ci fills the cache through private/app');
  t.equal(owner.headers['x-cache'], 'MISS');
  const again = await get(gateway, `/v2/private/app/blobs/${PRIVATE.digest}`, CI);
  t.equal(again.headers['x-cache'], 'HIT', 'and gets it from the cache next time');

  const before = upstream.requests.length;
  for (const path of [`/v2/library/alpine/blobs/${PRIVATE.digest}`]) {
    const sneaky = await get(gateway, path);
    t.not(sneaky.status, 200, 'anonymous, asking by digest through library/alpine, does not get the private bytes');
    t.not(sneaky.body, PRIVATE.body.toString());
    t.not(sneaky.headers['x-cache'], 'HIT');
  }
  t.same(
    upstream.requests.slice(before).map((r) => r.url),
    [`/v2/library/alpine/blobs/${PRIVATE.digest}`],
    'it went to the upstream under library/alpine (which does not have it there) instead',
  );

  // The other way round is sound: ci may read library/alpine, where the public blob was fetched.
  t.equal((await get(gateway, `/v2/library/alpine/blobs/${PUBLIC.digest}`)).headers['x-cache'], 'MISS');
  const shared = await get(gateway, `/v2/private/app/blobs/${PUBLIC.digest}`, CI);
  t.equal(shared.status, 200);
  t.equal(shared.headers['x-cache'], 'HIT', 'a public layer is shared from the cache with every repository its reader may read');
});

t.test('networks: a client outside them is refused everything on /v2/', async (t) => {
  const upstream = await linkedRegistry();
  t.teardown(() => upstream.close());
  const outside = await accessGateway(t, upstream, '  networks: ["10.0.0.0/8", "fd00::/8"]\n');
  const refused = await get(outside, `/v2/library/alpine/blobs/${PUBLIC.digest}`);
  t.equal(refused.status, 403);
  t.equal(codeOf(refused), 'DENIED');
  t.equal((await get(outside, '/v2/', CI)).status, 403, 'credentials do not help');
  t.equal((await get(outside, '/healthz')).status, 200, 'the local endpoints are not limited');
  t.equal(await outside.metric('mirrorgate_access_denied_total', { reason: 'network' }), 2);

  const inside = await accessGateway(t, upstream, '  networks: ["127.0.0.0/8"]\n');
  t.equal((await get(inside, `/v2/library/alpine/blobs/${PUBLIC.digest}`)).status, 200, '127.0.0.1 is in 127.0.0.0/8');
});
