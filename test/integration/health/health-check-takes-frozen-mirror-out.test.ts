import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { registryAnswer, startFakeUpstream, type FakeHandler } from '../helpers/fake-upstream.js';
import { startGateway, upstreamsYaml, type TestGateway } from '../helpers/gateway.js';

/** Accepts the request and never answers: a SIGSTOPped mirror as a client sees it. */
const frozen: FakeHandler = () => {};

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting until ${what}`);
}

const pulls = (mirror: { requests: { url: string }[] }): number => mirror.requests.filter((r) => r.url !== '/v2/').length;

async function get(gw: TestGateway): Promise<string> {
  return (await fetch(`${gw.url}/v2/library/x/manifests/v1`)).text();
}

t.test('a frozen mirror leaves rotation on its health checks before a pull meets it, and comes back when it answers', async (t) => {
  const sick = await startFakeUpstream(frozen);
  const good = await startFakeUpstream(registryAnswer('{"from":"good"}'));
  t.teardown(() => Promise.all([sick.close(), good.close()]));
  const health = ', health: { interval: 100ms, timeout: 100ms, unhealthyAfter: 2, healthyAfter: 2 }';
  const gw = await startGateway(
    upstreamsYaml(
      [
        ['sick', sick.url, 1],
        ['good', good.url, 1],
      ],
      health,
    ) + 'balance: { slowStart: 0s }\n',
  );
  t.teardown(() => gw.close());

  await until('the health check says sick is down', async () => (await gw.metric('mirrorgate_upstream_healthy', { upstream: 'sick' })) === 0);
  t.ok(
    sick.requests.some((r) => r.url === '/v2/'),
    'the checks asked /v2/',
  );
  t.equal(await gw.metric('mirrorgate_upstream_effective_weight', { upstream: 'sick' }), 0, 'no weight while out');
  t.equal((await fetch(`${gw.url}/readyz`)).status, 200, 'still ready: good takes requests');
  for (let i = 0; i < 6; i++) t.equal(await get(gw), '{"from":"good"}');
  t.equal(pulls(sick), 0, 'no pull was sent to the frozen mirror');
  t.ok(
    gw.logs().some((l) => l['event'] === 'health' && l['upstream'] === 'sick' && l['healthy'] === false),
    'logged',
  );

  // It wakes up and answers 401 on /v2/, as registries do: healthy.
  sick.handle((req, res) => {
    if (req.url === '/v2/') {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="x"', 'content-length': 0 });
      res.end();
    } else registryAnswer('{"from":"sick"}')(req, res);
  });
  await until('sick is healthy again', async () => (await gw.metric('mirrorgate_upstream_healthy', { upstream: 'sick' })) === 1);
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add(await get(gw));
  t.ok(seen.has('{"from":"sick"}'), 'back in rotation');
});
