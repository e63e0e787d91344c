/**
 * SIGTERM/SIGINT on `serve`: stop accepting at once, let downloads in flight finish (up to
 * `shutdown.drainTimeout`), cut what is left after it, and exit 0 either way.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startFakeUpstream, registryAnswer, trickle, type FakeHandler } from '../helpers/fake-upstream.js';
import { httpGet, startCli, freePort, tempDir, type Teardown } from '../../helpers/cli-process.js';

const BLOB = `/v2/library/x/blobs/sha256:${'3'.repeat(64)}`;
const TIMEOUT = { timeout: 30_000 };

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A fake upstream on `handler`, closed in teardown (after the gateway: teardowns run in reverse). */
async function upstream(t: Teardown, handler: FakeHandler): Promise<string> {
  const fake = await startFakeUpstream(handler);
  t.teardown(() => fake.close());
  return fake.url;
}

async function serve(t: Teardown, upstreamUrl: string, extra = ''): Promise<{ proc: ReturnType<typeof startCli>; port: number }> {
  const dir = await tempDir(t);
  const file = join(dir, 'mirrorgate.yaml');
  const port = await freePort();
  // The blob path names a made-up digest: verification would (rightly) cut these downloads.
  await writeFile(file, `listen: "127.0.0.1:${port}"\nverifyDigests: false\nupstreams:\n  - { name: a, url: "${upstreamUrl}" }\n${extra}`);
  const proc = startCli(t, ['serve', '-c', file, '--no-watch']);
  const listening = await proc.listening();
  if (listening !== port) throw new Error(`listening on ${listening}, configured ${port}`);
  return { proc, port };
}

interface Download {
  /** Resolves once the first body bytes arrived. */
  readonly started: Promise<void>;
  /** Resolves when the body ended or the connection was cut. */
  readonly finished: Promise<{ status: number; body: Buffer; complete: boolean; error?: string }>;
}

function download(url: string, timeoutMs: number): Download {
  let started!: () => void;
  const startedP = new Promise<void>((resolve) => (started = resolve));
  const finished = new Promise<{ status: number; body: Buffer; complete: boolean; error?: string }>((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    const req = request(url, { agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        started();
      });
      res.on('error', (err) => resolve({ status, body: Buffer.concat(chunks), complete: false, error: err.message }));
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks), complete: res.complete }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`download timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ status, body: Buffer.concat(chunks), complete: false, error: err.message }));
    req.end();
  });
  return { started: startedP, finished };
}

/** Resolves with the connect error code, or 'connected' if the port still accepts. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

t.test('SIGTERM mid-download: the download completes whole, new connections are refused, exit 0', TIMEOUT, async (t) => {
  const chunks = Array.from({ length: 20 }, () => randomBytes(8 * 1024));
  const whole = Buffer.concat(chunks);
  const url = await upstream(t, trickle(chunks, 50, { firstAtOnce: true }));
  const { proc, port } = await serve(t, url);

  const dl = download(`http://127.0.0.1:${port}${BLOB}`, 10_000);
  await dl.started;
  const sentAt = Date.now();
  const mark = proc.mark();
  proc.signal('SIGTERM');
  await proc.waitForLog((l) => l['event'] === 'shutdown' && l['signal'] === 'SIGTERM', { since: mark, what: 'the shutdown log line' });

  // The listener is closed in the same tick as that log line; a short grace covers the pipe's lag anyway.
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(proc.exited, undefined, 'still running while the download is in flight');
  t.equal(await tryConnect(port), 'ECONNREFUSED', 'a new connection after SIGTERM is refused');

  const result = await dl.finished;
  t.equal(result.status, 200, 'status 200');
  t.equal(result.error, undefined, 'the download was not cut');
  t.ok(result.complete, 'the body ended normally');
  t.equal(result.body.length, whole.length, 'byte count');
  t.equal(sha256(result.body), sha256(whole), 'sha256');

  const exit = await proc.waitForExit(10_000);
  t.same(exit, { code: 0, signal: null }, 'exit code 0');
  t.ok(Date.now() - sentAt >= 500, 'the process waited for the download (20 chunks × 50 ms)');
  t.ok(
    proc.logs.some((l) => l['msg'] === 'request' && l['status'] === 200 && l['bytes'] === whole.length),
    'the download is logged as a whole 200',
  );
  t.notOk(
    proc.logs.some((l) => l['event'] === 'shutdown' && typeof l['inflight'] === 'number'),
    'no drain timeout',
  );
  t.same(
    proc.stderr.filter((l) => l !== ''),
    [],
    'nothing on stderr',
  );
});

t.test('SIGTERM with a body that never ends: exit 0 after the drain timeout, the download is cut', TIMEOUT, async (t) => {
  const url = await upstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 10_000_000 });
    res.write(Buffer.alloc(4096));
    // ...and nothing more, ever (well within the 60s default idle timeout).
  });
  const { proc, port } = await serve(t, url, 'shutdown: { drainTimeout: 300ms }\n');

  const dl = download(`http://127.0.0.1:${port}${BLOB}`, 10_000);
  await dl.started;
  const sentAt = Date.now();
  proc.signal('SIGTERM');
  const exit = await proc.waitForExit(5000);
  const took = Date.now() - sentAt;
  t.same(exit, { code: 0, signal: null }, 'exit code 0');
  t.ok(took >= 250, `waited for the drain timeout first (${took} ms)`);
  t.ok(took < 3000, `exited soon after the 300 ms drain timeout (${took} ms)`);

  const result = await dl.finished;
  t.equal(result.status, 200, 'status 200 (the headers went out before the cut)');
  t.notOk(result.complete, 'the client did not get a whole body');
  t.ok(result.body.length < 10_000_000, `short body (${result.body.length} bytes)`);
  t.ok(
    proc.logs.some((l) => l['event'] === 'shutdown' && l['inflight'] === 1),
    'the drain timeout is logged with the request it cut',
  );
});

t.test('SIGINT exits 0 as well', TIMEOUT, async (t) => {
  const url = await upstream(t, registryAnswer('{"schemaVersion":2}'));
  const { proc, port } = await serve(t, url);
  const res = await httpGet(`http://127.0.0.1:${port}/v2/library/x/manifests/latest`);
  t.equal(res.status, 200, 'serving before the signal');
  proc.signal('SIGINT');
  const exit = await proc.waitForExit(5000);
  t.same(exit, { code: 0, signal: null }, 'exit code 0');
  t.ok(
    proc.logs.some((l) => l['event'] === 'shutdown' && l['signal'] === 'SIGINT'),
    'the signal is logged',
  );
  t.ok(
    proc.logs.some((l) => l['event'] === 'shutdown' && l['msg'] === 'stopped'),
    'the stop is logged',
  );
  t.equal(await tryConnect(port), 'ECONNREFUSED', 'nothing listens afterwards');
});
