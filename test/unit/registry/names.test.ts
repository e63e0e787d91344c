import t from 'tap';
import { upstreamName } from '../../../src/registry/names.js';

t.test('repository names upstream', async (t) => {
  t.equal(upstreamName('nginx', { dockerHub: true }), 'library/nginx');
  t.equal(upstreamName('library/nginx', { dockerHub: true }), 'library/nginx');
  t.equal(upstreamName('bitnami/redis', { dockerHub: true }), 'bitnami/redis');
  t.equal(upstreamName('nginx', { dockerHub: false }), 'nginx');
  t.equal(upstreamName('library/nginx', { dockerHub: false, repositoryPrefix: 'docker' }), 'docker/library/nginx');
  t.equal(upstreamName('nginx', { dockerHub: true, repositoryPrefix: 'proxy/hub' }), 'proxy/hub/library/nginx');
});
