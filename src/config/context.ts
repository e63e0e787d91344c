import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { positionOf } from './positions.js';
import type { ConfigProblem } from './types.js';

/** What a value slot in the tree holds once aliases are followed; null for a key with no value at all (`? key`). */
export type ValueNode = Scalar | YAMLMap | YAMLSeq | null;

/**
 * State shared by the validators: the problems found so far (validation goes
 * on after each one so the user sees every mistake in one run) and how to
 * turn a node into a position.
 */
export class Ctx {
  readonly problems: ConfigProblem[] = [];

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    /** Nodes whose problem was reported before validation (failed `${VAR}` expansion). */
    private readonly reported: ReadonlySet<Node> = new Set(),
  ) {}

  report(path: string, node: Node | null | undefined, message: string): void {
    this.problems.push({ path, ...positionOf(this.lines, node), message });
  }

  lineOf(node: Node | null | undefined): number {
    return positionOf(this.lines, node).line;
  }

  alreadyReported(node: ValueNode): boolean {
    return node !== null && this.reported.has(node);
  }

  /** Follows `*alias` to its anchored node, so anchors work anywhere a value is expected. */
  resolve(node: unknown): ValueNode {
    const target = isAlias(node) ? node.resolve(this.doc) : node;
    return isScalar(target) || isMap(target) || isSeq(target) ? target : null;
  }
}
