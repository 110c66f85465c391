/**
 * The file allocation table of a freshly written volume. Every chain is
 * contiguous and chains follow each other from cluster 2 without gaps, so the
 * table is generated piece by piece from the chain ends alone, never held whole:
 * entry n (2 <= n <= last) points to n + 1, or holds end-of-chain where a chain ends;
 * entries past the last allocated cluster are 0 (free).
 */

import { MEDIA_FIXED } from './boot.js';

/** End of chain (fatgen103: any value >= 0x0FFFFFF8; this is what everyone writes). */
export const FAT_EOC = 0x0fffffff;
/** FAT[0]: the media byte in the low 8 bits, the other 28 bits set. */
export const FAT_ENTRY0 = 0x0fffff00 | MEDIA_FIXED;
/** FAT[1]: end of chain with ClnShutBitMask (0x08000000) and HrdErrBitMask (0x04000000) set: clean, no errors. */
export const FAT_ENTRY1 = 0x0fffffff;
/** Only the low 28 bits of a FAT32 entry are the cluster number. */
export const FAT_MASK = 0x0fffffff;

export interface Allocation {
  /** Highest allocated cluster (1 when none is). */
  readonly lastCluster: number;
  /** The last cluster of every chain. */
  readonly chainEnds: ReadonlySet<number>;
}

/** Entries `first` .. `first + count - 1` of the FAT as little-endian bytes. */
export function fatPiece(alloc: Allocation, first: number, count: number): Buffer {
  const buf = Buffer.alloc(count * 4);
  const end = Math.min(first + count, alloc.lastCluster + 1);
  for (let n = first; n < end; n++) {
    const value = n === 0 ? FAT_ENTRY0 : n === 1 ? FAT_ENTRY1 : alloc.chainEnds.has(n) ? FAT_EOC : n + 1;
    buf.writeUInt32LE(value, (n - first) * 4);
  }
  return buf;
}
