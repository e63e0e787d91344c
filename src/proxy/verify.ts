/**
 * Never serve wrong bytes: content addressed by digest (a blob, or a manifest asked for by
 * digest) is hashed while it streams, and the client's response is completed only when the
 * hash matches. The last chunk is held back until then, so on a mismatch the client gets a cut
 * connection (and retries) instead of a complete response with wrong content.
 */
import { createHash, getHashes, type Hash } from 'node:crypto';
import type { ClientTarget } from './client-target.js';

export class DigestMismatchError extends Error {
  readonly code = 'DIGEST_MISMATCH';
}

/** Registered digest algorithms (distribution spec) that node:crypto can compute. */
const SUPPORTED = new Set(['sha256', 'sha512'].filter((algorithm) => getHashes().includes(algorithm)));

/**
 * Wraps `client` to verify a full (200) response against `digest` ("sha256:<hex>"). Partial
 * responses (206) and unknown algorithms pass through unverified; clients verify those parts.
 */
export function verifyingTarget(client: ClientTarget, digest: string): ClientTarget {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const expected = digest.slice(colon + 1);
  if (!SUPPORTED.has(algorithm)) return client;
  let hash: Hash | undefined;
  let held: Buffer | undefined;
  return {
    get started() {
      return client.started;
    },
    start(status, headers) {
      client.start(status, headers);
      if (status === 200) hash = createHash(algorithm);
    },
    write(chunk) {
      if (hash === undefined) return client.write(chunk);
      hash.update(chunk);
      const previous = held;
      held = chunk;
      return previous === undefined ? true : client.write(previous);
    },
    onceDrain: (resume) => client.onceDrain(resume),
    end() {
      if (hash !== undefined) {
        const actual = hash.digest('hex');
        if (actual !== expected) throw new DigestMismatchError(`content does not match ${algorithm}:${expected.slice(0, 12)}…: got ${actual.slice(0, 12)}…`);
        if (held !== undefined) client.write(held);
      }
      client.end();
    },
  };
}
