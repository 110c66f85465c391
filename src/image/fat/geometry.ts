/**
 * FAT32 geometry from the volume size alone, as Microsoft's FAT specification
 * (fatgen103, "FAT Type Determination" and "FAT Volume Initialization") lays it
 * out: 512-byte sectors, 32 reserved sectors, two FATs, the cluster size from the
 * spec's FAT32 table, the FAT size from the spec's formula, and a cluster count
 * that must be at least 65525 for the volume to be FAT32 at all.
 */

import { BootforgeError } from '../../errors/index.js';

export const SECTOR = 512;
export const RESERVED_SECTORS = 32;
export const FAT_COUNT = 2;
export const ROOT_CLUSTER = 2;
export const FSINFO_SECTOR = 1;
export const BACKUP_BOOT_SECTOR = 6;
/** A volume with fewer clusters is FAT16 or FAT12 by definition (fatgen103, "FAT Type Determination"). */
export const MIN_CLUSTERS = 65525;
/** Cluster numbers run up to 0x0FFFFFF6 (0x0FFFFFF7 marks a bad cluster), so at most this many clusters. */
export const MAX_CLUSTERS = 0x0ffffff5;
/** BPB_TotSec32 is 32 bits wide. */
export const MAX_SECTORS = 0xffffffff;
/** Largest file FAT32 stores: DIR_FileSize is 32 bits wide. */
export const MAX_FILE_SIZE = 0xffffffff;

/**
 * fatgen103's DskTableFAT32: sectors per cluster by volume size in 512-byte
 * sectors. The spec's first row (up to 66600 sectors: "error") is replaced by the
 * rule it stands for — the 65525-cluster minimum — which `fat32Geometry` checks.
 */
const CLUSTER_TABLE: readonly (readonly [maxSectors: number, sectorsPerCluster: number])[] = [
  [532_480, 1], // up to 260 MB: 512 B clusters
  [16_777_216, 8], // up to 8 GB: 4 KiB
  [33_554_432, 16], // up to 16 GB: 8 KiB
  [67_108_864, 32], // up to 32 GB: 16 KiB
  [MAX_SECTORS, 64], // beyond: 32 KiB
];

/** The sectors-per-cluster values the table can pick, smallest first. */
export const CLUSTER_SIZES: readonly number[] = CLUSTER_TABLE.map(([, spc]) => spc);

export function sectorsPerClusterFor(totalSectors: number): number {
  for (const [max, spc] of CLUSTER_TABLE) if (totalSectors <= max) return spc;
  return 64;
}

/** The first volume size (in sectors) for which the table picks `spc`. */
export function firstSectorsFor(spc: number): number {
  let start = 0;
  for (const [max, s] of CLUSTER_TABLE) {
    if (s === spc) return start;
    start = max + 1;
  }
  return start;
}

export interface Fat32Geometry {
  readonly totalSectors: number;
  readonly sectorsPerCluster: number;
  readonly bytesPerCluster: number;
  /** Sectors of one FAT copy. */
  readonly fatSectors: number;
  /** Clusters of the data region, numbered 2 .. clusterCount + 1. */
  readonly clusterCount: number;
  /** First sector of the data region (cluster 2). */
  readonly dataSector: number;
}

/**
 * The layout of a FAT32 volume of `totalSectors` sectors, or undefined when it
 * would have fewer than 65525 clusters. FATSz is fatgen103's formula
 * (TmpVal1 = DskSize - ResvdSecCnt; TmpVal2 = (256 * SecPerClus + NumFATs) / 2;
 * FATSz = ceil(TmpVal1 / TmpVal2)), which can be a few sectors larger than needed
 * but never smaller; the cluster count is then derived and checked against it.
 */
export function fat32Geometry(totalSectors: number): Fat32Geometry | undefined {
  if (!Number.isInteger(totalSectors) || totalSectors <= RESERVED_SECTORS || totalSectors > MAX_SECTORS)
    return undefined;
  const spc = sectorsPerClusterFor(totalSectors);
  const tmp1 = totalSectors - RESERVED_SECTORS;
  const tmp2 = (256 * spc + FAT_COUNT) / 2;
  const fatSectors = Math.ceil(tmp1 / tmp2);
  const dataSector = RESERVED_SECTORS + FAT_COUNT * fatSectors;
  if (dataSector >= totalSectors) return undefined;
  const clusterCount = Math.floor((totalSectors - dataSector) / spc);
  if (clusterCount < MIN_CLUSTERS || clusterCount > MAX_CLUSTERS) return undefined;
  // The formula guarantees it; a FAT too short for its clusters would corrupt the volume, so check.
  if (fatSectors * (SECTOR / 4) < clusterCount + 2)
    throw new BootforgeError('BF_INTERNAL', `a FAT of ${fatSectors} sectors cannot map ${clusterCount} clusters`);
  return { totalSectors, sectorsPerCluster: spc, bytesPerCluster: spc * SECTOR, fatSectors, clusterCount, dataSector };
}

/** Byte offset (within the volume) of a data cluster. */
export function clusterOffset(g: Fat32Geometry, cluster: number): number {
  return (g.dataSector + (cluster - ROOT_CLUSTER) * g.sectorsPerCluster) * SECTOR;
}
