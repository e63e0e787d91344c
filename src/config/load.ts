/**
 * Entry points: `parseConfig` (pure: text in, frozen Config out, no file
 * system access) and `loadConfigFile` (reads the file, parses it, then
 * checks the files the config names: see "Files" below). Both throw a
 * ConfigError listing every problem found, each as
 * `SOURCE:LINE:COL PATH: MESSAGE`.
 *
 * Schema (defaults in brackets; only `upstreams` is required):
 *   listen: "host:port"                          ["0.0.0.0:5000"; IPv6 as "[::]:5000"]
 *   upstreams:                                   non-empty list; serves docker.io
 *     - name: [a-z0-9-]+                         required, unique across the whole file (all registries)
 *       url: http(s)://host[:port][/base/path]   required; no credentials/query/fragment/"/v2" suffix
 *       weight: integer >= 0                     [1]; some non-backup upstream needs weight > 0
 *       backup: boolean                          [false]
 *       tls: { insecureSkipVerify, ca }          [false, none]; ca: path of a PEM CA bundle (see Files)
 *       timeouts: { connect, headers, idle }     [5s, 30s, 60s]
 *       maxConnections: integer >= 1             [64]
 *       breaker: { ...any global breaker key }   [the global values]
 *       redirects: { ...any global key }         [the global values; an allowHosts list replaces the global one]
 *       auth: { username, password, passwordFile } [none]; username non-empty; exactly one of password
 *                                                (non-empty string, never echoed in problems) or passwordFile
 *                                                (path of a file holding the password; see Files)
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
 *   verifyDigests: boolean                       [true]  (hash blobs and manifests-by-digest while streaming)
 *   workers: integer >= 1                        [1]     (node:cluster worker processes; restart to change)
 *   log: { level: fatal|error|warn|info|debug|trace|silent [info] }
 *   shutdown: { drainTimeout: duration >= 0 [25s] }
 * String values may use `${VAR}` (see env.ts).
 *
 * Files (`tls.ca`, `auth.passwordFile`; see files.ts and file-checks.ts):
 *  - A relative path is resolved against the directory of the config file
 *    (`source`; a relative `source` is taken from the working directory),
 *    after `${VAR}` substitution. The Config holds the absolute path;
 *    absolute paths are kept as written.
 *  - `parseConfig` only checks that the value is a non-empty string.
 *    `loadConfigFile`, once the text has no problems, also requires every
 *    `ca` to be a readable regular file with a PEM certificate block and
 *    every `passwordFile` to be a readable regular file that is not empty
 *    (its content is never shown). These problems are reported at the
 *    value, all together, e.g.
 *    `conf/x.yaml:9:18 upstreams[0].tls.ca: cannot read file /etc/x.pem (ENOENT)`.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { unresolvedAliases } from './aliases.js';
import { Ctx } from './context.js';
import { substituteEnv, type Env } from './env.js';
import { ConfigError } from './errors.js';
import { checkFiles } from './file-checks.js';
import type { FileReference } from './files.js';
import { deepFreeze } from './freeze.js';
import { positionAt, positionOf } from './positions.js';
import type { Config, ConfigProblem } from './types.js';
import { validateConfig } from './validate.js';

export { ConfigError, formatProblems } from './errors.js';

/** Document order reads best; the validator visits keys in schema order. Array#sort is stable. */
const byPosition = (a: ConfigProblem, b: ConfigProblem): number => a.line - b.line || a.col - b.col;

/** What parsing finds: the Config and the files it names, for `loadConfigFile`'s checks. */
export interface ParsedConfig {
  readonly config: Config;
  /** In the order the validator read them; paths absolute, as in `config`. */
  readonly files: readonly FileReference[];
}

/** Text in, Config out. Pure: the file system is not touched (see `loadConfigFile`). */
export function parseConfig(text: string, source: string, env: Env): Config {
  return parseConfigWithFiles(text, source, env).config;
}

/** `parseConfig` plus the positions of the file paths in the text; internal to the config module. */
export function parseConfigWithFiles(text: string, source: string, env: Env): ParsedConfig {
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

  const ctx = new Ctx(doc, lines, failed, dirname(source));
  const config = validateConfig(ctx, ctx.resolve(doc.contents), source);
  const problems = [...yamlProblems, ...envCtx.problems, ...ctx.problems].sort(byPosition);
  if (problems.length > 0 || config === undefined) throw new ConfigError(source, problems);
  return deepFreeze({ config, files: ctx.files });
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
  const { config, files } = parseConfigWithFiles(text, file, env);
  // Only after a clean parse: a config with typos may name files that are not meant to be there.
  const problems = await checkFiles(files);
  if (problems.length > 0) throw new ConfigError(file, problems.sort(byPosition));
  return config;
}
