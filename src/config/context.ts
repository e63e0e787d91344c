import { isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { AnchorIndex } from './aliases.js';
import { resolveConfigPath, type FileKind, type FileReference, type KeyPairReference } from './file-references.js';
import { positionOf } from './positions.js';
import type { ConfigProblem } from './types.js';
import type { ValueNode } from './value-node.js';

/**
 * State shared by the validators: the problems found so far (validation goes
 * on after each one so the user sees every mistake in one run), the files
 * the config names (checked later, see file-references.ts) and how to turn a node into
 * a position.
 */
export class Ctx {
  readonly problems: ConfigProblem[] = [];
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
