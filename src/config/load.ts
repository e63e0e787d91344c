/**
 * Entry points: `parseConfig` (pure: text in, frozen Config out) and
 * `loadConfigFile` (reads the file, then parses). Both throw a ConfigError
 * listing every problem found, each as `SOURCE:LINE:COL PATH: MESSAGE`.
 *
 * Schema (defaults in brackets; only `upstreams` is required):
 *   listen: "host:port"                          ["0.0.0.0:5000"; IPv6 as "[::]:5000"]
 *   upstreams:                                   non-empty list; serves docker.io
 *     - name: [a-z0-9-]+                         required, unique across the whole file (all registries)
 *       url: http(s)://host[:port][/base/path]   required; no credentials/query/fragment/"/v2" suffix
 *       weight: integer >= 0                     [1]; some non-backup upstream needs weight > 0
 *       backup: boolean                          [false]
 *       tls: { insecureSkipVerify, ca }          [false, none]
 *       timeouts: { connect, headers, idle }     [5s, 30s, 60s]
 *       maxConnections: integer >= 1             [64]
 *       breaker: { ...any global breaker key }   [the global values]
 *       redirects: { ...any global key }         [the global values; an allowHosts list replaces the global one]
 *       auth: { username, password, passwordFile } [none]; username non-empty; exactly one of password
 *                                                (non-empty string, never echoed in problems) or passwordFile
 *       dockerHub: boolean                       [true if the url's host is registry-1.docker.io, docker.io
 *                                                or index.docker.io, else false]
 *       repositoryPrefix: "a/b"                  [none]; [a-z0-9]+([._-][a-z0-9]+)* components joined by "/"
 *   registries:                                  [none]; other registries, after docker.io in file order
 *     <host[:port]>:                             the name clients use, lowercased; not docker.io,
 *                                                index.docker.io or registry-1.docker.io
 *       hosts: [host names]                      [[]]; virtual hosts, lowercased, unique across registries
 *       upstreams: [...]                         required; same items, defaults and rules as above
 *   redirects: { mode: follow|passthrough [follow], allowHosts: [host names] [[]] (lowercased),
 *                allowPrivate: boolean [false] }
 *   breaker: { errorThresholdPercentage: 1..100 [50], volumeThreshold: >= 1 [10], window [10s], resetTimeout [30s] }
 *   failover: { maxAttempts: >= 1 [3], on404: boolean [true] }
 *   log: { level: fatal|error|warn|info|debug|trace|silent [info] }
 *   shutdown: { drainTimeout: duration >= 0 [25s] }
 * String values may use `${VAR}` (see env.ts).
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { unresolvedAliases } from './aliases.js';
import { Ctx } from './context.js';
import { substituteEnv, type Env } from './env.js';
import { ConfigError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { positionAt, positionOf } from './positions.js';
import type { Config, ConfigProblem } from './types.js';
import { validateConfig } from './validate.js';

export { ConfigError, formatProblems } from './errors.js';

/** Document order reads best; the validator visits keys in schema order. Array#sort is stable. */
const byPosition = (a: ConfigProblem, b: ConfigProblem): number => a.line - b.line || a.col - b.col;

export function parseConfig(text: string, source: string, env: Env): Config {
  const lines = new LineCounter();
  // A UTF-8 BOM would otherwise count as a column on line 1.
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), {
    lineCounter: lines,
    prettyErrors: false,
    // Duplicate keys are reported by the validator, which can name the key path and the first occurrence.
    uniqueKeys: false,
  });

  const yamlProblems = [...doc.errors, ...doc.warnings].map(
    (e): ConfigProblem => ({ path: '', ...positionAt(lines, e.pos[0]), message: e.message }),
  );
  const badAliases = doc.errors.length > 0 ? [] : unresolvedAliases(doc);
  for (const alias of badAliases) {
    yamlProblems.push({ path: '', ...positionOf(lines, alias), message: `alias "*${alias.source}" has no matching anchor` });
  }
  // A tree with syntax errors is partly guesswork; validating it would add noise, not information.
  if (doc.errors.length > 0 || badAliases.length > 0) throw new ConfigError(source, yamlProblems.sort(byPosition));

  const envCtx = new Ctx(doc, lines);
  const failed = substituteEnv(doc.contents, env, (path, node, message) => envCtx.report(path, node, message));

  const ctx = new Ctx(doc, lines, failed);
  const config = validateConfig(ctx, ctx.resolve(doc.contents), source);
  const problems = [...yamlProblems, ...envCtx.problems, ...ctx.problems].sort(byPosition);
  if (problems.length > 0 || config === undefined) throw new ConfigError(source, problems);
  return deepFreeze(config);
}

function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file (ENOENT)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EISDIR':
      return 'is a directory, not a file (EISDIR)';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

export async function loadConfigFile(file: string, env: Env = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', line: 1, col: 1, message: `cannot read config file: ${describeReadError(err)}` }]);
  }
  return parseConfig(text, file, env);
}
