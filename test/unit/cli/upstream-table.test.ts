import t from 'tap';
import { upstreamTable } from '../../../src/cli/upstream-table.js';
import { parseConfig } from '../../../src/config/load.js';

t.test('shares are per registry and of the primaries only', async (t) => {
  const config = parseConfig(
    `upstreams:
  - { name: hub, url: "https://registry-1.docker.io", weight: 1 }
  - { name: gcr, url: "https://mirror.gcr.io", weight: 3 }
  - { name: spare, url: "https://harbor.corp", weight: 1, backup: true }
registries:
  ghcr.io:
    upstreams:
      - { name: ghcr, url: "https://ghcr.io", weight: 2 }
`,
    'x.yaml',
    {},
  );
  t.equal(
    upstreamTable(config),
    [
      'REGISTRY   NAME   URL                           WEIGHT  SHARE   BACKUP',
      'docker.io  hub    https://registry-1.docker.io  1       25.0%   no',
      'docker.io  gcr    https://mirror.gcr.io         3       75.0%   no',
      'docker.io  spare  https://harbor.corp           1       -       yes',
      'ghcr.io    ghcr   https://ghcr.io               2       100.0%  no',
    ].join('\n'),
  );
});

t.test("an authority is listed after its registry's upstreams, with the tags as its share", async (t) => {
  const config = parseConfig(
    `upstreams:
  - { name: gcr, url: "https://mirror.gcr.io" }
authority: { name: hub-tags, url: "https://registry-1.docker.io" }
cache: {}
`,
    'x.yaml',
    {},
  );
  t.equal(
    upstreamTable(config),
    [
      'REGISTRY   NAME      URL                           WEIGHT  SHARE   BACKUP',
      'docker.io  gcr       https://mirror.gcr.io         1       100.0%  no',
      'docker.io  hub-tags  https://registry-1.docker.io  -       tags    -',
    ].join('\n'),
  );
});
