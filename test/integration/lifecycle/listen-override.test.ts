/**
 * `serve --listen ADDRESS` and `MIRRORGATE_LISTEN` move the listener without editing the file:
 * the flag beats the variable, which beats the file; a bad value is a config problem (exit 2)
 * that names where it came from; a reload keeps the override instead of warning that the file's
 * address differs.
 */
import t, { type Test } from 'tap';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort, httpGet, runCli, startCli, tempDir } from '../../helpers/cli-process.js';

/** A port held for the whole test: a gateway that tried the file's address would fail on it. */
async function occupiedPort(t: Test): Promise<number> {
  const squatter = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    squatter.once('error', reject);
    squatter.listen(0, '127.0.0.1', resolve);
  });
  t.teardown(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  return (squatter.address() as AddressInfo).port;
}

async function configOn(t: Test, port: number): Promise<string> {
  const file = join(await tempDir(t), 'mirrorgate.yaml');
  await writeFile(file, `listen: "127.0.0.1:${port}"\nupstreams:\n  - { name: a, url: "http://127.0.0.1:9" }\ncache: false\n`);
  return file;
}

t.test("MIRRORGATE_LISTEN replaces the file's listen, and a reload keeps it", { timeout: 30_000 }, async (t) => {
  const file = await configOn(t, await occupiedPort(t));
  const port = await freePort();
  const proc = startCli(t, ['serve', '-c', file], { env: { MIRRORGATE_LISTEN: `127.0.0.1:${port}` } });
  t.equal(await proc.listening(), port, 'listens where the variable says');
  t.equal((await httpGet(`http://127.0.0.1:${port}/healthz`)).status, 200);

  const since = proc.mark();
  proc.signal('SIGHUP');
  await proc.waitForLog((line) => line['event'] === 'reload' && line['msg'] === 'configuration reloaded', { since, what: 'the reload' });
  t.notOk(
    proc.logs.slice(since).some((line) => String(line['msg']).includes('listen address changed')),
    'the reloaded config has the same (overridden) address: no restart warning',
  );
});

t.test('--listen beats MIRRORGATE_LISTEN', { timeout: 30_000 }, async (t) => {
  const busy = await occupiedPort(t);
  const file = await configOn(t, busy);
  const port = await freePort();
  const proc = startCli(t, ['serve', '-c', file, '--listen', `127.0.0.1:${port}`], { env: { MIRRORGATE_LISTEN: `127.0.0.1:${busy}` } });
  t.equal(await proc.listening(), port, 'listens where the flag says');
});

t.test('a bad override is a config problem naming its origin (exit 2)', { timeout: 30_000 }, async (t) => {
  const file = await configOn(t, await freePort());
  const fromEnv = await runCli(t, ['serve', '-c', file], { env: { MIRRORGATE_LISTEN: 'localhost' } });
  t.equal(fromEnv.code, 2);
  t.match(fromEnv.stderr.join('\n'), /listen \(from MIRRORGATE_LISTEN\): must be a "host:port" string/);

  const fromFlag = await runCli(t, ['check', '-c', file, '--listen', '127.0.0.1:70000']);
  t.equal(fromFlag.code, 2, 'check validates the override too');
  t.match(fromFlag.stderr.join('\n'), /listen \(from --listen\): port must be an integer/);

  const empty = await runCli(t, ['check', '-c', file], { env: { MIRRORGATE_LISTEN: '' } });
  t.equal(empty.code, 0, 'an empty variable counts as unset');
});

t.test('health finds the gateway where MIRRORGATE_LISTEN moved it (the container HEALTHCHECK)', { timeout: 30_000 }, async (t) => {
  const file = await configOn(t, await freePort());
  const port = await freePort();
  const env = { MIRRORGATE_LISTEN: `0.0.0.0:${port}` };
  const proc = startCli(t, ['serve', '-c', file], { env });
  await proc.listening();

  const healthy = await runCli(t, ['health', '-c', file], { env });
  t.equal(healthy.code, 0, healthy.stdout.join('\n'));
  t.same(healthy.stdout, [`http://127.0.0.1:${port}/healthz: 200`], 'a wildcard listener is asked on loopback');

  const elsewhere = await runCli(t, ['health', '-c', file]);
  t.equal(elsewhere.code, 1, "the file's own port has nobody listening: unhealthy");
});
