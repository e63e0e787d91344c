/**
 * Unknown keys: the first MAX_LISTED_UNKNOWN_KEYS are listed with their hints, the rest are
 * counted in one line at the first of them (a file of 40k junk keys cost 3 s of CPU in hints and
 * printed 40k lines).
 */
import t from 'tap';
import { ConfigError, parseConfig } from '../../../src/config/load.js';
import { MAX_LISTED_UNKNOWN_KEYS } from '../../../src/config/context.js';

const UPSTREAMS = 'upstreams:\n  - { name: hub, url: "https://registry-1.docker.io" }\n';

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'conf/x.yaml', {});
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

t.test('past the first 50 unknown keys, one line counts the rest', async (t) => {
  const keys = Array.from({ length: 2000 }, (_, i) => `k${i}: ${i}`).join('\n');
  const lines = problems(`${UPSTREAMS}${keys}\n`);
  t.equal(lines.length, MAX_LISTED_UNKNOWN_KEYS + 1);
  t.equal(
    lines[0],
    'conf/x.yaml:3:1 k0: unknown key; expected one of listen, access, upstreams, authority, registries, redirects, breaker, health, balance, failover, verifyDigests, cache, prefetch, workers, timeouts, log, shutdown',
  );
  t.equal(lines.at(-1), 'conf/x.yaml:53:1 k50: unknown key, and 1949 more unknown keys after it (only the first 50 are listed)');
});

t.test('other problems are still all listed, in file order with the summary', async (t) => {
  const junk = Array.from({ length: 60 }, (_, i) => `  j${i}: 1`).join('\n');
  const lines = problems(`upstreams:\n  - { name: hub, url: "https://registry-1.docker.io", weight: -1 }\nbreaker:\n${junk}\nworkers: 0\n`);
  t.equal(lines.length, MAX_LISTED_UNKNOWN_KEYS + 3);
  t.match(lines[0], /^conf\/x\.yaml:2:\d+ upstreams\[0\]\.weight: must be an integer >= 0/);
  t.match(lines.at(-2), /^conf\/x\.yaml:54:3 breaker\.j50: unknown key, and 9 more unknown keys after it/);
  t.match(lines.at(-1), /^conf\/x\.yaml:64:10 workers: must be an integer >= 1/);
});
