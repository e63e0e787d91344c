/**
 * The upstream table `mirrorgate check` prints: who gets what share of the traffic, and which
 * authority (if any) resolves each registry's tags.
 */
import type { Config } from '../config/types.js';

export function upstreamTable(config: Config): string {
  const rows = config.registries.flatMap((registry) => {
    // Backups take traffic only when no primary can, so shares are of the primaries' total.
    const primaryTotal = registry.upstreams.reduce((sum, u) => (u.backup ? sum : sum + u.weight), 0);
    const rows = registry.upstreams.map((u) => [
      registry.name,
      u.name,
      u.url,
      String(u.weight),
      u.backup ? '-' : `${((100 * u.weight) / primaryTotal).toFixed(1)}%`,
      u.backup ? 'yes' : 'no',
    ]);
    // The authority takes no share of the traffic: it answers every tag's HEAD, nothing else.
    const authority = registry.authority;
    return authority === undefined ? rows : [...rows, [registry.name, authority.name, authority.url, '-', 'tags', '-']];
  });
  const header = ['REGISTRY', 'NAME', 'URL', 'WEIGHT', 'SHARE', 'BACKUP'];
  const widths = header.map((title, col) => Math.max(title.length, ...rows.map((row) => row[col]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, col) => cell.padEnd(widths[col]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
