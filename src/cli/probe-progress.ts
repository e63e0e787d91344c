/**
 * What `mirrorgate probe` shows while it measures, on stderr (stdout is the table, or the JSON):
 * on a terminal one bar over every round of every mirror, naming the mirror being measured
 * (cli-progress); otherwise one line per round, for logs read later.
 */
import { Presets, SingleBar } from 'cli-progress';
import type { ProbeEvents, RoundResult } from './probe-measure.js';

export interface ProbeProgress {
  readonly events: ProbeEvents;
  /** Ends the bar (a terminal's cursor comes back). */
  stop(): void;
}

export function roundLine(registry: string, mirror: string, round: number, rounds: number, result: RoundResult): string {
  const what = `${registry} ${mirror} round ${round}/${rounds}`;
  if (!result.ok) return `${what}: failed: ${result.error ?? 'unknown error'}`;
  const rate = result.mibPerS === undefined ? '' : `, ${result.mibPerS.toFixed(1)} MiB/s`;
  return `${what}: ok (/v2 ${(result.pingMs ?? 0).toFixed(0)} ms${result.ttfbMs === undefined ? '' : `, TTFB ${result.ttfbMs.toFixed(0)} ms`}${rate})`;
}

export function createProbeProgress(out: NodeJS.WriteStream, total: number, rounds: number): ProbeProgress {
  if (!out.isTTY) {
    return {
      events: { roundDone: (registry, mirror, round, result) => void out.write(`${roundLine(registry, mirror, round, rounds, result)}\n`) },
      stop() {},
    };
  }
  const bar = new SingleBar(
    { stream: out, format: 'probing [{bar}] {value}/{total} rounds | {mirror}', hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  bar.start(total, 0, { mirror: '' });
  return {
    events: {
      roundStarted: (registry, mirror, round) => bar.update({ mirror: `${registry} ${mirror} (round ${round}/${rounds})` }),
      roundDone: () => bar.increment(),
    },
    stop: () => bar.stop(),
  };
}
