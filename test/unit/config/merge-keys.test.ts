/**
 * YAML merge keys (`<<`): what they bring in, what wins, and what they may not do.
 */
import t from 'tap';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

const parse = (yaml: string) => parseConfig(yaml, 'conf/x.yaml', {});

function problems(yaml: string): string[] {
  try {
    parse(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

t.test('an upstream takes the settings it merges, and its own keys win', async (t) => {
  const config = parse(
    [
      'upstreams:',
      '  - &mirror { name: a, url: "https://a.example", weight: 2, maxConnections: 8, timeouts: { connect: 2s } }',
      '  - { <<: *mirror, name: b, url: "https://b.example" }',
    ].join('\n'),
  );
  const b = config.upstreams[1]!;
  t.equal(b.name, 'b');
  t.equal(b.url, 'https://b.example');
  t.equal(b.weight, 2, 'merged');
  t.equal(b.maxConnections, 8, 'merged');
  t.equal(b.timeouts.connectMs, 2000, 'a merged mapping value');
});

t.test('a list of mappings: the earlier wins; merges nest; a quoted "<<" is an ordinary key', async (t) => {
  const config = parse(
    [
      'upstreams:',
      '  - { name: a, url: "https://a.example", breaker: &quick { volumeThreshold: 5, resetTimeout: 10s } }',
      '  - name: b',
      '    <<: [{ url: "https://first.example", weight: 3 }, { url: "https://second.example", weight: 4, backup: true }]',
      '    breaker: { <<: *quick, resetTimeout: 20s }',
    ].join('\n'),
  );
  const b = config.upstreams[1]!;
  t.equal(b.url, 'https://first.example');
  t.equal(b.weight, 3);
  t.equal(b.backup, true, 'a key only the later one has');
  t.equal(b.breaker.volumeThreshold, 5);
  t.equal(b.breaker.resetTimeoutMs, 20_000);
  t.match(problems('upstreams:\n  - { name: a, url: "https://a.example", "<<": 1 }\n')[0], /upstreams\[0\]\.<<: unknown key/);
});

t.test('a chain of mappings that each merge a big one is cut off, not expanded', async (t) => {
  const keys = Array.from({ length: 2000 }, (_, i) => `k${i}: ${i}`).join(', ');
  const chain = Array.from({ length: 20 }, (_, i) => `      - &l${i + 1} { <<: *l${i}, x${i}: 1 }`).join('\n');
  const yaml = `upstreams:\n  - name: a\n    url: "https://a.example"\n    auth:\n      - &l0 { ${keys} }\n${chain}\n  - { name: b, url: "https://b.example", <<: *l20 }\n`;
  const before = process.cpuUsage();
  const lines = problems(yaml);
  const used = process.cpuUsage(before);
  t.ok(
    lines.some((line) => line.includes('merge keys bring in more than 10000 keys in this file')),
    lines.find((line) => line.includes('merge')) ?? 'no merge problem',
  );
  t.ok(used.user + used.system < 2e6, `${(used.user + used.system) / 1000} ms of CPU`);
});
