import { MirrorSpeed } from '../../src/balancer/mirror-speed.js';

/**
 * A MirrorSpeed on a clock of its own that `body` moves on: each body ends its own seconds after
 * the one before, as bodies one after another do. MirrorSpeed splits the time of bodies that
 * overlap among them, so feeding many bodies at one instant would describe concurrent ones.
 */
export function bodiesOneAfterAnother(startMs = 0): { speed: MirrorSpeed; body(bytes: number, seconds: number, pausedSeconds?: number): void } {
  let clock = startMs;
  const speed = new MirrorSpeed(() => clock);
  return {
    speed,
    body(bytes, seconds, pausedSeconds = 0) {
      clock += 1000 * seconds;
      speed.transferred(bytes, seconds, pausedSeconds);
    },
  };
}
