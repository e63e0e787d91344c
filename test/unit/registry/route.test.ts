import t from 'tap';
import { isValidDigest, isValidName, parseRoute, upstreamPath } from '../../../src/registry/route.js';

const SHA = 'sha256:' + 'a'.repeat(64);

t.test('routes', async (t) => {
  const cases: [string, string, unknown][] = [
    ['/v2/', '', { kind: 'ping' }],
    ['/v2', '', { kind: 'ping' }],
    ['/v2/library/nginx/manifests/latest', '', { kind: 'manifest', name: 'library/nginx', reference: 'latest' }],
    ['/v2/nginx/manifests/1.25-alpine', '', { kind: 'manifest', name: 'nginx', reference: '1.25-alpine' }],
    [`/v2/a/b/c/manifests/${SHA}`, '', { kind: 'manifest', name: 'a/b/c', reference: SHA }],
    [`/v2/library/nginx/blobs/${SHA}`, '', { kind: 'blob', name: 'library/nginx', digest: SHA }],
    ['/v2/my-org/my_app.x/tags/list', 'n=10&last=v1&ns=docker.io', { kind: 'tags', name: 'my-org/my_app.x', query: '?n=10&last=v1' }],
    ['/v2/x/tags/list', 'ns=ghcr.io', { kind: 'tags', name: 'x', query: '' }],
  ];
  for (const [path, query, route] of cases) {
    t.same(parseRoute(path, new URLSearchParams(query)), { ok: true, route }, path);
  }
});

t.test('malformed requests get the right registry error code', async (t) => {
  const cases: [string, string][] = [
    ['/v2/Library/nginx/manifests/latest', 'NAME_INVALID'],
    ['/v2/library//nginx/manifests/latest', 'NAME_INVALID'],
    ['/v2/-bad/manifests/latest', 'NAME_INVALID'],
    ['/v2/a../manifests/latest', 'NAME_INVALID'],
    ['/v2/%2e%2e/manifests/latest', 'NAME_INVALID'],
    ['/v2/../etc/manifests/latest', 'NAME_INVALID'],
    [`/v2/${'a'.repeat(256)}/manifests/latest`, 'NAME_INVALID'],
    ['/v2/nginx/manifests/-latest', 'MANIFEST_INVALID'],
    [`/v2/nginx/manifests/${'t'.repeat(129)}`, 'MANIFEST_INVALID'],
    ['/v2/nginx/manifests/sha256:1234', 'DIGEST_INVALID'],
    ['/v2/nginx/blobs/latest', 'DIGEST_INVALID'],
    ['/v2/nginx/blobs/sha256:' + 'A'.repeat(64), 'DIGEST_INVALID'],
    ['/v2/nginx/blobs/uploads/', 'NOT_FOUND'],
    ['/v2/nginx', 'NOT_FOUND'],
    ['/v2/nginx/referrers/x', 'NOT_FOUND'],
    ['/v1/_ping', 'NOT_FOUND'],
  ];
  for (const [path, code] of cases) {
    const result = parseRoute(path);
    t.equal(result.ok ? 'ok' : result.code, code, path);
  }
});

t.test('names and digests', async (t) => {
  t.ok(isValidName('a'));
  t.ok(isValidName('a-b__c.d/e'));
  t.notOk(isValidName('a_'));
  t.notOk(isValidName(''));
  t.ok(isValidDigest(SHA));
  t.ok(isValidDigest('sha512:' + 'f'.repeat(128)));
  t.ok(isValidDigest('multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8'));
  t.notOk(isValidDigest('sha256:' + 'a'.repeat(63)));
  t.notOk(isValidDigest('sha256'));
});

t.test('upstream paths carry only what the route allows', async (t) => {
  t.equal(upstreamPath({ kind: 'blob', name: 'library/x', digest: SHA }), `/v2/library/x/blobs/${SHA}`);
  t.equal(upstreamPath({ kind: 'manifest', name: 'x', reference: 'v1' }), '/v2/x/manifests/v1');
  t.equal(upstreamPath({ kind: 'tags', name: 'x', query: '?n=5' }), '/v2/x/tags/list?n=5');
});
