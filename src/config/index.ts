/** Public API of the config module; the other files are internals. */
export { ConfigError, formatProblems, loadConfigFile, parseConfig } from './load.js';
export { parseDuration } from './duration.js';
export { CONFIG_KEYS, type ConfigKey } from './schema.js';
export { expandEnv, type Env } from './env.js';
export type * from './types.js';
