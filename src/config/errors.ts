import type { ConfigProblem } from './types.js';

/**
 * One line per problem, `SOURCE:LINE:COL PATH: MESSAGE` — the shape editors
 * and CI logs turn into clickable locations. Document-level problems (parse
 * errors, a non-mapping root) have no key path, so that part is left out.
 */
export function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${source}:${p.line}:${p.col} ${p.path === '' ? '' : `${p.path}: `}${p.message}`).join('\n');
}

/** Thrown by `parseConfig()` / `loadConfigFile()`; carries every problem found, not just the first. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly source: string;
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[]) {
    super(formatProblems(source, problems));
    this.name = 'ConfigError';
    this.source = source;
    this.problems = Object.freeze([...problems]);
  }
}
