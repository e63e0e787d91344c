/** Image references as written: registry prefix by docker's rule, tag or digest, `latest` by default. */
import t from 'tap';
import { parseImageRef } from '../../../src/registry/image-ref.js';

const DIGEST = `sha256:${'0'.repeat(64)}`;

t.test('the parts of a reference', async (t) => {
  const cases: [string, { registry: string | undefined; name: string; reference: string }][] = [
    ['nginx:1.27', { registry: undefined, name: 'nginx', reference: '1.27' }],
    ['nginx', { registry: undefined, name: 'nginx', reference: 'latest' }],
    ['library/redis:7-alpine', { registry: undefined, name: 'library/redis', reference: '7-alpine' }],
    ['org/app', { registry: undefined, name: 'org/app', reference: 'latest' }],
    ['ghcr.io/org/app:1.2', { registry: 'ghcr.io', name: 'org/app', reference: '1.2' }],
    ['Registry.Corp:5000/team/app:v1', { registry: 'registry.corp:5000', name: 'team/app', reference: 'v1' }],
    ['localhost/app', { registry: 'localhost', name: 'app', reference: 'latest' }],
    [`app@${DIGEST}`, { registry: undefined, name: 'app', reference: DIGEST }],
    [`ghcr.io/org/app:1.2@${DIGEST}`, { registry: 'ghcr.io', name: 'org/app', reference: DIGEST }],
  ];
  for (const [text, expected] of cases) t.same(parseImageRef(text), { ok: true, image: expected }, text);
});

t.test('what is not a reference, and why', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /"" is not a repository name/],
    ['Nginx:1', /"Nginx" is not a repository name/],
    ['nginx:', /"" is not a tag/],
    ['nginx:bad tag', /"bad tag" is not a tag/],
    ['nginx@sha256:xyz', /"sha256:xyz" is not a digest/],
    ['ghcr.io/', /"" is not a repository name/],
  ];
  for (const [text, message] of cases) {
    const result = parseImageRef(text);
    t.equal(result.ok, false, text);
    if (!result.ok) t.match(result.message, message, text);
  }
});
