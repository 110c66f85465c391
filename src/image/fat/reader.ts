/**
 * Reads a FAT32 volume back: its geometry, its directory tree (long names where
 * present and intact, short names otherwise) and its files. For `bootforge
 * inspect` and the tests; it reads volumes written by other tools too (any sector
 * size, NT lower-case flags, deleted entries), and refuses, rather than loops or
 * reads out of bounds, on a damaged one.
 */

import { BootforgeError } from '../../errors/index.js';
import { FSINFO_LEAD_SIG, FSINFO_STRUC_SIG, FSINFO_TRAIL_SIG, parseBpb } from './boot.js';
import {
  ATTR_DIRECTORY,
  ATTR_LONG_NAME,
  ATTR_VOLUME_ID,
  DIR_ENTRY,
  ENTRY_FREE,
  LAST_LONG_ENTRY,
  fromDosStamp,
  lfnEntryUnits,
} from './dirent.js';
import { MIN_CLUSTERS } from './geometry.js';
import { foldName, formatShortName, lfnChecksum } from './names.js';
import { FAT_MASK } from './table.js';
import type { Fat32Read } from './types.js';

export interface Fat32Info {
  readonly oemName: string;
  readonly bytesPerSector: number;
  readonly sectorsPerCluster: number;
  readonly bytesPerCluster: number;
  readonly reservedSectors: number;
  readonly fatCount: number;
  readonly fatSectors: number;
  readonly totalSectors: number;
  /** Bytes of the volume. */
  readonly size: number;
  readonly hiddenSectors: number;
  readonly media: number;
  readonly clusterCount: number;
  readonly rootCluster: number;
  readonly volumeId: number | undefined;
  /** The label of the root directory's label entry, else of the boot sector; trailing spaces removed; '' for none. */
  readonly label: string;
  /** Free clusters counted in the FAT. */
  readonly freeClusters: number;
  /** What FSInfo says (0xFFFFFFFF: unknown); undefined without a valid FSInfo sector. */
  readonly fsInfo: { readonly freeCount: number; readonly nextFree: number } | undefined;
}

export interface Fat32Entry {
  /** Absolute path built from the long names: `/EFI/BOOT/BOOTX64.EFI`. */
  readonly path: string;
  readonly name: string;
  /** The 8.3 name: `BOOTX64.EFI`, `LONGFI~1.TXT`. */
  readonly shortName: string;
  readonly type: 'file' | 'dir';
  readonly size: number;
  /** First cluster, 0 for an empty file. */
  readonly cluster: number;
  readonly attributes: number;
  /** Last write time, its fields read as UTC. */
  readonly mtime: Date;
}

export interface Fat32Reader {
  readonly info: Fat32Info;
  /** The entries of a directory ("/" for the root), without "." and "..", in on-disk order. */
  readDir(path: string): Promise<Fat32Entry[]>;
  /** Every file and directory, depth first, each directory before its contents. */
  list(): Promise<Fat32Entry[]>;
  /** The entry at `path` (matched without case, by long or short name), or undefined. */
  stat(path: string): Promise<Fat32Entry | undefined>;
  readFile(path: string): Promise<Buffer>;
}

/** A FAT this large (64 Mi clusters) belongs to no ESP; a hostile boot sector must not make us allocate more. */
const MAX_FAT_BYTES = 256 * 1024 * 1024;
/** FAT directories hold at most 65536 entries (Microsoft's FAT specification). */
const MAX_DIR_BYTES = 65536 * DIR_ENTRY;
/** Entries one listing returns at most: a real ESP holds tens. */
const MAX_LISTED = 100_000;

function invalid(message: string): never {
  throw new BootforgeError('BF_FAT_INVALID', message);
}

/** Opens a FAT32 volume through `read` (offsets within the volume) and checks its boot sector and FAT. */
export async function readFat32(read: Fat32Read): Promise<Fat32Reader> {
  const readExact = async (offset: number, length: number, what: string): Promise<Buffer> => {
    const b = await read(offset, length);
    if (b.length < length) invalid(`${what}: only ${b.length} of ${length} bytes at offset ${offset} could be read`);
    return b.length === length ? b : b.subarray(0, length);
  };

  const bpb = parseBpb(await readExact(0, 512, 'the boot sector'));
  if (bpb.signature !== 0xaa55) invalid('the boot sector lacks the 0x55AA signature: this is not a FAT volume');
  const bps = bpb.bytesPerSector;
  if (![512, 1024, 2048, 4096].includes(bps)) invalid(`the boot sector gives ${bps} bytes per sector`);
  const spc = bpb.sectorsPerCluster;
  if (spc === 0 || (spc & (spc - 1)) !== 0) invalid(`the boot sector gives ${spc} sectors per cluster`);
  if (bpb.fatCount === 0 || bpb.reservedSectors === 0 || bpb.fatSectors === 0)
    invalid('the boot sector gives no FAT or no reserved sectors');
  if (bpb.rootEntryCount !== 0) invalid('the volume is FAT12 or FAT16 (it has a fixed root directory), not FAT32');
  const dataSector = bpb.reservedSectors + bpb.fatCount * bpb.fatSectors;
  if (bpb.totalSectors <= dataSector) invalid('the boot sector leaves no room for data');
  const clusterCount = Math.floor((bpb.totalSectors - dataSector) / spc);
  if (clusterCount < MIN_CLUSTERS) invalid(`the volume has ${clusterCount} clusters: it is FAT12 or FAT16, not FAT32`);
  if ((bpb.fatSectors * bps) / 4 < clusterCount + 2) invalid('the FAT is too short for the clusters of the volume');
  const bytesPerCluster = bps * spc;
  const maxCluster = clusterCount + 1;

  // The active FAT: the first, unless mirroring is off (ExtFlags bit 7) and bits 0-3 pick another.
  const activeFat = bpb.extFlags & 0x80 ? bpb.extFlags & 0x0f : 0;
  if (activeFat >= bpb.fatCount) invalid(`the boot sector names FAT ${activeFat} active, of ${bpb.fatCount}`);
  const fatBytes = (clusterCount + 2) * 4;
  if (fatBytes > MAX_FAT_BYTES) invalid(`the volume has ${clusterCount} clusters, more than bootforge reads`);
  const fat = await readExact((bpb.reservedSectors + activeFat * bpb.fatSectors) * bps, fatBytes, 'the FAT');
  const entry = (n: number): number => fat.readUInt32LE(n * 4) & FAT_MASK;

  let free = 0;
  for (let n = 2; n <= maxCluster; n++) if (entry(n) === 0) free++;

  let fsInfo: Fat32Info['fsInfo'];
  if (bpb.fsInfoSector > 0 && bpb.fsInfoSector < bpb.reservedSectors) {
    const s = await readExact(bpb.fsInfoSector * bps, 512, 'the FSInfo sector');
    if (
      s.readUInt32LE(0) === FSINFO_LEAD_SIG &&
      s.readUInt32LE(484) === FSINFO_STRUC_SIG &&
      s.readUInt32LE(508) === FSINFO_TRAIL_SIG
    )
      fsInfo = { freeCount: s.readUInt32LE(488), nextFree: s.readUInt32LE(492) };
  }

  /** The clusters of the chain starting at `first`, checked for range and loops. */
  const chain = (first: number, what: string): number[] => {
    const out: number[] = [];
    let n = first;
    for (;;) {
      if (n < 2 || n > maxCluster) invalid(`${what}: the cluster chain reaches cluster ${n}, outside 2..${maxCluster}`);
      if (out.length > clusterCount) invalid(`${what}: the cluster chain loops`);
      out.push(n);
      const next = entry(n);
      if (next >= 0x0ffffff8) return out;
      if (next === 0x0ffffff7) invalid(`${what}: the cluster chain runs into a bad cluster`);
      n = next;
    }
  };
  const clusterAt = (n: number): number => (dataSector + (n - 2) * spc) * bps;

  /** The bytes of `clusters` (up to `limit` bytes), one read per run of consecutive clusters. */
  const readClusters = async (clusters: readonly number[], limit: number, what: string): Promise<Buffer> => {
    const parts: Buffer[] = [];
    let remaining = limit;
    for (let i = 0; i < clusters.length && remaining > 0;) {
      const start = clusters[i] ?? 0;
      let run = 1;
      while (i + run < clusters.length && clusters[i + run] === start + run) run++;
      const length = Math.min(run * bytesPerCluster, remaining);
      parts.push(await readExact(clusterAt(start), length, what));
      remaining -= length;
      i += run;
    }
    return Buffer.concat(parts);
  };

  /** A directory's bytes: its whole chain, which may not exceed a directory's 65536 entries. */
  const readDirChain = async (first: number, what: string): Promise<Buffer> => {
    const clusters = chain(first, what);
    if (clusters.length * bytesPerCluster > MAX_DIR_BYTES)
      invalid(`${what}: its cluster chain is longer than a directory's 65536 entries`);
    return readClusters(clusters, clusters.length * bytesPerCluster, what);
  };

  let volumeLabel: string | undefined;
  const parseDir = (raw: Buffer, dirPath: string): Fat32Entry[] => {
    const out: Fat32Entry[] = [];
    let lfn: { units: number[]; checksum: number; expect: number } | undefined;
    for (let at = 0; at + DIR_ENTRY <= raw.length; at += DIR_ENTRY) {
      const first = raw[at] ?? 0;
      if (first === 0) break;
      const attr = raw[at + 11] ?? 0;
      if (first === ENTRY_FREE) {
        lfn = undefined;
        continue;
      }
      if ((attr & 0x3f) === ATTR_LONG_NAME) {
        const seq = first & 0x1f;
        const units = lfnEntryUnits(raw, at);
        if (first & LAST_LONG_ENTRY) lfn = { units, checksum: raw[at + 13] ?? 0, expect: seq - 1 };
        else if (lfn && seq === lfn.expect && raw[at + 13] === lfn.checksum) {
          lfn.units = [...units, ...lfn.units];
          lfn.expect--;
        } else lfn = undefined;
        continue;
      }
      const nameBytes = Buffer.from(raw.subarray(at, at + 11));
      if (nameBytes[0] === 0x05) nameBytes[0] = ENTRY_FREE; // a real 0xE5 first character
      const long = lfn && lfn.expect === 0 && lfn.checksum === lfnChecksum(nameBytes) ? lfn.units : undefined;
      lfn = undefined;
      if (attr & ATTR_VOLUME_ID) {
        if (dirPath === '/' && volumeLabel === undefined) volumeLabel = nameBytes.toString('latin1').trimEnd();
        continue;
      }
      const shortName = formatShortName(nameBytes);
      if (shortName === '.' || shortName === '..') continue;
      let name = shortName;
      if (long) {
        const end = long.indexOf(0);
        name = String.fromCharCode(...(end < 0 ? long : long.slice(0, end)));
      } else {
        // NT lower-case flags: 0x08 the base, 0x10 the extension.
        const nt = raw[at + 12] ?? 0;
        const dot = shortName.indexOf('.');
        const base = dot < 0 ? shortName : shortName.slice(0, dot);
        const ext = dot < 0 ? '' : shortName.slice(dot + 1);
        name = (nt & 0x08 ? base.toLowerCase() : base) + (dot < 0 ? '' : '.' + (nt & 0x10 ? ext.toLowerCase() : ext));
      }
      const cluster = (raw.readUInt16LE(at + 20) << 16) | raw.readUInt16LE(at + 26);
      out.push({
        path: `${dirPath === '/' ? '' : dirPath}/${name}`,
        name,
        shortName,
        type: attr & ATTR_DIRECTORY ? 'dir' : 'file',
        size: attr & ATTR_DIRECTORY ? 0 : raw.readUInt32LE(at + 28),
        cluster: cluster >>> 0,
        attributes: attr,
        mtime: fromDosStamp(raw.readUInt16LE(at + 24), raw.readUInt16LE(at + 22)),
      });
    }
    return out;
  };

  const dirCache = new Map<number, Fat32Entry[]>();
  const listCluster = async (cluster: number, path: string): Promise<Fat32Entry[]> => {
    const cached = dirCache.get(cluster);
    if (cached) return cached;
    const entries = parseDir(await readDirChain(cluster, `directory ${path}`), path);
    dirCache.set(cluster, entries);
    return entries;
  };

  const root = await listCluster(bpb.rootCluster, '/');
  let label = volumeLabel ?? bpb.label?.trimEnd() ?? '';
  if (label === 'NO NAME') label = '';

  const stat = async (path: string): Promise<Fat32Entry | undefined> => {
    const parts = path.split('/').filter((p) => p !== '');
    let entries = root;
    let found: Fat32Entry | undefined;
    for (const [i, part] of parts.entries()) {
      const want = foldName(part);
      found =
        entries.find((e) => e.name === part) ??
        entries.find((e) => foldName(e.name) === want || foldName(e.shortName) === want);
      if (!found) return undefined;
      if (i < parts.length - 1) {
        if (found.type !== 'dir') return undefined;
        entries = await listCluster(found.cluster, found.path);
      }
    }
    return (
      found ?? {
        path: '/',
        name: '',
        shortName: '',
        type: 'dir',
        size: 0,
        cluster: 0,
        attributes: ATTR_DIRECTORY,
        mtime: new Date(0),
      }
    );
  };

  const readDir = async (path: string): Promise<Fat32Entry[]> => {
    const e = await stat(path);
    if (!e) invalid(`no such directory: ${path}`);
    if (e.type !== 'dir') invalid(`not a directory: ${path}`);
    // The root's own entry has cluster 0 (as ".." entries name it).
    return e.cluster === 0 ? root : listCluster(e.cluster, e.path);
  };

  const list = async (): Promise<Fat32Entry[]> => {
    const out: Fat32Entry[] = [];
    const seen = new Set<number>([bpb.rootCluster]);
    const walk = async (entries: Fat32Entry[]): Promise<void> => {
      for (const e of entries) {
        out.push(e);
        if (out.length > MAX_LISTED) invalid(`the volume holds more than ${MAX_LISTED} files and directories`);
        if (e.type !== 'dir') continue;
        if (seen.has(e.cluster) || e.cluster === 0) invalid(`${e.path}: a directory that points back into the tree`);
        seen.add(e.cluster);
        await walk(await listCluster(e.cluster, e.path));
      }
    };
    await walk(root);
    return out;
  };

  const readFile = async (path: string): Promise<Buffer> => {
    const e = await stat(path);
    if (!e) invalid(`no such file: ${path}`);
    if (e.type !== 'file') invalid(`not a file: ${path}`);
    if (e.size === 0) return Buffer.alloc(0);
    const clusters = chain(e.cluster, e.path);
    if (clusters.length * bytesPerCluster < e.size)
      invalid(`${e.path}: ${e.size} bytes do not fit its chain of ${clusters.length} clusters`);
    return readClusters(clusters, e.size, e.path);
  };

  return {
    info: {
      oemName: bpb.oemName,
      bytesPerSector: bps,
      sectorsPerCluster: spc,
      bytesPerCluster,
      reservedSectors: bpb.reservedSectors,
      fatCount: bpb.fatCount,
      fatSectors: bpb.fatSectors,
      totalSectors: bpb.totalSectors,
      size: bpb.totalSectors * bps,
      hiddenSectors: bpb.hiddenSectors,
      media: bpb.media,
      clusterCount,
      rootCluster: bpb.rootCluster,
      volumeId: bpb.volumeId,
      label,
      freeClusters: free,
      fsInfo,
    },
    readDir,
    list,
    stat,
    readFile,
  };
}
