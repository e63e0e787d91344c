/**
 * Entry points: `parseConfig` (pure: text in, frozen Config out, no file
 * system access) and `loadConfigFile` (reads the file, parses it, then
 * checks the files the config names: see "Files" below). Both throw a
 * ConfigError listing every problem found, each as
 * `SOURCE:LINE:COL PATH: MESSAGE`.
 *
 * The keys the file accepts and their defaults are listed once, in
 * schema.ts (CONFIG_KEYS), and explained in docs/configuration.md; a test
 * keeps the two in step. String values may use `${VAR}` (see env.ts).
 *
 * Files (`tls.ca`, `auth.passwordFile`, a listener's `tls.cert`/`tls.key`, `access.htpasswd`;
 * see file-references.ts and file-checks.ts):
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
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LineCounter } from 'yaml';
import { AnchorIndex } from './aliases.js';
import { Ctx } from './context.js';
import { substituteEnv, type Env } from './env.js';
import { ConfigError } from './errors.js';
import { checkFiles } from './file-checks.js';
import { checkKeyPairs } from './key-pair-checks.js';
import type { FileReference, KeyPairReference } from './file-references.js';
import { deepFreeze } from './freeze.js';
import { positionAt, positionOf } from './positions.js';
import { applyOverrides, type ConfigOverrides } from './overrides.js';
import type { Config, ConfigProblem } from './types.js';
import { validateConfig } from './validate.js';
import { parseYamlDocument } from './yaml-document.js';
import { MAX_CONFIG_DEPTH } from './nesting.js';

export { ConfigError, formatProblems } from './errors.js';
export type { ConfigOverrides } from './overrides.js';

/** Document order reads best; the validator visits keys in schema order. Array#sort is stable. */
const byPosition = (a: ConfigProblem, b: ConfigProblem): number => a.line - b.line || a.col - b.col;

/** What parsing finds: the Config and the files it names, for `loadConfigFile`'s checks. */
export interface ParsedConfig {
  readonly config: Config;
  /** In the order the validator read them; paths absolute, as in `config`. */
  readonly files: readonly FileReference[];
  /** Listener certificates and keys, tried as pairs once their files read well. */
  readonly pairs: readonly KeyPairReference[];
}

/**
 * Limits that keep one config file from freezing the gateway (issue 13). No real config comes
 * near them: the shipped one is 2 KB with no alias. Checked before the YAML is walked.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;
export const MAX_CONFIG_ALIASES = 1000;
export { MAX_CONFIG_DEPTH } from './nesting.js';

/** Text in, Config out. Pure: the file system is not touched (see `loadConfigFile`). */
export function parseConfig(text: string, source: string, env: Env, overrides: ConfigOverrides = {}): Config {
  return parseConfigWithFiles(text, source, env, overrides).config;
}

/** `parseConfig` plus the positions of the file paths in the text; internal to the config module. */
export function parseConfigWithFiles(text: string, source: string, env: Env, overrides: ConfigOverrides = {}): ParsedConfig {
  const size = Buffer.byteLength(text);
  if (size > MAX_CONFIG_BYTES) throw tooLarge(source, size);
  const lines = new LineCounter();
  // A UTF-8 BOM would otherwise count as a column on line 1.
  const parsed = parseYamlDocument(text.replace(/^\uFEFF/, ''), lines, {
    prettyErrors: false,
    // Duplicate keys are reported by the validator, which can name the key path and the first occurrence.
    uniqueKeys: false,
    // Marks plain `<<` keys; what they bring in is worked out by the validator (merge-keys.ts).
    merge: true,
  });
  if ('tooDeepAt' in parsed) {
    const message = `collections nest more than ${MAX_CONFIG_DEPTH} deep here; a config file may nest at most ${MAX_CONFIG_DEPTH} levels`;
    throw new ConfigError(source, [{ path: '', ...positionAt(lines, parsed.tooDeepAt), message }]);
  }
  const { doc } = parsed;

  const yamlProblems = [...doc.errors, ...doc.warnings].map((e): ConfigProblem => ({ path: '', ...positionAt(lines, e.pos[0]), message: e.message }));
  const anchors = new AnchorIndex(doc);
  if (anchors.count > MAX_CONFIG_ALIASES) {
    throw new ConfigError(source, [{ path: '', line: 1, col: 1, message: `the file has ${anchors.count} aliases; at most ${MAX_CONFIG_ALIASES} are allowed` }]);
  }
  const badAliases = doc.errors.length > 0 ? [] : anchors.unresolved();
  for (const alias of badAliases) {
    yamlProblems.push({ path: '', ...positionOf(lines, alias), message: `alias "*${alias.source}" has no matching anchor` });
  }
  // A tree with syntax errors is partly guesswork; validating it would add noise, not information.
  if (doc.errors.length > 0 || badAliases.length > 0) throw new ConfigError(source, yamlProblems.sort(byPosition));

  const envCtx = new Ctx(anchors, lines);
  const failed = substituteEnv(doc.contents, env, (path, node, message) => envCtx.report(path, node, message));
  const relabel = applyOverrides(doc, overrides);

  const ctx = new Ctx(anchors, lines, failed, dirname(source));
  const config = validateConfig(ctx, ctx.resolve(doc.contents), source);
  const problems = [...yamlProblems, ...envCtx.problems, ...ctx.problems.map(relabel)].sort(byPosition);
  if (problems.length > 0 || config === undefined) throw new ConfigError(source, problems);
  return deepFreeze({ config, files: ctx.files, pairs: ctx.pairs });
}

function tooLarge(source: string, size: number): ConfigError {
  return new ConfigError(source, [{ path: '', line: 1, col: 1, message: `the file is ${size} bytes; a config file may be at most ${MAX_CONFIG_BYTES} bytes` }]);
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

export async function loadConfigFile(file: string, env: Env = process.env, overrides: ConfigOverrides = {}): Promise<Config> {
  let text: string;
  try {
    // Not read at all when too large: the size check in parsing would come after the whole file is in memory.
    const { size } = await stat(file);
    if (size > MAX_CONFIG_BYTES) throw tooLarge(file, size);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, [{ path: '', line: 1, col: 1, message: `cannot read config file: ${describeReadError(err)}` }]);
  }
  const { config, files, pairs } = parseConfigWithFiles(text, file, env, overrides);
  // Only after a clean parse: a config with typos may name files that are not meant to be there.
  const problems = await checkFiles(files);
  // A pair is tried only when its files read well: a missing key is already reported.
  if (problems.length === 0) problems.push(...checkKeyPairs(pairs));
  if (problems.length > 0) throw new ConfigError(file, problems.sort(byPosition));
  return config;
}
