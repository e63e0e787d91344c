/**
 * Values given outside the file that replace the file's own: `serve --listen ADDRESS` and
 * `MIRRORGATE_LISTEN`, so a container or a unit can move the port without editing the YAML.
 * An override replaces the value in the YAML tree before validation, as if the file said it:
 * the same checks apply, and a problem with it names where it came from instead of a line.
 */
import { isMap, type Document } from 'yaml';
import type { ConfigProblem } from './types.js';

export interface ConfigOverrides {
  /** A plain `listen` address such as "0.0.0.0:6000"; `from` is what set it ("--listen", "MIRRORGATE_LISTEN"). */
  readonly listen?: { readonly value: string; readonly from: string };
}

/**
 * Sets the overridden values in `doc` (a document whose top level is not a mapping is left for
 * the validator to reject). Returns how to relabel a problem found at an overridden key.
 */
export function applyOverrides(doc: Document, overrides: ConfigOverrides): (problem: ConfigProblem) => ConfigProblem {
  const listen = overrides.listen;
  if (listen === undefined || !isMap(doc.contents)) return (problem) => problem;
  doc.contents.set('listen', doc.createNode(listen.value));
  const at = /^listen(?![A-Za-z0-9_])/;
  return (problem) => (at.test(problem.path) ? { ...problem, path: problem.path.replace(at, `listen (from ${listen.from})`), line: 1, col: 1 } : problem);
}
