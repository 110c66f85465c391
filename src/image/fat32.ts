/**
 * A rootless FAT32 writer: formats a volume and fills it from a list of files in
 * one pass, as bytes handed to a callback (no mkfs, no mount, no loop device), in
 * increasing offset order, without ever holding the volume in memory. Free
 * clusters are not written, so a 2 GiB volume in a sparse image costs only what
 * its files, directories and FATs take.
 *
 * The layout follows Microsoft's FAT specification (fatgen103): see
 * `fat/geometry.ts` (sizes), `fat/boot.ts` (boot sector, FSInfo, backups),
 * `fat/table.ts` (the FAT), `fat/dirent.ts` and `fat/names.ts` (entries, short and
 * long names), `fat/tree.ts` (checks and allocation), `fat/reader.ts` (reading back).
 *
 * Written volumes are deterministic: the same options give the same bytes. Children
 * are sorted by name (UTF-16 code units), every time stamp is `timestamp` (its UTC
 * fields: FAT has no time zone), clusters are allocated from 2 upwards — the root,
 * the other directories depth first, then the files in listing order, each file in
 * one contiguous chain.
 */

import { BootforgeError } from '../errors/index.js';
import { NO_LABEL, reservedRegion } from './fat/boot.js';
import { dosStamp } from './fat/dirent.js';
import {
  CLUSTER_SIZES,
  FAT_COUNT,
  MAX_SECTORS,
  MIN_CLUSTERS,
  RESERVED_SECTORS,
  SECTOR,
  clusterOffset,
  fat32Geometry,
  firstSectorsFor,
  type Fat32Geometry,
} from './fat/geometry.js';
import { fatPiece } from './fat/table.js';
import {
  FatErrors,
  allocate,
  buildTree,
  clustersNeeded,
  encodeDirectory,
  isStream,
  type FatFileNode,
  type FatTree,
} from './fat/tree.js';
import type { Fat32Contents, Fat32Layout, Fat32Options, Fat32Write } from './fat/types.js';

export type {
  Fat32Contents,
  Fat32File,
  Fat32FileData,
  Fat32Layout,
  Fat32Options,
  Fat32Read,
  Fat32StreamSource,
  Fat32Write,
} from './fat/types.js';
export { readFat32, type Fat32Entry, type Fat32Info, type Fat32Reader } from './fat/reader.js';
export { lfnChecksum } from './fat/names.js';
export { fat32Geometry, type Fat32Geometry, MAX_FILE_SIZE } from './fat/geometry.js';
export { MAX_DEPTH, MAX_PATH } from './fat/tree.js';

/** FAT entries generated and written per piece (1 MiB of FAT). */
const FAT_PIECE_ENTRIES = 256 * 1024;
/** Up to this much of a Uint8Array file is handed to `write` at once. */
const DATA_PIECE = 8 * 1024 * 1024;

const DEFAULT_NAME = 'FAT32 volume';

function geometryFor(size: number, errors: FatErrors): Fat32Geometry {
  if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR !== 0)
    errors.fail('BF_INVALID_VALUE', `the size ${String(size)} is not a positive multiple of ${SECTOR} bytes`);
  const sectors = size / SECTOR;
  if (sectors > MAX_SECTORS)
    errors.fail(
      'BF_INVALID_VALUE',
      `${size} bytes is more than FAT32 can address (${MAX_SECTORS} sectors of ${SECTOR} bytes)`,
    );
  const g = fat32Geometry(sectors);
  if (!g)
    errors.fail(
      'BF_FAT_TOO_SMALL',
      `${size} bytes give fewer than ${MIN_CLUSTERS} clusters, so the volume could not be FAT32; it needs ${minimumFat32Size()} bytes at least`,
    );
  return g;
}

/** The smallest size (bytes) of any FAT32 volume. */
function minimumFat32Size(): number {
  let sectors = RESERVED_SECTORS + MIN_CLUSTERS;
  while (!fat32Geometry(sectors)) sectors++;
  return sectors * SECTOR;
}

export interface Fat32LayoutOptions {
  /** The size returned is a multiple of this (bytes; a multiple of 512). Default 512. Partitions usually align to 1 MiB. */
  readonly align?: number;
  /** The size returned is at least this (bytes). Default 0. */
  readonly atLeast?: number;
  /** What error messages call the volume. */
  readonly name?: string;
}

/**
 * The smallest volume (a multiple of `align`, at least `atLeast`) that holds the
 * contents, with its geometry. Use the size it returns rather than any larger
 * one: whether contents fit is not monotonic in the volume size — the cluster size
 * grows at fixed sizes (512 B to 4 KiB at 260 MiB), and the spec's FAT size steps
 * can cost a cluster — so a volume somewhat larger than one that fits may not.
 * Data sources are not read; only their sizes count.
 */
export function layoutFat32(contents: Fat32Contents, options: Fat32LayoutOptions = {}): Fat32Layout {
  const errors = new FatErrors(options.name ?? DEFAULT_NAME);
  return layoutTree(buildTree(contents, errors), options, errors);
}

function layoutTree(tree: FatTree, options: Fat32LayoutOptions, errors: FatErrors): Fat32Layout {
  const align = options.align ?? SECTOR;
  if (!Number.isSafeInteger(align) || align <= 0 || align % SECTOR !== 0)
    errors.fail('BF_INVALID_VALUE', `the alignment ${String(align)} is not a positive multiple of ${SECTOR} bytes`);
  const step = align / SECTOR;
  const roundUp = (sectors: number): number => Math.ceil(sectors / step) * step;
  const atLeast = Math.ceil(Math.max(0, options.atLeast ?? 0) / SECTOR);
  if (!(atLeast <= MAX_SECTORS))
    errors.fail('BF_INVALID_VALUE', `atLeast ${String(options.atLeast)} is more than FAT32 can address`);
  for (const spc of CLUSTER_SIZES) {
    const need = clustersNeeded(tree, spc * SECTOR);
    const clusters = Math.max(need, MIN_CLUSTERS);
    // No smaller volume can hold `clusters` clusters of this size plus a FAT that maps them.
    const lowest = RESERVED_SECTORS + FAT_COUNT * Math.ceil(((clusters + 2) * 4) / SECTOR) + clusters * spc;
    let sectors = roundUp(Math.max(lowest, atLeast, firstSectorsFor(spc)));
    while (sectors <= MAX_SECTORS) {
      const g = fat32Geometry(sectors);
      if (g && g.sectorsPerCluster > spc) break; // past this cluster size's range: try the next one
      if (g && g.clusterCount >= need)
        return {
          size: sectors * SECTOR,
          bytesPerCluster: g.bytesPerCluster,
          clusterCount: g.clusterCount,
          fatSectors: g.fatSectors,
          usedClusters: need,
          freeClusters: g.clusterCount - need,
        };
      // Short by `missing` clusters: no volume less than (missing - 1) clusters larger can hold them.
      const missing = g ? need - g.clusterCount : 1;
      sectors += Math.max(step, Math.floor(((missing - 1) * spc) / step) * step);
    }
  }
  return errors.fail(
    'BF_FAT_FULL',
    `the files need more than the largest FAT32 volume (${MAX_SECTORS * SECTOR} bytes)`,
  );
}

export interface Fat32Summary extends Fat32Layout {
  readonly volumeId: number;
}

/**
 * Formats a FAT32 volume of `options.size` bytes holding `options.files` (and
 * `options.directories`), handing its bytes to `write`. Every path, name and size
 * is checked before the first byte is written. Streamed sources are read once each,
 * in allocation order, and must yield exactly their declared size.
 */
export async function writeFat32(options: Fat32Options, write: Fat32Write): Promise<Fat32Summary> {
  const errors = new FatErrors(options.name ?? DEFAULT_NAME);
  if (!Number.isInteger(options.volumeId) || options.volumeId < 0 || options.volumeId > 0xffffffff)
    errors.fail('BF_INVALID_VALUE', `the volume ID ${String(options.volumeId)} is not an unsigned 32-bit integer`);
  if (Number.isNaN(options.timestamp.getTime())) errors.fail('BF_INVALID_VALUE', 'the time stamp is not a valid date');
  const hidden = options.hiddenSectors ?? 0;
  if (!Number.isInteger(hidden) || hidden < 0 || hidden > 0xffffffff)
    errors.fail('BF_INVALID_VALUE', `hiddenSectors ${String(hidden)} is not an unsigned 32-bit integer`);

  const tree = buildTree(options, errors);
  const g = geometryFor(options.size, errors);
  const need = clustersNeeded(tree, g.bytesPerCluster);
  if (need > g.clusterCount) {
    const fits = layoutTree(tree, { align: 2 ** 20, atLeast: options.size }, errors);
    errors.fail(
      'BF_FAT_FULL',
      `the files and directories need ${need} clusters of ${g.bytesPerCluster} bytes, the volume of ${options.size} bytes has ${g.clusterCount}; a volume of ${fits.size} bytes (${(fits.size / 2 ** 20).toFixed(1)} MiB) holds them`,
    );
  }
  const alloc = allocate(tree, g.bytesPerCluster);
  const stamp = dosStamp(options.timestamp);

  await write(
    0,
    reservedRegion({
      geometry: g,
      volumeId: options.volumeId,
      label: tree.label ?? Buffer.from(NO_LABEL, 'latin1'),
      hiddenSectors: hidden,
      freeClusters: g.clusterCount - need,
      nextFree: alloc.lastCluster,
    }),
  );

  // Both FATs whole: a target that does not read as zeros (a reused image, a flashed
  // stick that only gets the blocks a bmap lists) must see free entries as free.
  const entries = (g.fatSectors * SECTOR) / 4;
  for (let copy = 0; copy < FAT_COUNT; copy++) {
    const base = (RESERVED_SECTORS + copy * g.fatSectors) * SECTOR;
    for (let first = 0; first < entries; first += FAT_PIECE_ENTRIES)
      await write(base + first * 4, fatPiece(alloc, first, Math.min(FAT_PIECE_ENTRIES, entries - first)));
  }

  for (const dir of tree.dirs)
    await write(clusterOffset(g, dir.cluster), encodeDirectory(dir, tree, g.bytesPerCluster, stamp));

  // One cluster of zeros, shared by every file tail (never changed).
  const zeros = Buffer.alloc(g.bytesPerCluster);
  for (const file of tree.files) {
    if (file.size === 0) continue;
    const offset = clusterOffset(g, file.cluster);
    await writeFileData(file, offset, write, errors);
    const tail = file.clusters * g.bytesPerCluster - file.size;
    if (tail > 0) await write(offset + file.size, zeros.subarray(0, tail));
  }

  return {
    size: options.size,
    bytesPerCluster: g.bytesPerCluster,
    clusterCount: g.clusterCount,
    fatSectors: g.fatSectors,
    usedClusters: need,
    freeClusters: g.clusterCount - need,
    volumeId: options.volumeId,
  };
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

async function writeFileData(file: FatFileNode, offset: number, write: Fat32Write, errors: FatErrors): Promise<void> {
  const data = file.data;
  if (!isStream(data)) {
    const buf = asBuffer(data);
    for (let at = 0; at < buf.length; at += DATA_PIECE) await write(offset + at, buf.subarray(at, at + DATA_PIECE));
    return;
  }
  const chunks = data.read()[Symbol.asyncIterator]();
  let done = 0;
  let finished = false;
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await chunks.next();
      } catch (e) {
        finished = true; // a source that threw is done; do not ask it to return
        throw new BootforgeError('BF_IO', `${errors.volume}: reading "${file.path}" failed: ${String(e)}`, {
          cause: e,
        });
      }
      if (next.done === true) {
        finished = true;
        break;
      }
      const chunk = next.value;
      // Check before writing: bytes past the declared size would land in the next file's clusters.
      if (done + chunk.length > file.size)
        errors.fail('BF_IO', `"${file.path}": the source gives more than its declared ${file.size} bytes`);
      if (chunk.length > 0) await write(offset + done, asBuffer(chunk));
      done += chunk.length;
    }
  } finally {
    if (!finished) await chunks.return?.();
  }
  if (done !== file.size)
    errors.fail('BF_IO', `"${file.path}": the source gave ${done} bytes, ${file.size} were declared`);
}
