/** Rows of the markdown tables in a doc whose header row is exactly `header` (cells trimmed). */
export interface TableRow {
  readonly cells: readonly string[];
  /** 1-based line in the doc. */
  readonly line: number;
}

export function tableRows(markdown: string, header: readonly string[]): TableRow[] {
  const rows: TableRow[] = [];
  let inTable = false;
  markdown.split('\n').forEach((text, i) => {
    if (!text.startsWith('|')) {
      inTable = false;
      return;
    }
    const cells = text
      .slice(1, text.endsWith('|') ? -1 : undefined)
      .split(' | ')
      .map((c) => c.trim());
    if (cells.join('|') === header.join('|')) inTable = true;
    else if (inTable && !cells[0]!.startsWith('---')) rows.push({ cells, line: i + 1 });
  });
  return rows;
}
