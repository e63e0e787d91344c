/**
 * Where a fill fetched in pieces writes (BlobFill implements it): pieces land at their offsets in
 * any order, and the fill is told when a prefix is whole, which it hashes and lets followers
 * read. The digest is still checked over the whole blob before anything is committed.
 */
export interface PieceTarget {
  /** The blob is `size` bytes and comes in pieces; false when the fill refuses it (no room on the volume). */
  startPieces(size: number): boolean;
  /** Resolves once `chunk` is in the spool at `position`. */
  writeAt(position: number, chunk: Buffer): Promise<void>;
  /** Bytes [0, end) are all written: hashed, then readable by followers. Called with growing `end`, one at a time. */
  contiguous(end: number): Promise<void>;
  /** Every byte is written and hashed: throws a DigestMismatchError unless they are the blob. */
  endPieces(): void;
}
