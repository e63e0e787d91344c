/**
 * The step that tells the upstream's MirrorSpeed (balancer/mirror-speed.ts) how fast it is: the
 * time to headers of every response, and the rate of a blob body (`balance.mode: adaptive`
 * weighs mirrors by both).
 *
 * Only a body that says something about the mirror is a throughput sample: a blob's 200 or 206
 * (a 206 is one piece of a parallel cache fill, the way a caching gateway fetches its big blobs:
 * without it such a gateway would never learn a rate; that the piece shared the link with its
 * siblings is MirrorSpeed's to account for), big enough that the connection's ramp does not
 * dominate, and not held back by its sink for long (a client reading slowly through a relay
 * measures the client, not the mirror).
 */
import type { MirrorSpeed } from '../balancer/mirror-speed.js';
import type { Step } from './exchange.js';
import type { RelayedBody, RelayTiming } from './relay-handler.js';

/** Smaller bodies are mostly TCP slow start (a fresh connection at 20 ms RTT needs about 5 round trips for 256 KiB, whatever the link). */
export const MIN_SAMPLE_BYTES = 1024 * 1024;
/**
 * A body paused by its sink for more than this share of its time measured the sink (a slow
 * client through a relay). Below it, the rate is taken over the time it was not paused: a few
 * milliseconds of scheduling on a busy core must not throw away a fast mirror's 70 ms body
 * (the adaptive bench lost most fast-mirror samples to a 10 % rule), nor count against it.
 */
const MAX_PAUSED_SHARE = 0.5;

class SpeedClock implements RelayTiming {
  constructor(
    private readonly speed: MirrorSpeed,
    private readonly blob: boolean,
    private readonly inner: RelayTiming | undefined,
  ) {}

  onHeaders(seconds: number): void {
    this.speed.answered(seconds);
    this.inner?.onHeaders(seconds);
  }

  onBody(body: RelayedBody): void {
    if (this.blob && (body.status === 200 || body.status === 206) && body.bytes >= MIN_SAMPLE_BYTES && body.pausedSeconds <= MAX_PAUSED_SHARE * body.seconds) {
      this.speed.transferred(body.bytes, body.seconds, body.pausedSeconds);
    }
    this.inner?.onBody?.(body);
  }
}

export function measureSpeed(speed: MirrorSpeed): Step {
  return (next) => (exchange) => next({ ...exchange, relay: { ...exchange.relay, timing: new SpeedClock(speed, exchange.bulk, exchange.relay.timing) } });
}
