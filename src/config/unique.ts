/**
 * Values that must be unique across the whole file although they are read in
 * different places (upstream names across registries, virtual hosts). The
 * occurrences are collected first and judged in document order, so "first
 * used at line N" always points upwards, whichever section the validator
 * happened to read first.
 */
import type { Node } from 'yaml';
import type { Ctx } from './context.js';

interface Occurrence {
  readonly value: string;
  readonly path: string;
  /** Where a duplicate is reported (an alias is reported where the alias is). */
  readonly where: Node;
  /** Whose line "first used at line N" names. */
  readonly defined: Node;
}

export class UniqueValues {
  private readonly seen: Occurrence[] = [];

  add(value: string, path: string, where: Node, defined: Node = where): void {
    this.seen.push({ value, path, where, defined });
  }

  /** Reports every occurrence after the first of its value. */
  reportDuplicates(ctx: Ctx, message: (value: string, firstLine: number) => string): void {
    const start = (o: Occurrence): number => o.where.range?.[0] ?? 0;
    const firstLine = new Map<string, number>();
    for (const o of [...this.seen].sort((a, b) => start(a) - start(b))) {
      const first = firstLine.get(o.value);
      if (first === undefined) firstLine.set(o.value, ctx.lineOf(o.defined));
      else ctx.report(o.path, o.where, message(o.value, first));
    }
  }
}
