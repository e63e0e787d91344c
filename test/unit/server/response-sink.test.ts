/**
 * The client-idle cut of a backpressured response: armed only for a live response, and never
 * what keeps a stopping process alive (CI hung 240 s on a test file whose client had hung up
 * just before the write that filled its socket: the armed 5-minute timer held the process).
 */
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { ResponseSink } from '../../../src/server/response-sink.js';

const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/** A response whose client has connected and is waiting; `hangUp` makes the client leave. */
async function openResponse(t: Test): Promise<{ res: ServerResponse; hangUp(): Promise<void> }> {
  let onResponse: (res: ServerResponse) => void = () => undefined;
  const answered = new Promise<ServerResponse>((resolve) => (onResponse = resolve));
  const server = createServer((_req, res) => onResponse(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const req = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', path: '/' });
  req.on('error', () => undefined);
  req.end();
  const res = await answered;
  return {
    res,
    hangUp: () =>
      new Promise<void>((resolve) => {
        res.once('close', () => resolve());
        req.destroy();
      }),
  };
}

t.test('the idle cut of a closed response is never armed, and no armed cut holds the process', async (t) => {
  const before = timers();
  const closed = await openResponse(t);
  await closed.hangUp();
  new ResponseSink(closed.res, 300_000).onceDrain(() => undefined);
  t.equal(timers(), before, 'no timer for a response whose client has gone');

  const live = await openResponse(t);
  new ResponseSink(live.res, 300_000).onceDrain(() => undefined);
  t.equal(timers(), before, 'the armed cut of a live response does not keep the event loop alive');
  await live.hangUp();
});

t.test('a live response left unread is cut after the idle time', async (t) => {
  const live = await openResponse(t);
  const closed = new Promise<Error | undefined>((resolve) => {
    live.res.once('error', (err) => resolve(err));
    live.res.once('close', () => resolve(undefined));
  });
  new ResponseSink(live.res, 50).onceDrain(() => t.fail('it never drained'));
  t.ok(live.res.destroyed === false);
  await closed;
  t.ok(live.res.destroyed, 'cut');
});
