/**
 * `balance: { mode: adaptive }`: each mirror's weight scaled by how fast it has been lately,
 * with its configured weight as the prior and the cap.
 *
 * A pick is worth what one request costs there: its latency beyond the pool's lowest plus the
 * time for a typical layer at its throughput. Beyond the lowest, because the part of the time to
 * headers every mirror has (the round trip out of the gateway's network, the gateway's own
 * turn) says nothing about which mirror is better, yet added to every cost it would pull their
 * ratios towards 1: 60/40/20 MiB/s mirrors 50 ms away would get 1/0.78/0.47 rather than the
 * 1/0.67/0.33 of their links, though under load only the links' rates decide how many pulls
 * each can take. A mirror further away than the others still pays for the difference. (Before
 * any body is measured, latency is all there is, and counts whole.) The fastest mirror keeps the largest configured weight of the pool (capped by
 * its own); every other one gets that weight times its speed relative to the fastest (capped by
 * its own). So with equal configured weights the shares follow the measured speeds, a mirror ops
 * weighted low stays at most that low, and weight 0 stays 0.
 *
 * What is measured weighs in by how much evidence there is (mirror-speed.ts: samples fade with
 * the half-life): a mirror measured little or long ago is taken to be as fast as the others'
 * average, not judged by a stale figure. That is also how a mirror that was slow gets traffic
 * again: its evidence fades, its weight climbs back towards its prior, it is measured anew.
 * Nothing falls below MIN_SHARE of its configured weight, so nothing is starved for good.
 */
import type { SpeedReading, SpeedView } from './mirror-speed.js';
import { MIN_SHARE } from './slow-start.js';

export interface AdaptivePeer {
  readonly name: string;
  readonly weight: number;
}

/** What one pick is taken to move: about a typical image layer. */
export const REFERENCE_BYTES = 4 * 1024 * 1024;
/**
 * Evidence worth as much as the prior: a measure counts half once it has this much behind it
 * (a few answers; one typical layer), so one odd sample moves a mirror only part of the way.
 * A fleet's pulls bring that much in seconds; a larger prior would make a gateway with little
 * traffic slow to notice a mirror that has become slow.
 */
const LATENCY_PRIOR_ANSWERS = 3;
const THROUGHPUT_PRIOR_BYTES = 4 * 1024 * 1024;

interface Measured {
  readonly latency: SpeedReading | undefined;
  readonly secondsPerByte: SpeedReading | undefined;
}

/** The effective weight of each of `peers` (before slow start), by name. */
export function adaptiveWeights<P extends AdaptivePeer>(
  peers: readonly P[],
  speedOf: (peer: P) => SpeedView,
  halfLifeMs: number,
  now: number,
): Map<string, number> {
  const measured = peers.map((peer): Measured => {
    const speed = speedOf(peer);
    const throughput = speed.throughput(halfLifeMs, now);
    return {
      latency: speed.latency(halfLifeMs, now),
      secondsPerByte: throughput === undefined ? undefined : { value: 1 / throughput.value, evidence: throughput.evidence },
    };
  });
  const latency = blended(
    measured.map((m) => m.latency),
    LATENCY_PRIOR_ANSWERS,
  );
  const secondsPerByte = blended(
    measured.map((m) => m.secondsPerByte),
    THROUGHPUT_PRIOR_BYTES,
  );
  const inPlay = (_: unknown, i: number): boolean => peers[i]!.weight > 0;
  // With no body measured anywhere there are no link times to compare: the answers' times are all there is.
  const common = secondsPerByte.some((s) => s > 0) ? Math.min(...latency.filter(inPlay)) : 0;
  const costs = peers.map((_, i) => latency[i]! - common + REFERENCE_BYTES * secondsPerByte[i]!);
  const weights = new Map<string, number>();
  const cheapest = Math.min(...costs.filter(inPlay));
  const top = Math.max(0, ...peers.map((peer) => peer.weight));
  peers.forEach((peer, i) => {
    // Nothing measured anywhere (every cost 0): the configured weights as they are.
    const relative = cheapest > 0 ? cheapest / costs[i]! : 1;
    weights.set(peer.name, peer.weight <= 0 ? 0 : Math.max(MIN_SHARE * peer.weight, Math.min(peer.weight, top * relative)));
  });
  return weights;
}

/**
 * Each reading pulled towards the evidence-weighted mean of all of them, the more the less
 * evidence it has (`prior`: evidence that counts as much as the mean); a missing reading is the
 * mean. 0 for all when nothing was measured, so the measure drops out of the cost.
 */
function blended(readings: readonly (SpeedReading | undefined)[], prior: number): number[] {
  let evidence = 0;
  let sum = 0;
  for (const reading of readings) {
    if (reading === undefined) continue;
    evidence += reading.evidence;
    sum += reading.evidence * reading.value;
  }
  const mean = evidence > 0 ? sum / evidence : 0;
  return readings.map((reading) => {
    if (reading === undefined) return mean;
    const trust = reading.evidence / (reading.evidence + prior);
    return trust * reading.value + (1 - trust) * mean;
  });
}
