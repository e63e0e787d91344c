/**
 * Token auth end to end: two real registries with `auth: token`, each trusting only its own
 * token service (different service names, issuers and signing certificates), behind mirrorgate
 * with equal weights. A token issued by one service is worthless at the other registry, so
 * every pull that alternates between them only works because mirrorgate authenticates to each
 * upstream itself; it must also reuse tokens (one fetch per scope per upstream per expiry
 * window), pull a private repository only with the credentials, and never leak a secret.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { eventually, type LogLine } from '../helpers/cli-process.js';
import { prepareImages, type TestImages } from './helpers/fixtures.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { httpGet } from './helpers/http.js';
import { startRegistry, type RunningRegistry } from './helpers/registry.js';
import { describeSkopeoResult, skopeoCopy } from './helpers/skopeo.js';
import { e2eSuite } from './helpers/suite.js';
import { startTokenServer, type TokenRequestRecord, type TokenServer } from './helpers/token-server.js';

const PRIVATE_REF = 'private/only-one:1';
const PUBLIC_PULLS = 20;
const CONCURRENCY = 4;
/** mirrorgate refreshes a token min(30 s, lifetime/10) before it expires. */
const EARLY_REFRESH_SEC = 30;

const suite = await e2eSuite(t, 'token');
if (suite !== undefined) {
  const { root, work, pull, pullTo } = suite;
  const pullerPassword = randomBytes(18).toString('base64url');
  const pusherPassword = randomBytes(18).toString('base64url');
  const users = { puller: { password: pullerPassword, role: 'pull' as const }, pusher: { password: pusherPassword, role: 'push' as const } };

  let images!: TestImages;
  const tokenServers: TokenServer[] = [];
  const registries: RunningRegistry[] = [];
  let withCreds!: GatewayProcess;
  let anonymous!: GatewayProcess;
  t.teardown(async () => {
    await Promise.all(registries.map((r) => r.stop()));
    await Promise.all(tokenServers.map((s) => s.close()));
  });

  /** mirrorgate's token fetches (user agent "mirrorgate") after `mark`, per "service scope". */
  const fetchesByScope = (server: TokenServer, mark: number, user: string | undefined): Map<string, TokenRequestRecord[]> => {
    const out = new Map<string, TokenRequestRecord[]>();
    for (const r of server.requestsSince(mark)) {
      if (!r.userAgent.startsWith('mirrorgate') || r.user !== user) continue;
      const key = `${r.service} ${r.scopes.join(' ')}`;
      out.set(key, [...(out.get(key) ?? []), r]);
    }
    return out;
  };

  /** ≤ one fetch per (scope, upstream) per expiry window: consecutive fetches of a key are a refresh interval apart. */
  const assertTokenReuse = (t: Test, server: TokenServer, mark: number, user: string | undefined, wantScopes: string[], otherScopes: string[] = []): void => {
    const byScope = fetchesByScope(server, mark, user);
    const window = (server.expiresInSec - EARLY_REFRESH_SEC) * 1000;
    for (const scope of wantScopes) {
      const fetches = byScope.get(`${server.service} ${scope}`) ?? [];
      t.ok(fetches.length >= 1, `${server.service}: mirrorgate fetched a token for ${scope} (${fetches.length} fetch(es))`);
      const elapsed = Date.now() - (fetches[0]?.at ?? Date.now());
      t.ok(
        fetches.length <= 1 + Math.floor(elapsed / window),
        `${server.service}: ${fetches.length} fetch(es) of ${scope} in ${elapsed} ms (<= 1 per ${window / 1000} s)`,
      );
      for (let i = 1; i < fetches.length; i++) {
        t.ok(fetches[i]!.at - fetches[i - 1]!.at >= window - 1000, `${server.service}: refetch of ${scope} only after the token's refresh time`);
      }
    }
    t.same(
      [...byScope.keys()].filter((key) => ![...wantScopes, ...otherScopes].some((scope) => key === `${server.service} ${scope}`)),
      [],
      `${server.service}: no token fetches for other scopes`,
    );
  };

  await t.test('two token-auth registries with their own token services', { timeout: 180_000 }, async (t) => {
    images = await prepareImages(join(work, 'images'));
    for (const id of ['a', 'b']) {
      const server = await startTokenServer(work, { service: `registry-${id}.e2e.test`, issuer: `token-${id}.e2e.test`, users, expiresInSec: 300 });
      tokenServers.push(server);
      registries.push(await startRegistry({ extraConfig: server.registryAuthYaml(), readyStatuses: [401] }));
    }
    for (const [i, registry] of registries.entries()) {
      const server = tokenServers[i]!;
      // The registry really demands tokens from its own service.
      const ping = await httpGet(`${registry.url}/v2/`);
      t.equal(ping.status, 401, `${registry.host}: /v2/ wants a token`);
      t.match(String(ping.headers['www-authenticate']), `Bearer realm="${server.realm}",service="${server.service}"`);

      const push = async (dir: string, srcTag: string, repoRef: string): Promise<void> => {
        const result = await skopeoCopy(`oci:${dir}:${srcTag}`, `docker://${registry.host}/${repoRef}`, {
          preserveDigests: true,
          timeoutMs: 90_000,
          extraArgs: ['--dest-creds', `pusher:${pusherPassword}`],
        });
        if (result.code !== 0) throw new Error(`push of ${repoRef} to ${registry.host} failed: ${describeSkopeoResult(result)}`);
      };
      await push(images.list.find((e) => e.key === 'alpine')!.dir, images.alpine.tag, images.alpine.ref);
      await push(images.list.find((e) => e.key === 'onlyOne')!.dir, images.onlyOne.tag, PRIVATE_REF);
      t.pass(`pushed ${images.alpine.ref} and ${PRIVATE_REF} to ${registry.host} with push tokens`);
    }

    // The trust is really separate: a token from service A is refused by registry B.
    const [a, b] = tokenServers as [TokenServer, TokenServer];
    const tokenA = JSON.parse((await httpGet(`${a.realm}?service=${a.service}&scope=repository:${images.alpine.name}:pull`)).body.toString('utf8')) as {
      token: string;
    };
    const manifestPath = `/v2/${images.alpine.name}/manifests/${images.alpine.tag}`;
    const accept = { accept: images.alpine.manifestMediaType, authorization: `Bearer ${tokenA.token}` };
    t.equal((await httpGet(`${registries[0]!.url}${manifestPath}`, { headers: accept })).status, 200, 'token A works at registry A');
    t.equal((await httpGet(`${registries[1]!.url}${manifestPath}`, { headers: accept })).status, 401, 'token A is refused at registry B');
    // Anonymous tokens carry no access to the private repository.
    const anonPrivate = JSON.parse((await httpGet(`${b.realm}?service=${b.service}&scope=repository:private/only-one:pull`)).body.toString('utf8')) as {
      token: string;
    };
    const privatePath = `/v2/private/only-one/manifests/${images.onlyOne.tag}`;
    t.equal(
      (
        await httpGet(`${registries[1]!.url}${privatePath}`, {
          headers: { accept: images.onlyOne.manifestMediaType, authorization: `Bearer ${anonPrivate.token}` },
        })
      ).status,
      401,
      'an anonymous token does not open the private repository',
    );

    const upstreams = (auth: boolean): string =>
      registries
        .map(
          (r, i) =>
            `  - name: ${['ra', 'rb'][i]}
    url: "${r.url}"
    weight: 1
    timeouts: { connect: 2s, headers: 10s, idle: 20s }${auth ? '\n    auth: { username: puller, password: "${MG_E2E_PULLER_PASSWORD}" }' : ''}`,
        )
        .join('\n');
    // The token realms are on 127.0.0.1 and need no allowHosts: realms bypass the redirect
    // address guard (src/upstream/upstream.ts, #realms).
    const rest = `failover: { maxAttempts: 2, on404: true }
breaker: { volumeThreshold: 50, errorThresholdPercentage: 90, window: 10s, resetTimeout: 5s }
log: { level: debug }
`;
    withCreds = await startGatewayProcess(root, work, `upstreams:\n${upstreams(true)}\n${rest}`, { MG_E2E_PULLER_PASSWORD: pullerPassword });
    anonymous = await startGatewayProcess(root, work, `upstreams:\n${upstreams(false)}\n${rest}`);
    t.pass(
      `gateways on ${withCreds.url} (credentials) and ${anonymous.url} (anonymous); registries ${registries.map((r) => r.port).join(', ')}; token services ${tokenServers.map((s) => s.url).join(', ')}`,
    );
  });

  await t.test(`${PUBLIC_PULLS} of ${PUBLIC_PULLS} pulls alternate over both token services`, { timeout: 240_000 }, async (t) => {
    const marks = tokenServers.map((s) => s.mark());
    let ok = 0;
    for (let done = 0; done < PUBLIC_PULLS; done += CONCURRENCY) {
      const batch = await Promise.all(Array.from({ length: Math.min(CONCURRENCY, PUBLIC_PULLS - done) }, () => pull(t, withCreds, images.alpine.ref)));
      ok += batch.filter((digests) => digests?.[0] === images.alpine.manifestDigest).length;
    }
    t.equal(ok, PUBLIC_PULLS, `${ok} of ${PUBLIC_PULLS} pulls succeeded with the right digest`);

    const selected = await Promise.all(['ra', 'rb'].map((u) => withCreds.metric('mirrorgate_upstream_selected_total', { upstream: u })));
    t.ok(
      selected.every((n) => n >= PUBLIC_PULLS),
      `both upstreams served (selected ${selected.join(' / ')})`,
    );
    const share = selected[0]! / (selected[0]! + selected[1]!);
    t.ok(share > 0.4 && share < 0.6, `equal weights: ra share ${(share * 100).toFixed(1)}%`);
    t.equal(await withCreds.metric('mirrorgate_failovers_total', { reason: 'auth' }), 0, 'no attempt failed on auth');

    for (const [i, server] of tokenServers.entries()) {
      assertTokenReuse(t, server, marks[i]!, 'puller', [`repository:${images.alpine.name}:pull`]);
      t.same(
        server.requestsSince(marks[i]!).filter((r) => r.status !== 200),
        [],
        `${server.service}: every token request was granted`,
      );
    }
  });

  await t.test('the private repository pulls with the credentials', { timeout: 120_000 }, async (t) => {
    const marks = tokenServers.map((s) => s.mark());
    for (let i = 0; i < 4; i++) {
      t.same(await pull(t, withCreds, PRIVATE_REF), [images.onlyOne.manifestDigest], `private pull ${i + 1}`);
    }
    for (const [i, server] of tokenServers.entries()) {
      assertTokenReuse(t, server, marks[i]!, 'puller', ['repository:private/only-one:pull']);
      const granted = server.requestsSince(marks[i]!).flatMap((r) => r.granted);
      t.same(
        granted,
        [{ type: 'repository', name: 'private/only-one', actions: ['pull'] }],
        `${server.service}: puller was granted pull on the private repository`,
      );
    }
  });

  await t.test('without credentials: public pulls work, the private repository does not', { timeout: 180_000 }, async (t) => {
    const marks = tokenServers.map((s) => s.mark());
    const logMark = anonymous.cli.mark();
    for (let i = 0; i < 4; i++) {
      t.same(await pull(t, anonymous, images.alpine.ref), [images.alpine.manifestDigest], `anonymous public pull ${i + 1}`);
    }
    const { result: denied } = await pullTo(anonymous, PRIVATE_REF, { timeoutMs: 60_000 });
    t.not(denied.code, 0, `skopeo fails to pull ${PRIVATE_REF} without credentials (code ${denied.code}, timedOut ${denied.timedOut})`);
    t.notOk(denied.timedOut, 'it fails, it does not hang');

    const direct = await httpGet(`${anonymous.url}/v2/private/only-one/manifests/${images.onlyOne.tag}`, {
      headers: { accept: images.onlyOne.manifestMediaType },
      timeoutMs: 20_000,
    });
    t.not(direct.status, 200, `the manifest is not served (${direct.status})`);
    t.equal(direct.headers['www-authenticate'], undefined, 'the upstream challenge is not passed to the client');

    for (const [i, server] of tokenServers.entries()) {
      const requests = server.requestsSince(marks[i]!).filter((r) => r.userAgent.startsWith('mirrorgate'));
      t.ok(requests.length > 0 && requests.every((r) => r.user === undefined), `${server.service}: the anonymous gateway asked without credentials`);
      t.same(
        requests.filter((r) => r.scopes.includes('repository:private/only-one:pull')).flatMap((r) => r.granted),
        [],
        `${server.service}: it was granted nothing on the private repository`,
      );
      assertTokenReuse(t, server, marks[i]!, undefined, [`repository:${images.alpine.name}:pull`], ['repository:private/only-one:pull']);
    }
    // A token the registry refuses is dropped and fetched anew on the next attempt (it may have
    // been revoked), so a denied scope costs at most one fetch per upstream attempt, never more.
    const privateLines = (): LogLine[] =>
      anonymous.cli.logs.slice(logMark).filter((l) => l['msg'] === 'request' && String(l['path']).startsWith('/v2/private/'));
    // skopeo's request(s) and the direct one: log lines arrive asynchronously.
    await eventually(() => privateLines().length >= 2, 'the request log lines of the private requests', 5000);
    const privateAttempts = privateLines().reduce((sum, l) => sum + Number(l['attempts'] ?? 0), 0);
    const privateFetches = tokenServers
      .flatMap((s, i) => s.requestsSince(marks[i]!))
      .filter((r) => r.userAgent.startsWith('mirrorgate') && r.scopes.includes('repository:private/only-one:pull')).length;
    t.ok(privateAttempts >= 2, `${privateAttempts} upstream attempts for the private repository`);
    t.ok(privateFetches <= privateAttempts, `${privateFetches} token fetches for the denied scope <= ${privateAttempts} attempts`);
    t.ok(await withCreds.metric('mirrorgate_requests_total'), 'the gateway with credentials is still up');
  });

  await t.test('no password or token in the gateways output or metrics', async (t) => {
    const secrets = new Map<string, string>([
      ['puller password', pullerPassword],
      ['pusher password', pusherPassword],
      ['puller Basic credentials', Buffer.from(`puller:${pullerPassword}`).toString('base64')],
      ['pusher Basic credentials', Buffer.from(`pusher:${pusherPassword}`).toString('base64')],
    ]);
    let tokens = 0;
    for (const server of tokenServers) {
      for (const token of server.issuedTokens) {
        secrets.set(`token #${++tokens} of ${server.service}`, token);
        // A JWT's signature part alone is as good as a leak.
        secrets.set(`signature of token #${tokens} of ${server.service}`, token.slice(token.lastIndexOf('.') + 1));
      }
    }
    t.ok(tokens >= 8, `${tokens} tokens issued in this run`);
    for (const [label, gateway] of [
      ['gateway with credentials', withCreds],
      ['anonymous gateway', anonymous],
    ] as const) {
      // Everything logged so far is out once the line of a marker request has arrived.
      const marker = `/e2e-flush-${randomBytes(6).toString('hex')}`;
      await httpGet(`${gateway.url}${marker}`);
      await gateway.cli.waitForLog((l) => l['path'] === marker, { timeoutMs: 5000, what: `the log line of ${marker}` });
      const output = gateway.cli.output;
      const metrics = await gateway.metricsText();
      t.ok(output.length > 1000, `${label}: ${output.length} characters of output captured`);
      const leaks = [...secrets].filter(([, secret]) => output.includes(secret) || metrics.includes(secret)).map(([what]) => what);
      t.same(leaks, [], `${label}: no secret in its output or /metrics`);
    }
  });
}
