/**
 * cache.tags.rules: globs over `repository:tag`, first match wins, the default otherwise.
 */
import t from 'tap';
import { TagTtls, globPattern } from '../../../src/cache/tag-ttl.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

t.test('the first matching rule decides; no match is the default', async (t) => {
  const ttls = new TagTtls(MIN, [
    { match: '*:latest', ttlMs: 0 },
    { match: 'library/*:1.*', ttlMs: HOUR },
    { match: 'library/alpine:1.2', ttlMs: 5 },
  ]);
  const cases: [string, string, number][] = [
    ['library/alpine', 'latest', 0],
    ['myorg/team/app', 'latest', 0],
    ['library/alpine', '1.2', HOUR], // the earlier rule wins over the exact one below it
    ['library/alpine', '1.20.3', HOUR],
    ['library/alpine', '2.0', MIN],
    ['library/alpine', 'latest-rc', MIN],
    ['other/alpine', '1.2', MIN],
  ];
  for (const [repository, tag, want] of cases) t.equal(ttls.ttlFor(repository, tag), want, `${repository}:${tag}`);
});

t.test('without rules every tag has the default', async (t) => {
  t.equal(new TagTtls(1234).ttlFor('library/x', 'v1'), 1234);
});

t.test('a glob: * is any run (none, / and : included), everything else literal, the whole string', async (t) => {
  const cases: [string, string, boolean][] = [
    ['library/*:1.*', 'library/alpine:1.2', true],
    ['library/*:1.*', 'library/a/b:1.', true],
    ['library/*:1.*', 'library/alpine:112', false], // "." is not "any character"
    ['library/*:1.*', 'xlibrary/alpine:1.2', false], // anchored at the start
    ['*:latest', 'a:latest', true],
    ['*:latest', 'a:latest2', false], // anchored at the end
    ['*', 'anything/at:all', true],
    ['a*b', 'ab', true],
    ['a+b:c', 'aab:c', false], // regex characters are literal
    ['a+b:c', 'a+b:c', true],
  ];
  for (const [glob, subject, want] of cases) t.equal(globPattern(glob).test(subject), want, `${glob} ~ ${subject}`);
});
