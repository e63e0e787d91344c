/**
 * How `mirrorgate probe` shows what it measured: the table ops make by hand (mirror, /v2 ms,
 * token ms, TTFB ms, MiB/s, success, verdict, weight now → suggested), the suggested weights as a
 * YAML snippet to paste into the config, or all of it as JSON for scripts. Pure: strings in,
 * strings out; the command writes them.
 */
import type { MirrorProbe, RegistryProbe } from './probe-measure.js';
import { suggestWeights, type SuggestedWeight } from './probe-weights.js';

/** A mirror below this share of its registry's fastest is called slow. */
const SLOW_SHARE = 0.25;
const MiB = 1024 * 1024;

export type Verdict = 'ok' | 'slow' | 'flaky' | 'down';

export function verdict(mirror: MirrorProbe, fastest: number | undefined): Verdict {
  if (mirror.success === 0) return 'down';
  if (mirror.success < 1) return 'flaky';
  if (mirror.mibPerS !== undefined && fastest !== undefined && mirror.mibPerS < SLOW_SHARE * fastest) return 'slow';
  return 'ok';
}

interface Row {
  readonly mirror: MirrorProbe;
  readonly verdict: Verdict;
  readonly suggestion: SuggestedWeight;
  /** The error of its last failed round. */
  readonly lastError: string | undefined;
}

function rows(probe: RegistryProbe): Row[] {
  const fastest = Math.max(...probe.mirrors.filter((m) => !m.backup && m.success > 0).map((m) => m.mibPerS ?? 0));
  const suggestions = suggestWeights(probe.mirrors);
  return probe.mirrors.map((mirror, i) => ({
    mirror,
    verdict: verdict(mirror, fastest > 0 ? fastest : undefined),
    suggestion: suggestions[i]!,
    lastError: [...mirror.rounds].reverse().find((r) => !r.ok)?.error,
  }));
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : v < 10 ? v.toFixed(1) : v.toFixed(0));
const rate = (v: number | undefined): string => (v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const pct = (v: number): string => `${Math.round(v * 100)}%`;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

function weightCell(row: Row): string {
  const { mirror, suggestion } = row;
  const to = suggestion.weight === undefined ? (suggestion.note === 'backup' ? 'backup' : '-') : String(suggestion.weight);
  return `${mirror.weight} → ${to}`;
}

/** What was measured on what, per registry: the line above its rows. */
function registryLine(probe: RegistryProbe, rounds: number): string {
  const what = probe.layer
    ? `${probe.image!.text}, layer ${probe.layer.digest.slice(0, 19)}… (${mib(probe.layer.size)}${probe.layer.platform ? `, ${probe.layer.platform}` : ''}), first ${mib(probe.layer.sample)} read per round`
    : `no throughput: ${probe.layerError ?? 'no layer'}`;
  return `${probe.registry}: ${rounds} round${rounds === 1 ? '' : 's'} per mirror; ${what}`;
}

export function probeTable(probes: readonly RegistryProbe[], rounds: number): string {
  const header = ['REGISTRY', 'MIRROR', '/V2 MS', 'TOKEN MS', 'TTFB MS', 'MIB/S', 'SUCCESS', 'VERDICT', 'WEIGHT'];
  const blocks: string[] = [];
  const all = probes.map((probe) => ({ probe, rows: rows(probe) }));
  const cells = all.flatMap(({ probe, rows }) =>
    rows.map(({ mirror, verdict: v, suggestion, ...rest }) => [
      probe.registry,
      mirror.name,
      ms(mirror.pingMs),
      ms(mirror.tokenMs),
      ms(mirror.ttfbMs),
      rate(mirror.mibPerS),
      pct(mirror.success),
      v,
      weightCell({ mirror, verdict: v, suggestion, ...rest }),
    ]),
  );
  const widths = header.map((title, col) => Math.max(title.length, ...cells.map((row) => row[col]!.length)));
  // Numbers right-aligned, names left: the table reads like the ones ops make by hand.
  const right = new Set([2, 3, 4, 5, 6]);
  const line = (row: readonly string[]): string =>
    row
      .map((cell, col) => (right.has(col) ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
      .join('  ')
      .trimEnd();
  blocks.push(...all.map(({ probe }) => registryLine(probe, rounds)), '', line(header), ...cells.map(line));
  const failures = all.flatMap(({ rows }) => rows.filter((r) => r.lastError !== undefined).map((r) => `  ${r.mirror.name}: ${r.lastError}`));
  if (failures.length > 0) blocks.push('', 'failed rounds (last error):', ...failures);
  return blocks.join('\n');
}

/** The suggested weights as config YAML: the `upstreams` lists to merge into the file (only `weight` changes). */
export function weightsYaml(probes: readonly RegistryProbe[]): string {
  const out: string[] = ['# suggested by mirrorgate probe: weights in proportion to measured throughput; merge into your config (only weight changes)'];
  const list = (probe: RegistryProbe, indent: string): void => {
    const measured = rows(probe);
    if (measured.every((r) => r.suggestion.note === 'unmeasured' || r.suggestion.note === 'backup')) {
      out.push(`${indent}# no suggestion for ${probe.registry}: ${probe.layerError ?? 'no throughput measured'}`);
    }
    for (const row of measured) {
      const { mirror, suggestion } = row;
      out.push(`${indent}- name: ${mirror.name}`, `${indent}  url: ${mirror.url}`);
      if (suggestion.weight !== undefined) {
        const note = suggestion.note === 'flaky' ? `  # flaky: ${pct(mirror.success)} of rounds succeeded` : '';
        out.push(`${indent}  weight: ${suggestion.weight}${note}`);
      } else if (suggestion.note === 'down') {
        out.push(`${indent}  weight: 0  # down: no round succeeded (${row.lastError ?? 'failed'}); 0 drains it`);
      } else if (suggestion.note === 'backup') {
        out.push(`${indent}  weight: ${mirror.weight}`, `${indent}  backup: true`);
      } else {
        out.push(`${indent}  weight: ${mirror.weight}  # unchanged: no throughput measured`);
      }
    }
  };
  const hub = probes.find((p) => p.registry === 'docker.io');
  if (hub !== undefined) {
    out.push('upstreams:');
    list(hub, '  ');
  }
  const others = probes.filter((p) => p !== hub);
  if (others.length > 0) out.push('registries:');
  for (const probe of others) {
    out.push(`  ${probe.registry}:`, '    upstreams:');
    list(probe, '      ');
  }
  return out.join('\n');
}

/** Everything, for scripts: per registry the image and layer, per mirror the medians, verdict, suggested weight and rounds. */
export function probeJson(probes: readonly RegistryProbe[], rounds: number): string {
  return JSON.stringify(
    {
      rounds,
      registries: probes.map((probe) => ({
        registry: probe.registry,
        image: probe.image?.text ?? null,
        layer: probe.layer ?? null,
        layerError: probe.layerError ?? null,
        mirrors: rows(probe).map(({ mirror, verdict: v, suggestion, lastError }) => ({
          name: mirror.name,
          url: mirror.url,
          backup: mirror.backup,
          weight: mirror.weight,
          suggestedWeight: suggestion.weight ?? null,
          note: suggestion.note ?? null,
          pingMs: mirror.pingMs ?? null,
          tokenMs: mirror.tokenMs ?? null,
          ttfbMs: mirror.ttfbMs ?? null,
          mibPerS: mirror.mibPerS ?? null,
          success: mirror.success,
          verdict: v,
          lastError: lastError ?? null,
          rounds: mirror.rounds,
        })),
      })),
    },
    null,
    2,
  );
}
