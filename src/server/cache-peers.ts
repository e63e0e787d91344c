/**
 * `workers: N` with the cache on: the node:cluster wiring of the cache's peer protocol
 * (cache/peer-protocol.ts). The primary routes claims and progress between workers
 * (cache/fill-claims.ts) and cleans up after a worker that died mid-fill; each worker talks to
 * it through process.send.
 */
import cluster from 'node:cluster';
import { mkdir } from 'node:fs/promises';
import { emptyTmp, removeTmpOf } from '../cache/blob-store.js';
import { lockDir } from '../cache/dir-lock.js';
import { FillClaims } from '../cache/fill-claims.js';
import type { PeerChannel } from '../cache/peer-fills.js';
import { isPeerEnvelope, PEER_MESSAGE, type PeerEnvelope, type PeerMessage } from '../cache/peer-protocol.js';

/**
 * In the primary, before the workers fork: takes the directory's lock for the whole cluster
 * (held until the primary exits), empties the cache's `tmp/` (no fill survives a restart) and
 * routes the workers' claims from then on.
 */
export async function routeCachePeers(cacheDir: string): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  await lockDir(cacheDir);
  await emptyTmp(cacheDir);
  const send = (to: number, message: PeerMessage): void => {
    const worker = cluster.workers?.[to];
    if (worker?.isConnected()) worker.send({ type: PEER_MESSAGE, message } satisfies PeerEnvelope);
  };
  const workers = (): number[] => Object.values(cluster.workers ?? {}).flatMap((worker) => (worker === undefined ? [] : [worker.id]));
  const claims = new FillClaims(send, workers);
  cluster.on('message', (worker, envelope: unknown) => {
    if (isPeerEnvelope(envelope)) claims.receive(worker.id, envelope.message);
  });
  cluster.on('exit', (worker) => {
    claims.workerGone(worker.id);
    // Its spools: nobody will finish them, and its followers were told the fills failed.
    if (worker.process.pid !== undefined) void removeTmpOf(cacheDir, worker.process.pid);
  });
}

/** In a worker: the channel to the primary's router. */
export function workerPeerChannel(): PeerChannel {
  return {
    send: (message) => process.send?.({ type: PEER_MESSAGE, message } satisfies PeerEnvelope),
    onMessage: (listener) =>
      process.on('message', (envelope: unknown) => {
        if (isPeerEnvelope(envelope)) listener(envelope.message);
      }),
  };
}
