import t from 'tap';
import { TokenCache, type IssuedToken } from '../../../src/upstream/auth/token-cache.js';

t.test('a token is reused until shortly before it expires', async (t) => {
  let now = 1_000_000;
  const cache = new TokenCache(() => now);
  let fetches = 0;
  const fetch = async (): Promise<IssuedToken> => ({ token: `t${++fetches}`, expiresInSec: 300, issuedAtMs: now });
  t.equal(await cache.get('repository:a:pull', fetch), 't1');
  now += 269_000;
  t.equal(await cache.get('repository:a:pull', fetch), 't1', 'still fresh 31 s before expiry');
  now += 2_000;
  t.equal(await cache.get('repository:a:pull', fetch), 't2', 'refreshed within 30 s of expiry');
  t.equal(fetches, 2);
});

t.test('short-lived tokens refresh at 90% of their life', async (t) => {
  let now = 0;
  const cache = new TokenCache(() => now);
  const fetch = async (): Promise<IssuedToken> => ({ token: String(now), expiresInSec: 60, issuedAtMs: now });
  await cache.get('s', fetch);
  now = 53_999;
  t.equal(cache.peek('s'), '0');
  now = 54_000;
  t.equal(cache.peek('s'), undefined);
});

t.test('issued_at in the past shortens the life; an already-expired token is not cached', async (t) => {
  const now = 100_000;
  const cache = new TokenCache(() => now);
  await cache.get('s', async () => ({ token: 'old', expiresInSec: 60, issuedAtMs: now - 120_000 }));
  t.equal(cache.peek('s'), undefined);
});

t.test('concurrent requests share one fetch; scopes are separate', async (t) => {
  const cache = new TokenCache();
  let fetches = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const fetchFor = (scope: string) => async (): Promise<IssuedToken> => {
    const call = ++fetches;
    await gate;
    return { token: `${scope}-${call}`, expiresInSec: 300, issuedAtMs: Date.now() };
  };
  const waiting = Array.from({ length: 20 }, () => cache.get('a', fetchFor('a')));
  const other = cache.get('b', fetchFor('b'));
  release();
  t.same([...new Set(await Promise.all(waiting))], ['a-1'], 'all 20 got the one token');
  t.equal(await other, 'b-2');
  t.equal(fetches, 2, 'one fetch for a, one for b');
  t.equal(await cache.get('a', fetchFor('a')), 'a-1', 'and it is cached afterwards');
});

t.test('a failed fetch is shared, not cached: the next call fetches again', async (t) => {
  const cache = new TokenCache();
  let calls = 0;
  const failing = async (): Promise<IssuedToken> => {
    calls++;
    throw new Error('realm down');
  };
  const results = await Promise.allSettled([cache.get('s', failing), cache.get('s', failing)]);
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  t.equal(calls, 1);
  await t.rejects(cache.get('s', failing));
  t.equal(calls, 2);
});

t.test('a rejected token is forgotten', async (t) => {
  const cache = new TokenCache();
  await cache.get('s', async () => ({ token: 'x', expiresInSec: 300, issuedAtMs: Date.now() }));
  cache.reject('s', 'other');
  t.equal(cache.peek('s'), 'x', 'rejecting a different token changes nothing');
  cache.reject('s', 'x');
  t.equal(cache.peek('s'), undefined);
});
