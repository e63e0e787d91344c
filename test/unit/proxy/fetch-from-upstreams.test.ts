/**
 * The failover loop against scripted upstreams (no HTTP): which upstreams are tried in which
 * order, what the sink receives, and what the one result says.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import {
  fetchFromUpstreams,
  type AttemptableUpstream,
  type FetchMetrics,
  type FetchRequest,
  type UpstreamChoice,
} from '../../../src/proxy/fetch-from-upstreams.js';
import { verifyingSink } from '../../../src/proxy/verify.js';
import type { ResponseHeaders, Sink } from '../../../src/stream/sink.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { BreakerOpenError } from '../../../src/upstream/breaker.js';
import { UpstreamAttemptError, failureReason } from '../../../src/upstream/errors.js';
import type { AttemptOutcome } from '../../../src/upstream/outcome.js';
import type { AttemptHooks, AttemptRequest } from '../../../src/upstream/upstream.js';

const BLOB = Buffer.from('0123456789abcdefghij');
const DIGEST = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;

/** What one scripted upstream does with an attempt. */
type Script = (request: AttemptRequest, sink: Sink, hooks: AttemptHooks) => Promise<AttemptOutcome>;

/** Relays like upstream/relay-handler.ts does: decline, or start → write → end, with its errors. */
function answer(name: string, status: number, headers: ResponseHeaders, chunks: Buffer[], breakAfter?: number): Script {
  return async (_request, sink, hooks) => {
    if (hooks.declines(status)) return { kind: 'declined', response: { status, headers, body: Buffer.concat(chunks) } };
    try {
      sink.start(status, headers);
    } catch (err) {
      throw new UpstreamAttemptError(name, failureReason(err), undefined, 0, { cause: err });
    }
    const started = { status, headers };
    let bytes = 0;
    for (const chunk of chunks) {
      if (breakAfter !== undefined && bytes >= breakAfter) throw new UpstreamAttemptError(name, 'reset', started, bytes);
      sink.write(chunk);
      bytes += chunk.length;
    }
    try {
      sink.end();
    } catch (err) {
      throw new UpstreamAttemptError(name, failureReason(err), started, bytes, { cause: err });
    }
    return { kind: 'relayed', status, bytes };
  };
}

const refuse =
  (name: string): Script =>
  () =>
    Promise.reject(new UpstreamAttemptError(name, 'connect', undefined, 0));
const notFound = (name: string): Script => answer(name, 404, {}, [Buffer.from(`{"from":"${name}"}`)]);
const blob = (name: string, breakAfter?: number): Script =>
  answer(name, 200, { 'content-length': String(BLOB.length) }, [BLOB.subarray(0, 10), BLOB.subarray(10)], breakAfter);
/** Answers a Range request for the rest of BLOB with a 206, as a registry does. */
const rangeServer =
  (name: string): Script =>
  (request, sink, hooks) => {
    const [, from] = /^bytes=(\d+)-/.exec(request.headers['range'] ?? '') ?? [];
    const start = Number(from ?? 0);
    const rest = BLOB.subarray(start);
    return answer(name, 206, { 'content-range': `bytes ${start}-${BLOB.length - 1}/${BLOB.length}`, 'content-length': String(rest.length) }, [rest])(
      request,
      sink,
      hooks,
    );
  };

/** Upstreams in the order given; `pick` offers the first one not tried yet, as a balancer would. */
function group(scripts: Record<string, Script>): UpstreamChoice & { attempts: string[]; requests: AttemptRequest[] } {
  const attempts: string[] = [];
  const requests: AttemptRequest[] = [];
  const upstreams: AttemptableUpstream[] = Object.entries(scripts).map(([name, script]) => ({
    name,
    attempt: (request, sink, hooks) => {
      attempts.push(name);
      requests.push(request);
      return script(request, sink, hooks);
    },
  }));
  return { registry: 'docker.io', attempts, requests, pick: (tried) => upstreams.find((u) => !tried.has(u.name)) };
}

const metrics: FetchMetrics = { upstreamSelected() {}, upstreamHeaders() {}, failover() {} };
const blobRequest: FetchRequest = { method: 'GET', route: { kind: 'blob', name: 'library/x', digest: DIGEST }, headers: {}, resumable: true };
const manifestRequest: FetchRequest = { method: 'GET', route: { kind: 'manifest', name: 'library/x', reference: 'v1' }, headers: {}, resumable: false };
const deps = (choice: UpstreamChoice, maxAttempts = 3, on404 = true) => ({ group: choice, failover: { maxAttempts, on404 }, metrics });
const live = (): AbortSignal => new AbortController().signal;

t.test('failover goes down the balancer order, each upstream at most once, within maxAttempts', async (t) => {
  const choice = group({ a: refuse('a'), b: refuse('b'), c: refuse('c'), d: blob('d') });
  const sink = new RecordingSink();
  const result = await fetchFromUpstreams(blobRequest, sink, deps(choice, 3), live());
  t.same(choice.attempts, ['a', 'b', 'c'], 'three tries, then no more');
  t.equal(result.kind, 'unavailable');
  t.equal(result.attempts, 3);
  t.same(
    result.failovers.map((f) => [f.upstream, f.reason]),
    [
      ['a', 'connect'],
      ['b', 'connect'],
      ['c', 'connect'],
    ],
  );
  t.equal(sink.started, undefined, 'nothing reached the sink');

  const fine = group({ a: refuse('a'), b: blob('b'), c: blob('c') });
  const ok = await fetchFromUpstreams(blobRequest, new RecordingSink(), deps(fine), live());
  t.same(fine.attempts, ['a', 'b']);
  t.match(ok, { kind: 'relayed', upstream: 'b', status: 200, bytes: BLOB.length, attempts: 2 });
});

t.test('a breaker that is open is a failover reason of its own', async (t) => {
  const choice = group({ a: () => Promise.reject(new BreakerOpenError('a')), b: blob('b') });
  const result = await fetchFromUpstreams(blobRequest, new RecordingSink(), deps(choice), live());
  t.match(result, { kind: 'relayed', upstream: 'b' });
  t.same(
    result.failovers.map((f) => f.reason),
    ['breaker_open'],
  );
});

t.test('404 policy: with on404 the next mirror is asked, and only an all-404 answer is a 404', async (t) => {
  const found = group({ a: notFound('a'), b: blob('b') });
  t.match(await fetchFromUpstreams(manifestRequest, new RecordingSink(), deps(found), live()), { kind: 'relayed', upstream: 'b' });

  const nowhere = group({ a: notFound('a'), b: notFound('b') });
  const missing = await fetchFromUpstreams(manifestRequest, new RecordingSink(), deps(nowhere), live());
  t.match(missing, { kind: 'answer', upstream: 'b', attempts: 2 });
  t.equal(missing.kind === 'answer' && missing.response.body.toString(), '{"from":"b"}', 'the last 404 verbatim');

  const mixed = group({ a: notFound('a'), b: refuse('b') });
  t.match(await fetchFromUpstreams(manifestRequest, new RecordingSink(), deps(mixed), live()), { kind: 'unavailable' }, 'a failure is not a miss');

  const strict = group({ a: notFound('a'), b: blob('b') });
  const sink = new RecordingSink();
  const first = await fetchFromUpstreams(manifestRequest, sink, deps(strict, 3, false), live());
  t.match(first, { kind: 'relayed', upstream: 'a', status: 404 }, 'without on404 the first 404 is relayed');
  t.same(strict.attempts, ['a']);
});

t.test('a blob that breaks mid-body resumes at the next upstream with a Range, into the same sink', async (t) => {
  const choice = group({ a: blob('a', 10), b: rangeServer('b') });
  const sink = new RecordingSink();
  const result = await fetchFromUpstreams(blobRequest, verifyingSink(sink, DIGEST), deps(choice), live());
  t.match(result, { kind: 'relayed', upstream: 'b', status: 200, bytes: BLOB.length });
  t.equal(choice.requests[1]?.headers['range'], `bytes=10-${BLOB.length - 1}`);
  t.equal(sink.started?.status, 200, 'the sink was started once, with the first answer');
  t.equal(sink.body, BLOB.toString(), 'whole, verified across both upstreams');
  t.ok(sink.ended);
  t.match(result.failovers, [{ upstream: 'a', reason: 'reset', detail: /resuming at byte 10/ }]);
});

t.test('a continuation that is not the range asked for moves on; with none left the result is broken', async (t) => {
  const choice = group({ a: blob('a', 10), b: blob('b'), c: rangeServer('c') });
  const sink = new RecordingSink();
  const result = await fetchFromUpstreams(blobRequest, sink, deps(choice), live());
  t.match(result, { kind: 'relayed', upstream: 'c' }, 'b answered 200 to a Range: declined, c continues');
  t.equal(sink.body, BLOB.toString());

  const hopeless = group({ a: blob('a', 10), b: refuse('b') });
  const broken = await fetchFromUpstreams(blobRequest, new RecordingSink(), deps(hopeless), live());
  t.match(broken, { kind: 'broken', bytes: 10, attempts: 2 });
});

t.test('a request that is not resumable is broken at the first break', async (t) => {
  const choice = group({ a: blob('a', 10), b: rangeServer('b') });
  const result = await fetchFromUpstreams({ ...blobRequest, resumable: false }, new RecordingSink(), deps(choice), live());
  t.match(result, { kind: 'broken', upstream: 'a', bytes: 10 });
  t.same(choice.attempts, ['a']);
});

t.test('a digest mismatch is broken, not resumed: bytes already sent were wrong', async (t) => {
  const liar = answer('a', 200, { 'content-length': String(BLOB.length) }, [Buffer.from('X'.repeat(BLOB.length))]);
  const choice = group({ a: liar, b: blob('b') });
  const sink = new RecordingSink();
  const result = await fetchFromUpstreams(blobRequest, verifyingSink(sink, DIGEST), deps(choice), live());
  t.match(result, { kind: 'broken', upstream: 'a' });
  t.same(
    result.failovers.map((f) => f.reason),
    ['digest'],
  );
  t.notOk(sink.ended, 'the sink was never completed');
  t.same(choice.attempts, ['a']);
});

t.test('aborting mid-stream stops the fetch and reports it as aborted, not as an upstream failure', async (t) => {
  const controller = new AbortController();
  const stalls: Script = (request, sink) =>
    new Promise((_resolve, reject) => {
      sink.start(200, { 'content-length': String(BLOB.length) });
      sink.write(BLOB.subarray(0, 5));
      request.signal.addEventListener('abort', () => reject(new UpstreamAttemptError('a', 'aborted', { status: 200, headers: {} }, 5)));
      setImmediate(() => controller.abort());
    });
  const choice = group({ a: stalls, b: blob('b') });
  const result = await fetchFromUpstreams(blobRequest, new RecordingSink(), deps(choice), controller.signal);
  t.match(result, { kind: 'aborted', upstream: 'a', bytes: 5 });
  t.same(choice.attempts, ['a'], 'no other upstream is tried for a starter that left');
  t.same(result.failovers, []);
});
