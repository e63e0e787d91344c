import t from 'tap';
import { parseChallenges } from '../../../src/registry/challenge.js';

t.test('challenges as registries send them', async (t) => {
  const cases: [string | string[], unknown][] = [
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } }],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['bearer Realm=https://x/token, Service=reg', [{ scheme: 'bearer', params: { realm: 'https://x/token', service: 'reg' } }]],
    [
      'Basic realm="a", Bearer realm="https://t/token",service="s"',
      [
        { scheme: 'basic', params: { realm: 'a' } },
        { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
      ],
    ],
    [
      ['Basic realm="a"', 'Bearer realm="b"'],
      [
        { scheme: 'basic', params: { realm: 'a' } },
        { scheme: 'bearer', params: { realm: 'b' } },
      ],
    ],
    ['Bearer realm="with \\"escaped\\" quote"', [{ scheme: 'bearer', params: { realm: 'with "escaped" quote' } }]],
    ['Bearer realm="unterminated', [{ scheme: 'bearer', params: {} }]],
    ['', []],
  ];
  for (const [header, expected] of cases) t.same(parseChallenges(header), expected, JSON.stringify(header));
  t.same(parseChallenges(undefined), []);
});
