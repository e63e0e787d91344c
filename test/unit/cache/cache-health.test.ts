/** Relay-only mode: entered on a disk error, reported once per condition, retried after a while, ended by a fill that works. */
import t from 'tap';
import { CacheHealth, DiskFullError, isDiskError, type HealthReport } from '../../../src/cache/cache-health.js';

const diskError = (code: string): Error & { code: string } => Object.assign(new Error(code), { code });

t.test('a failing disk is reported once per condition and retried after retryMs', async (t) => {
  let now = 1000;
  const reports: HealthReport[] = [];
  const health = new CacheHealth(
    (report) => reports.push(report),
    10_000,
    () => now,
  );
  t.ok(health.mayFill);
  health.failed(new DiskFullError('full'));
  health.failed(diskError('ENOSPC'));
  t.equal(reports.length, 1, 'the same condition twice is one report');
  t.equal(health.failing, 'ENOSPC');
  t.notOk(health.mayFill, 'relay-only');
  now += 9_999;
  t.notOk(health.mayFill);
  now += 1;
  t.ok(health.mayFill, 'a fill may try again');
  health.failed(diskError('EIO'));
  t.equal(reports.length, 2, 'a new condition is reported');
  t.notOk(health.mayFill, 'and the retry time starts over');
  health.worked();
  health.worked();
  t.same(reports.at(-1), { state: 'recovered', code: 'EIO' });
  t.equal(reports.length, 3, 'recovered once');
  t.ok(health.mayFill);
  t.equal(health.failing, undefined);
});

t.test('only disk errors count', async (t) => {
  t.ok(isDiskError(diskError('ENOSPC')));
  t.ok(isDiskError(new DiskFullError('x')));
  t.notOk(isDiskError(new Error('content does not match')));
  t.notOk(isDiskError(diskError('ECONNRESET')), 'an upstream failure is not the disk');
  t.notOk(isDiskError(undefined));
});
