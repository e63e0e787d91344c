import type { LineCounter, Node } from 'yaml';

/** 1-based, as editors and `file:line:col` links expect. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/** Position of a byte offset in the parsed text. */
export function positionAt(lines: LineCounter, offset: number): Position {
  const { line, col } = lines.linePos(offset);
  return { line, col };
}

/**
 * Position where `node` starts. Nodes built by the parser always carry a
 * range; the 1:1 fallback only covers nodes without one (document-level
 * problems such as an empty file).
 */
export function positionOf(lines: LineCounter, node: Node | null | undefined): Position {
  const start = node?.range?.[0];
  return start === undefined ? { line: 1, col: 1 } : positionAt(lines, start);
}
