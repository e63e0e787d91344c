import t from 'tap';
import { CallWindow, type CallResult } from '../../../src/upstream/call-window.js';

const limits = { failureRate: 0.5, slowRate: 0.5, consecutive: 3 };
const feed = (window: CallWindow, results: CallResult[]): boolean[] => results.map((r) => window.record(r));

t.test('consecutive failed or slow calls open it, however few calls there were', async (t) => {
  t.same(feed(new CallWindow(10, limits), ['failed', 'slow', 'failed']), [false, false, true]);
  t.same(feed(new CallWindow(10, limits), ['failed', 'failed', 'ok', 'failed', 'failed']), [false, false, false, false, false], 'an ok call breaks the run');
  t.same(feed(new CallWindow(10, { ...limits, consecutive: 0 }), ['failed', 'failed', 'failed']), [false, false, false], '0: off');
});

t.test('a slow share at or above the rate over the last N calls opens it', async (t) => {
  const window = new CallWindow(4, { ...limits, consecutive: 0 });
  t.same(feed(window, ['slow', 'ok', 'slow', 'ok']), [false, false, false, true], '2 of 4: 50 %');
  const quiet = new CallWindow(4, { ...limits, consecutive: 0 });
  t.same(feed(quiet, ['slow', 'ok', 'ok', 'ok', 'ok', 'slow', 'ok']), Array(7).fill(false), 'the oldest call leaves the window');
});

t.test('a failure share above the rate over the last N calls opens it', async (t) => {
  const window = new CallWindow(4, { ...limits, consecutive: 0 });
  t.same(feed(window, ['ok', 'failed', 'ok', 'failed']), [false, false, false, false], '50 % is not above 50 %');
  t.equal(window.record('failed'), true, '3 of the last 4');
});

t.test('reset forgets everything', async (t) => {
  const window = new CallWindow(4, limits);
  feed(window, ['failed', 'failed']);
  window.reset();
  t.same(feed(window, ['failed', 'failed']), [false, false]);
});
