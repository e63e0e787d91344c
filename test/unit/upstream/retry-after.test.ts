import t from 'tap';
import { DEFAULT_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS, retryAfterMs } from '../../../src/upstream/retry-after.js';

t.test('Retry-After as delay-seconds or HTTP-date (RFC 9110 §10.2.3)', async (t) => {
  const now = Date.parse('Fri, 27 Nov 2026 22:00:00 GMT');
  t.equal(retryAfterMs('120', now), 120_000);
  t.equal(retryAfterMs(' 0 ', now), 0);
  t.equal(retryAfterMs(['30', '90'], now), 30_000, 'the first of repeated headers');
  t.equal(retryAfterMs('Fri, 27 Nov 2026 22:01:30 GMT', now), 90_000);
  t.equal(retryAfterMs('Fri, 27 Nov 2026 21:59:00 GMT', now), 0, 'a date in the past means now');
  t.equal(retryAfterMs(undefined, now), DEFAULT_RETRY_AFTER_MS);
  t.equal(retryAfterMs('', now), DEFAULT_RETRY_AFTER_MS);
  t.equal(retryAfterMs('soon', now), DEFAULT_RETRY_AFTER_MS);
  t.equal(retryAfterMs('-5', now), DEFAULT_RETRY_AFTER_MS, 'not delay-seconds, not a date');
  t.equal(retryAfterMs('999999', now), MAX_RETRY_AFTER_MS, 'capped');
});
