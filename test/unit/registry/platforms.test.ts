/** Picking an index's manifests for the platforms asked for, and parsing `os/arch[/variant]`. */
import t from 'tap';
import { hostPlatform, parsePlatform, selectPlatforms, type IndexEntry } from '../../../src/registry/platforms.js';

const entry = (digest: string, os: string, architecture: string, variant?: string): IndexEntry => ({
  digest,
  platform: variant === undefined ? { os, architecture } : { os, architecture, variant },
});

const INDEX: IndexEntry[] = [
  entry('sha256:amd64', 'linux', 'amd64'),
  entry('sha256:armv6', 'linux', 'arm', 'v6'),
  entry('sha256:armv7', 'linux', 'arm', 'v7'),
  entry('sha256:arm64', 'linux', 'arm64', 'v8'),
  entry('sha256:win', 'windows', 'amd64'),
  // A buildkit attestation: no usable platform.
  { digest: 'sha256:attestation', platform: { os: 'unknown', architecture: 'unknown' } },
  { digest: 'sha256:no-platform' },
];

const digests = (wanted: string[]): { entries: string[]; missing: string[] } => {
  const selection = selectPlatforms(
    INDEX,
    wanted.map((w) => parsePlatform(w)!),
  );
  return {
    entries: selection.entries.map((e) => e.digest),
    missing: selection.missing.map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/')),
  };
};

t.test('each platform asked for picks its manifest, in the order asked', async (t) => {
  t.same(digests(['linux/amd64']), { entries: ['sha256:amd64'], missing: [] });
  t.same(digests(['linux/arm64', 'linux/amd64']), { entries: ['sha256:arm64', 'sha256:amd64'], missing: [] });
  t.same(digests(['windows/amd64']), { entries: ['sha256:win'], missing: [] });
});

t.test('variants: arm64 means v8, arm means v7, an explicit one must match', async (t) => {
  t.same(digests(['linux/arm64']).entries, ['sha256:arm64'], 'linux/arm64 matches linux/arm64/v8');
  t.same(digests(['linux/arm64/v8']).entries, ['sha256:arm64']);
  t.same(digests(['linux/arm']).entries, ['sha256:armv7'], 'not the first arm entry (v6): the default variant');
  t.same(digests(['linux/arm/v6']).entries, ['sha256:armv6']);
  t.same(digests(['linux/arm64/v9']), { entries: [], missing: ['linux/arm64/v9'] });
});

t.test('platforms the index lacks are reported; repeats give one entry', async (t) => {
  t.same(digests(['linux/s390x', 'linux/amd64']), { entries: ['sha256:amd64'], missing: ['linux/s390x'] });
  t.same(digests(['linux/amd64', 'linux/amd64']).entries, ['sha256:amd64']);
  t.same(digests(['unknown/unknown']).entries, ['sha256:attestation'], 'only when asked for by that very name');
});

t.test('an arm64 index entry without a variant is v8 too', async (t) => {
  const selection = selectPlatforms([entry('sha256:bare', 'linux', 'arm64')], [{ os: 'linux', architecture: 'arm64', variant: 'v8' }]);
  t.same(
    selection.entries.map((e) => e.digest),
    ['sha256:bare'],
  );
});

t.test('parsePlatform', async (t) => {
  t.same(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  t.same(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  for (const bad of ['linux', 'linux/', '/amd64', 'linux/amd64/v8/x', 'Linux/AMD64', 'linux amd64']) t.equal(parsePlatform(bad), undefined, bad);
});

t.test('the host platform in OCI names', async (t) => {
  t.same(hostPlatform('x64', 'linux'), { os: 'linux', architecture: 'amd64' });
  t.same(hostPlatform('arm64', 'darwin'), { os: 'linux', architecture: 'arm64' }, 'images run on Linux (in the VM) on macOS');
  t.same(hostPlatform('ia32', 'win32'), { os: 'windows', architecture: '386' });
});
