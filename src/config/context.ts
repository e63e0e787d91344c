import { isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { AnchorIndex } from './aliases.js';
import { resolveConfigPath, type FileKind, type FileReference, type KeyPairReference } from './file-references.js';
import { MergeKeys } from './merge-keys.js';
import { positionOf } from './positions.js';
import type { ConfigProblem } from './types.js';
import type { ValueNode } from './value-node.js';

/**
 * State shared by the validators: the problems found so far (validation goes
 * on after each one so the user sees every mistake in one run), the files
 * the config names (checked later, see file-references.ts) and how to turn a node into
 * a position.
 */
/**
 * Unknown keys listed one by one, each with its "did you mean": a file of 40k junk keys cost 3 s
 * of CPU in `check` on those hints and printed 40k lines. The rest are counted in one line.
 */
export const MAX_LISTED_UNKNOWN_KEYS = 50;

export class Ctx {
  readonly problems: ConfigProblem[] = [];
  /** What `<<` merge keys bring into a mapping, worked out once per mapping. */
  readonly merges = new MergeKeys(this);
  #unknownKeys = 0;
  /** The line for the unknown keys past MAX_LISTED_UNKNOWN_KEYS, at the first of them. */
  #unlisted: { path: string; line: number; col: number; message: string } | undefined;
  readonly files: FileReference[] = [];
  readonly pairs: KeyPairReference[] = [];

  constructor(
    private readonly anchors: AnchorIndex,
    private readonly lines: LineCounter,
    /** Nodes whose problem was reported before validation (failed `${VAR}` expansion). */
    private readonly reported: ReadonlySet<Node> = new Set(),
    /** What relative file paths are resolved against: the config file's directory. */
    private readonly baseDir: string = '.',
  ) {}

  report(path: string, node: Node | null | undefined, message: string): void {
    this.problems.push({ path, ...positionOf(this.lines, node), message });
  }

  /** An unknown key; `message` (its hint costs an edit distance per known key) is only made for the ones listed. */
  reportUnknownKey(path: string, node: Node, message: () => string): void {
    this.#unknownKeys++;
    if (this.#unknownKeys <= MAX_LISTED_UNKNOWN_KEYS) return this.report(path, node, message());
    if (this.#unlisted === undefined) {
      this.#unlisted = { path, ...positionOf(this.lines, node), message: '' };
      this.problems.push(this.#unlisted);
    }
    const more = this.#unknownKeys - MAX_LISTED_UNKNOWN_KEYS;
    this.#unlisted.message = `unknown key, and ${more - 1} more unknown keys after it (only the first ${MAX_LISTED_UNKNOWN_KEYS} are listed)`;
  }

  /** Records a file path found at `node` and returns it resolved against the config file's directory. */
  referFile(path: string, node: Node | null | undefined, kind: FileKind, value: string): string {
    const file = resolveConfigPath(this.baseDir, value);
    this.files.push({ path, ...positionOf(this.lines, node), kind, file });
    return file;
  }

  /** Records a certificate and key (already resolved by `referFile`) to be tried together. */
  referPair(path: string, node: Node | null | undefined, cert: string, key: string): void {
    this.pairs.push({ path, ...positionOf(this.lines, node), cert, key });
  }

  /** A path from the file (a directory, say), resolved against the config file's directory, not recorded for the file checks. */
  resolvePath(value: string): string {
    return resolveConfigPath(this.baseDir, value);
  }

  lineOf(node: Node | null | undefined): number {
    return positionOf(this.lines, node).line;
  }

  alreadyReported(node: ValueNode): boolean {
    return node !== null && this.reported.has(node);
  }

  /** Follows `*alias` to its anchored node, so anchors work anywhere a value is expected. */
  resolve(node: unknown): ValueNode {
    const target = isAlias(node) ? this.anchors.target(node) : node;
    return isScalar(target) || isMap(target) || isSeq(target) ? target : null;
  }
}
