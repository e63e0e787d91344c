import t from 'tap';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../../src/registry/headers.js';

t.test('only registry request headers go upstream; never the client Authorization', async (t) => {
  const out = upstreamRequestHeaders({
    host: 'docker-mirror.company.com',
    authorization: 'Basic ZG9ja2VyOmh1YnBhc3M=',
    cookie: 'session=1',
    accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    range: 'bytes=100-',
    'if-none-match': '"sha256:abc"',
    'user-agent': 'containerd/1.7',
    connection: 'keep-alive, x-custom',
    'x-custom': 'hop',
    te: 'trailers',
    'proxy-authorization': 'Basic x',
    'accept-encoding': 'gzip',
  });
  t.same(out, {
    accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    range: 'bytes=100-',
    'if-none-match': '"sha256:abc"',
    'user-agent': 'containerd/1.7',
  });
});

t.test('response headers pass through except hop-by-hop ones', async (t) => {
  const out = clientResponseHeaders({
    'content-type': 'application/vnd.oci.image.manifest.v1+json',
    'content-length': '1234',
    'docker-content-digest': 'sha256:abc',
    etag: '"sha256:abc"',
    'docker-distribution-api-version': 'registry/2.0',
    'content-range': 'bytes 0-9/100',
    'set-cookie': ['a=1', 'b=2'],
    connection: 'keep-alive, x-hop',
    'x-hop': 'gone',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    trailer: 'x-checksum',
    upgrade: 'h2c',
    'proxy-authenticate': 'Basic',
  });
  t.same(out, {
    'content-type': 'application/vnd.oci.image.manifest.v1+json',
    'content-length': '1234',
    'docker-content-digest': 'sha256:abc',
    etag: '"sha256:abc"',
    'docker-distribution-api-version': 'registry/2.0',
    'content-range': 'bytes 0-9/100',
    'set-cookie': ['a=1', 'b=2'],
  });
});
