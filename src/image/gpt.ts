/**
 * The GUID Partition Table (UEFI 2.10 chapter 5), written as bytes: no loop device,
 * no partitioning tool, no root. `layoutGpt` decides where everything goes,
 * `writeGpt` returns the byte ranges that make the table, and `readGpt` reads a
 * table back and checks everything the specification lets a reader check.
 *
 * The disk, in 512-byte logical blocks (LBAs), with N the number of blocks:
 *
 *   LBA 0            protective MBR: one partition of type 0xEE over the whole disk
 *   LBA 1            primary GPT header
 *   LBA 2..33        primary entry array: 128 entries of 128 bytes
 *   LBA 34..N-34     usable: the partitions, each starting on the alignment (1 MiB)
 *   LBA N-33..N-2    backup entry array (a copy of the primary one)
 *   LBA N-1          backup GPT header (its own LBA and the entry array's differ)
 *
 * sgdisk -v and sfdisk --verify accept what this writes without a remark.
 *
 * Offsets and sizes are JavaScript numbers of bytes (exact up to 8 PiB); LBAs are
 * numbers too and become 64-bit fields only when written.
 */
import { fstat, read } from 'node:fs';
import { open } from 'node:fs/promises';
import { BootforgeError } from '../errors/index.js';
import { formatSize } from '../schema/size.js';
import { crc32 } from './crc32.js';
import { canonicalGuid, formatGuid, guidFromHash, NIL_GUID, parseGuid, type Guid } from './guid.js';

export const SECTOR_SIZE = 512;
export const GPT_ENTRY_COUNT = 128;
export const GPT_ENTRY_SIZE = 128;
/** Bytes of the header that its CRC covers (the rest of its sector is zero). */
export const GPT_HEADER_SIZE = 92;
export const GPT_NAME_MAX = 36;
export const MIB = 1024 * 1024;

const SIGNATURE = 'EFI PART';
const REVISION_1_0 = 0x00010000;
const ENTRY_ARRAY_BYTES = GPT_ENTRY_COUNT * GPT_ENTRY_SIZE;
const ENTRY_ARRAY_SECTORS = ENTRY_ARRAY_BYTES / SECTOR_SIZE; // 32
/** MBR + header + entries at the start; entries + header at the end. */
const FIRST_USABLE_LBA = 2 + ENTRY_ARRAY_SECTORS; // 34
const BACKUP_SECTORS = ENTRY_ARRAY_SECTORS + 1; // 33
const MIN_SECTORS = FIRST_USABLE_LBA + BACKUP_SECTORS; // 67: a disk with no usable block at all

/**
 * Partition attribute bits. Bits 0-2 are the UEFI specification's; 48-63 belong to
 * the partition type, and these are the ones the Discoverable Partitions
 * Specification gives Linux partition types.
 */
export const GPT_ATTRIBUTE = {
  /** The platform needs this partition to function: tools must not delete or move it. */
  requiredPartition: 1n << 0n,
  /** Firmware must not produce an EFI_BLOCK_IO_PROTOCOL for it. */
  noBlockIoProtocol: 1n << 1n,
  /** Legacy BIOS bootable (for BIOS-on-GPT boot loaders; UEFI ignores it). */
  legacyBiosBootable: 1n << 2n,
  /** Discoverable partitions: grow the file system to the partition on first mount. */
  growFileSystem: 1n << 59n,
  /** Discoverable partitions: mount read-only. */
  readOnly: 1n << 60n,
  /** Discoverable partitions: do not mount automatically (systemd-gpt-auto-generator skips it). */
  noAuto: 1n << 63n,
} as const;

export interface GptPartitionSpec {
  /** The partition's name (PARTLABEL), at most 36 UTF-16 code units, no NUL. Example: "ESP". */
  readonly name: string;
  /** Partition type GUID, e.g. PARTITION_TYPE.esp. */
  readonly type: Guid;
  /** Unique partition GUID (PARTUUID). Default: guidFromHash('bootforge.gpt.partition', diskGuid, number). */
  readonly guid?: Guid;
  /**
   * Bytes, rounded up to whole sectors. 'rest' (the last partition only, and only
   * with a diskSize) takes the space up to the last alignment boundary before the
   * backup GPT, so that it ends aligned too (sgdisk cautions about a partition that
   * does not; what is given up is less than one alignment unit).
   */
  readonly size: number | 'rest';
  /** Byte offset, a multiple of 512. Default: the previous partition's end (or LBA 34), rounded up to the alignment. */
  readonly start?: number;
  /** Attribute bits (GPT_ATTRIBUTE), an unsigned 64-bit value. Default: 0n. */
  readonly attributes?: bigint;
}

export interface GptSpec {
  /**
   * Bytes, a multiple of 512. Default: the smallest multiple of the alignment that
   * holds the partitions and the backup table (so no 'rest' partition).
   */
  readonly diskSize?: number;
  /** Only 512-byte sectors are supported (what USB sticks, SATA and NVMe disks present). Default: 512. */
  readonly sectorSize?: number;
  readonly diskGuid: Guid;
  /** In table order: the first is partition 1. At most 128. */
  readonly partitions: readonly GptPartitionSpec[];
  /** Bytes, a multiple of 512. Default: 1 MiB, which suits every flash erase block and RAID stripe in practice. */
  readonly alignment?: number;
}

/** A partition where it lies on the disk. */
export interface GptPartition {
  /** 1-based index in the entry array: the N of /dev/sdaN. */
  readonly number: number;
  readonly name: string;
  readonly type: Guid;
  readonly guid: Guid;
  readonly attributes: bigint;
  /** Offset of its first byte. */
  readonly start: number;
  /** Offset just past its last byte (exclusive): a writer fills [start, end). */
  readonly end: number;
  /** end - start. */
  readonly size: number;
  readonly firstLba: number;
  /** Inclusive, as GPT stores it. */
  readonly lastLba: number;
}

export interface GptLayout {
  readonly diskSize: number;
  readonly sectorSize: number;
  readonly alignment: number;
  readonly diskGuid: Guid;
  readonly firstUsableLba: number;
  readonly lastUsableLba: number;
  readonly backupEntriesLba: number;
  readonly backupHeaderLba: number;
  readonly partitions: readonly GptPartition[];
}

/** Bytes to put at an offset of the image. */
export interface ImageWrite {
  /** What these bytes are, for logs and errors ("primary GPT header"). */
  readonly what: string;
  readonly offset: number;
  readonly data: Buffer;
}

export interface GptImage {
  readonly layout: GptLayout;
  /** Protective MBR, primary header, primary entries, backup entries, backup header: disjoint, in this order. */
  readonly writes: readonly ImageWrite[];
}

const layoutError = (message: string, hint?: string): BootforgeError =>
  new BootforgeError('BF_IMAGE_LAYOUT', `disk layout: ${message}`, hint === undefined ? {} : { hint });

const bytes = (n: number): string => `${n} bytes (${formatSize(n)})`;
const alignUp = (n: number, to: number): number => Math.ceil(n / to) * to;
const label = (i: number, p: GptPartitionSpec): string => `partition ${i + 1} (${JSON.stringify(p.name)})`;

function checkByteCount(value: number, what: string, multipleOf: number): void {
  if (!Number.isSafeInteger(value) || value <= 0 || value % multipleOf !== 0) {
    throw layoutError(`${what} must be a positive whole number of bytes divisible by ${multipleOf}, not ${value}`);
  }
}

/** Where every part of the GPT and every partition goes. Throws BF_IMAGE_LAYOUT for a layout that cannot be. */
export function layoutGpt(spec: GptSpec): GptLayout {
  const sectorSize = spec.sectorSize ?? SECTOR_SIZE;
  if (sectorSize !== SECTOR_SIZE) {
    throw layoutError(`sector size ${sectorSize} is not supported`, 'bootforge writes images with 512-byte sectors');
  }
  const alignment = spec.alignment ?? MIB;
  checkByteCount(alignment, 'the alignment', SECTOR_SIZE);
  const diskGuid = canonicalGuid(spec.diskGuid, 'disk GUID');
  if (spec.partitions.length > GPT_ENTRY_COUNT) {
    throw layoutError(
      `${spec.partitions.length} partitions do not fit in a GPT of ${GPT_ENTRY_COUNT} entries`,
      `use at most ${GPT_ENTRY_COUNT} partitions`,
    );
  }
  if (spec.diskSize !== undefined) checkByteCount(spec.diskSize, 'the disk size', SECTOR_SIZE);
  if (spec.diskSize !== undefined && spec.diskSize / SECTOR_SIZE < MIN_SECTORS) {
    throw layoutError(
      `a disk of ${bytes(spec.diskSize)} cannot hold the two copies of a GPT, which take ${bytes(MIN_SECTORS * SECTOR_SIZE)}`,
    );
  }
  const lastUsableLba = spec.diskSize === undefined ? undefined : spec.diskSize / SECTOR_SIZE - BACKUP_SECTORS - 1;
  const usableEnd = lastUsableLba === undefined ? Infinity : (lastUsableLba + 1) * SECTOR_SIZE;

  const placed: Omit<GptPartition, 'firstLba' | 'lastLba'>[] = [];
  let cursor = FIRST_USABLE_LBA * SECTOR_SIZE;
  spec.partitions.forEach((p, i) => {
    const what = label(i, p);
    if (p.name.length > GPT_NAME_MAX) {
      throw layoutError(
        `${what}: the name has ${p.name.length} UTF-16 code units, GPT holds ${GPT_NAME_MAX}`,
        `shorten it to at most ${GPT_NAME_MAX} characters`,
      );
    }
    if (p.name.includes('\0')) throw layoutError(`${what}: the name contains a NUL character`);
    const type = canonicalGuid(p.type, `${what} type`);
    if (type === NIL_GUID) throw layoutError(`${what}: the type GUID is all zeros, which marks an unused entry`);
    const attributes = p.attributes ?? 0n;
    if (attributes < 0n || attributes >= 1n << 64n) {
      throw layoutError(`${what}: attributes 0x${attributes.toString(16)} do not fit in 64 unsigned bits`);
    }
    const guid =
      p.guid === undefined
        ? guidFromHash('bootforge.gpt.partition', diskGuid, String(i + 1))
        : canonicalGuid(p.guid, `${what} GUID`);
    if (p.start !== undefined) checkByteCount(p.start, `${what}: the start`, SECTOR_SIZE);
    const start = p.start ?? alignUp(cursor, alignment);
    if (start < FIRST_USABLE_LBA * SECTOR_SIZE) {
      throw layoutError(
        `${what} starts at byte ${start}, inside the primary GPT (the first usable byte is ${FIRST_USABLE_LBA * SECTOR_SIZE})`,
      );
    }
    let end: number;
    if (p.size === 'rest') {
      if (i !== spec.partitions.length - 1) {
        throw layoutError(`${what}: only the last partition can take the 'rest' of the disk`);
      }
      if (spec.diskSize === undefined) {
        throw layoutError(`${what} takes the 'rest' of the disk, but no disk size is given`, 'give the disk a size');
      }
      end = Math.floor(usableEnd / alignment) * alignment;
      if (end <= start) {
        throw layoutError(
          `${what} would start at byte ${start}, but the last aligned usable byte of the ${bytes(spec.diskSize)} disk is ${end - 1}: no room is left for it`,
          'make the disk larger or the partitions before it smaller',
        );
      }
    } else {
      if (!Number.isSafeInteger(p.size) || p.size <= 0) {
        throw layoutError(`${what}: the size must be a positive whole number of bytes, not ${p.size}`);
      }
      end = start + alignUp(p.size, SECTOR_SIZE);
    }
    placed.push({ number: i + 1, name: p.name, type, guid, attributes, start, end, size: end - start });
    cursor = end;
  });

  checkUnique(placed);
  checkOverlaps(placed);

  const lastEnd = Math.max(FIRST_USABLE_LBA * SECTOR_SIZE, ...placed.map((p) => p.end));
  const needed = alignUp(lastEnd + BACKUP_SECTORS * SECTOR_SIZE, alignment);
  const diskSize = spec.diskSize ?? needed;
  if (!Number.isSafeInteger(diskSize)) throw layoutError(`the disk would need ${diskSize} bytes, too many to address`);
  if (lastEnd > diskSize - BACKUP_SECTORS * SECTOR_SIZE) {
    const over = placed.find((p) => p.end === lastEnd);
    throw layoutError(
      `${over ? `partition ${over.number} (${JSON.stringify(over.name)})` : 'the layout'} ends at byte ${lastEnd - 1}, past the last usable byte ${diskSize - BACKUP_SECTORS * SECTOR_SIZE - 1} of the ${bytes(diskSize)} disk`,
      `the partitions need a disk of at least ${bytes(needed)}; make it larger or the partitions smaller`,
    );
  }
  const sectors = diskSize / SECTOR_SIZE;
  return {
    diskSize,
    sectorSize,
    alignment,
    diskGuid,
    firstUsableLba: FIRST_USABLE_LBA,
    lastUsableLba: sectors - BACKUP_SECTORS - 1,
    backupEntriesLba: sectors - BACKUP_SECTORS,
    backupHeaderLba: sectors - 1,
    partitions: placed.map((p) => ({ ...p, firstLba: p.start / SECTOR_SIZE, lastLba: p.end / SECTOR_SIZE - 1 })),
  };
}

function checkUnique(placed: readonly Omit<GptPartition, 'firstLba' | 'lastLba'>[]): void {
  const seen = new Map<Guid, number>();
  for (const p of placed) {
    const other = seen.get(p.guid);
    if (other !== undefined) {
      throw layoutError(`partitions ${other} and ${p.number} have the same GUID ${p.guid}`, 'give each its own GUID');
    }
    seen.set(p.guid, p.number);
  }
}

function checkOverlaps(placed: readonly Omit<GptPartition, 'firstLba' | 'lastLba'>[]): void {
  const sorted = [...placed].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.start < a.end) {
      throw layoutError(
        `partition ${b.number} (${JSON.stringify(b.name)}) starts at byte ${b.start}, inside partition ${a.number} (${JSON.stringify(a.name)}), bytes ${a.start}..${a.end - 1}: they overlap`,
        'move the start of the later one, or make the earlier one smaller',
      );
    }
  }
}

/**
 * The bytes of a GPT for `spec`: the same spec always gives the same bytes. The
 * partitions' contents are not here: other writers fill layout.partitions[i]'s
 * [start, end). The writes cover both whole entry arrays, unused entries included:
 * written through SparseImage they are mapped in the bmap (while staying holes), so
 * a flasher overwrites whatever entries a used stick held there.
 */
export function writeGpt(spec: GptSpec): GptImage {
  const layout = layoutGpt(spec);
  const entries = Buffer.alloc(ENTRY_ARRAY_BYTES);
  for (const p of layout.partitions) {
    const at = (p.number - 1) * GPT_ENTRY_SIZE;
    parseGuid(p.type).copy(entries, at);
    parseGuid(p.guid).copy(entries, at + 16);
    entries.writeBigUInt64LE(BigInt(p.firstLba), at + 32);
    entries.writeBigUInt64LE(BigInt(p.lastLba), at + 40);
    entries.writeBigUInt64LE(p.attributes, at + 48);
    entries.write(p.name, at + 56, GPT_NAME_MAX * 2, 'utf16le');
  }
  const entriesCrc = crc32(entries);
  const header = (myLba: number, alternateLba: number, entriesLba: number): Buffer => {
    const h = Buffer.alloc(SECTOR_SIZE);
    h.write(SIGNATURE, 0, 'latin1');
    h.writeUInt32LE(REVISION_1_0, 8);
    h.writeUInt32LE(GPT_HEADER_SIZE, 12);
    // 16: header CRC, computed below with this field zero; 20: reserved, zero.
    h.writeBigUInt64LE(BigInt(myLba), 24);
    h.writeBigUInt64LE(BigInt(alternateLba), 32);
    h.writeBigUInt64LE(BigInt(layout.firstUsableLba), 40);
    h.writeBigUInt64LE(BigInt(layout.lastUsableLba), 48);
    parseGuid(layout.diskGuid).copy(h, 56);
    h.writeBigUInt64LE(BigInt(entriesLba), 72);
    h.writeUInt32LE(GPT_ENTRY_COUNT, 80);
    h.writeUInt32LE(GPT_ENTRY_SIZE, 84);
    h.writeUInt32LE(entriesCrc, 88);
    h.writeUInt32LE(crc32(h.subarray(0, GPT_HEADER_SIZE)), 16);
    return h;
  };
  const s = SECTOR_SIZE;
  return {
    layout,
    writes: [
      { what: 'protective MBR', offset: 0, data: protectiveMbr(layout.diskSize / s) },
      { what: 'primary GPT header', offset: s, data: header(1, layout.backupHeaderLba, 2) },
      { what: 'primary GPT entries', offset: 2 * s, data: entries },
      { what: 'backup GPT entries', offset: layout.backupEntriesLba * s, data: entries },
      {
        what: 'backup GPT header',
        offset: layout.backupHeaderLba * s,
        data: header(layout.backupHeaderLba, 1, layout.backupEntriesLba),
      },
    ],
  };
}

/**
 * LBA 0 (UEFI 2.10 §5.2.3): no boot code, one partition record of type 0xEE from
 * LBA 1 to the end of the disk (its size capped at 0xFFFFFFFF blocks for disks of
 * 2 TiB and more), boot indicator 0 (a protective MBR must not be bootable), the
 * signature 55 AA. The 4-byte "unique MBR disk signature" at 440 stays zero, as the
 * specification says for a protective MBR: firmware and Linux identify the disk by
 * the GPT's disk GUID, and a value derived from it would only tempt tools to treat
 * the disk as MBR.
 */
function protectiveMbr(sectors: number): Buffer {
  const mbr = Buffer.alloc(SECTOR_SIZE);
  const rec = 446;
  mbr[rec] = 0x00; // boot indicator
  writeChs(mbr, rec + 1, 1);
  mbr[rec + 4] = 0xee;
  writeChs(mbr, rec + 5, sectors - 1);
  mbr.writeUInt32LE(1, rec + 8);
  mbr.writeUInt32LE(Math.min(sectors - 1, 0xffffffff), rec + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/**
 * A CHS address in the 255-head, 63-sector geometry every tool assumes for LBA
 * disks, or FF FF FF when the cylinder does not fit in 10 bits (past ~8 GiB), as
 * the specification asks for the ending address of the protective partition.
 */
function writeChs(buf: Buffer, at: number, lba: number): void {
  const heads = 255;
  const perTrack = 63;
  const cylinder = Math.floor(lba / (heads * perTrack));
  if (cylinder > 1023) {
    buf[at] = buf[at + 1] = buf[at + 2] = 0xff;
    return;
  }
  buf[at] = Math.floor(lba / perTrack) % heads;
  buf[at + 1] = ((lba % perTrack) + 1) | ((cylinder >> 2) & 0xc0);
  buf[at + 2] = cylinder & 0xff;
}

// ---------------------------------------------------------------------------
// Reading and verifying

/** Random access to an image: `read` returns exactly `length` bytes (zeros past the end). */
export interface BlockReader {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

/** An image in memory, a path to an image file, an open file descriptor, or a reader. */
export type GptSource = Buffer | string | number | BlockReader;

export interface GptHeaderFields {
  readonly revision: number;
  readonly headerSize: number;
  readonly headerCrc: number;
  readonly myLba: number;
  readonly alternateLba: number;
  readonly firstUsableLba: number;
  readonly lastUsableLba: number;
  readonly diskGuid: Guid;
  readonly entriesLba: number;
  readonly entryCount: number;
  readonly entrySize: number;
  readonly entriesCrc: number;
}

export interface GptHeaderCheck {
  /** The LBA it was looked for at. */
  readonly lba: number;
  /** A signature, a correct header CRC, a correct entry array CRC and sane fields. */
  readonly valid: boolean;
  /** Undefined when there is no "EFI PART" signature or the header size is impossible. */
  readonly header: GptHeaderFields | undefined;
  /** What is wrong with this copy, e.g. "header CRC is 0x1234abcd, but the header's bytes give 0x...". */
  readonly problems: readonly string[];
}

export interface GptReport {
  /** Both copies valid and identical, a correct protective MBR, partitions in range and disjoint. */
  readonly ok: boolean;
  /** Every problem found, each prefixed with what it concerns ("primary GPT header: ..."). */
  readonly problems: readonly string[];
  readonly diskSize: number;
  readonly sectorSize: number;
  readonly protectiveMbr: { readonly valid: boolean; readonly problems: readonly string[] };
  readonly primary: GptHeaderCheck;
  readonly backup: GptHeaderCheck;
  /** Which copy the table below comes from: the primary when valid, else the backup; undefined when neither is. */
  readonly source: 'primary' | 'backup' | undefined;
  readonly diskGuid: Guid | undefined;
  readonly firstUsableLba: number | undefined;
  readonly lastUsableLba: number | undefined;
  /** The used entries, in entry order. */
  readonly partitions: readonly GptPartition[];
}

/**
 * Reads the GPT of an image and verifies it: both headers (signature, revision,
 * header CRC over its own bytes with the CRC field zeroed, own and alternate LBA,
 * usable range, entry array CRC), that the two copies agree, the protective MBR,
 * and that partitions lie in the usable range without overlapping. A damaged table
 * is reported, not thrown: `inspect` shows what is wrong, and the partitions still
 * come from whichever copy is intact. Only I/O errors throw (BF_IO). A path or a
 * descriptor takes its size from fstat, which is 0 for a block device: to read a
 * device, pass a BlockReader with the device's size.
 */
export async function readGpt(source: GptSource): Promise<GptReport> {
  if (Buffer.isBuffer(source)) return verify(bufferReader(source));
  if (typeof source === 'object') return verify(source);
  const where = typeof source === 'string' ? source : `file descriptor ${source}`;
  const handle =
    typeof source === 'string' ? await open(source, 'r').catch((e: Error) => ioError(where, e)) : undefined;
  try {
    const fd = handle?.fd ?? (source as number);
    const size = await new Promise<number>((resolve, reject) =>
      fstat(fd, (e, st) => (e ? reject(e) : resolve(st.size))),
    );
    const reader: BlockReader = {
      size,
      read: (offset, length) =>
        new Promise((resolve, reject) => {
          const buf = Buffer.alloc(length);
          read(fd, buf, 0, length, offset, (e) => (e ? reject(e) : resolve(buf)));
        }),
    };
    return await verify(reader);
  } catch (e) {
    if (e instanceof BootforgeError) throw e;
    return ioError(where, e as Error);
  } finally {
    await handle?.close();
  }
}

function ioError(where: string, e: Error): never {
  throw new BootforgeError('BF_IO', `${where}: cannot read the partition table: ${e.message}`, { cause: e });
}

function bufferReader(buf: Buffer): BlockReader {
  return {
    size: buf.length,
    read: (offset, length) => {
      const out = Buffer.alloc(length);
      if (offset < buf.length) buf.copy(out, 0, offset, Math.min(buf.length, offset + length));
      return Promise.resolve(out);
    },
  };
}

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

async function verify(reader: BlockReader): Promise<GptReport> {
  const s = SECTOR_SIZE;
  const problems: string[] = [];
  const sectors = Math.floor(reader.size / s);
  const empty = (lba: number, why: string): GptHeaderCheck => ({
    lba,
    valid: false,
    header: undefined,
    problems: [why],
  });
  if (reader.size % s !== 0) problems.push(`disk: its size ${reader.size} is not a multiple of ${s} bytes`);
  if (sectors < MIN_SECTORS) {
    const why = `the disk has ${sectors} sectors, fewer than the ${MIN_SECTORS} a GPT needs`;
    return {
      ok: false,
      problems: [...problems, `disk: ${why}`],
      diskSize: reader.size,
      sectorSize: s,
      protectiveMbr: { valid: false, problems: [why] },
      primary: empty(1, why),
      backup: empty(sectors - 1, why),
      source: undefined,
      diskGuid: undefined,
      firstUsableLba: undefined,
      lastUsableLba: undefined,
      partitions: [],
    };
  }
  const lastLba = sectors - 1;

  const mbr = checkProtectiveMbr(await reader.read(0, s), sectors);
  const primaryRead = await readHeader(reader, 1, lastLba);
  // A valid primary says where its backup is. That should be the last LBA; a disk
  // enlarged after the table was written has it earlier: a problem, but the backup
  // is still read from where the primary says.
  const alternate = primaryRead.valid ? primaryRead.header?.alternateLba : undefined;
  const backupLba = alternate !== undefined && alternate > 1 && alternate <= lastLba ? alternate : lastLba;
  const backupRead = await readHeader(reader, backupLba, lastLba);
  const primary = primaryRead.check;
  const backup = backupRead.check;

  problems.push(...mbr.problems.map((p) => `protective MBR: ${p}`));
  if (alternate !== undefined && alternate !== lastLba) {
    problems.push(
      `primary GPT header: the backup header is at LBA ${alternate}, not at the last LBA ${lastLba} (was the image resized?)`,
    );
  }
  problems.push(...primary.problems.map((p) => `primary GPT header: ${p}`));
  problems.push(...backup.problems.map((p) => `backup GPT header (LBA ${backupLba}): ${p}`));
  const a = primary.header;
  const b = backup.header;
  if (primary.valid && backup.valid && a && b) {
    const fields = ['diskGuid', 'firstUsableLba', 'lastUsableLba', 'entryCount', 'entrySize', 'entriesCrc'] as const;
    for (const f of fields) {
      if (a[f] !== b[f]) problems.push(`GPT: the primary and backup headers disagree on ${f} (${a[f]} and ${b[f]})`);
    }
  }

  const chosen = primary.valid ? primaryRead : backup.valid ? backupRead : undefined;
  const partitions = chosen?.entries ? parseEntries(chosen.entries, chosen.header!) : [];
  if (chosen?.header) problems.push(...checkPartitions(partitions, chosen.header));

  return {
    ok: problems.length === 0,
    problems,
    diskSize: reader.size,
    sectorSize: s,
    protectiveMbr: mbr,
    primary,
    backup,
    source: chosen === primaryRead ? 'primary' : chosen === backupRead ? 'backup' : undefined,
    diskGuid: chosen?.header?.diskGuid,
    firstUsableLba: chosen?.header?.firstUsableLba,
    lastUsableLba: chosen?.header?.lastUsableLba,
    partitions,
  };
}

function checkProtectiveMbr(mbr: Buffer, sectors: number): { valid: boolean; problems: string[] } {
  const problems: string[] = [];
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa) problems.push('the boot signature 55 AA is missing');
  const records = [0, 1, 2, 3].map((i) => mbr.subarray(446 + 16 * i, 446 + 16 * (i + 1)));
  const protective = records.findIndex((r) => r[4] === 0xee);
  if (protective === -1) problems.push('no partition record of type 0xEE');
  else {
    const r = records[protective]!;
    const start = r.readUInt32LE(8);
    const size = r.readUInt32LE(12);
    const expected = Math.min(sectors - 1, 0xffffffff);
    if (start !== 1) problems.push(`the 0xEE record starts at LBA ${start}, not 1`);
    if (size !== expected) problems.push(`the 0xEE record covers ${size} sectors, not ${expected}`);
    if (r[0] !== 0) problems.push(`the 0xEE record is marked bootable (0x${r[0]!.toString(16)})`);
    const others = records.filter((x, i) => i !== protective && x.some((byte) => byte !== 0)).length;
    if (others > 0) problems.push(`${others} other partition record(s) are in use (a hybrid MBR)`);
  }
  return { valid: problems.length === 0, problems };
}

interface HeaderRead {
  readonly check: GptHeaderCheck;
  readonly valid: boolean;
  readonly header: GptHeaderFields | undefined;
  readonly entries: Buffer | undefined;
}

async function readHeader(reader: BlockReader, lba: number, lastLba: number): Promise<HeaderRead> {
  const s = SECTOR_SIZE;
  const sector = await reader.read(lba * s, s);
  const done = (problems: string[], header?: GptHeaderFields, entries?: Buffer): HeaderRead => ({
    check: { lba, valid: problems.length === 0, header, problems },
    valid: problems.length === 0,
    header,
    entries,
  });
  if (sector.toString('latin1', 0, 8) !== SIGNATURE) return done([`no "EFI PART" signature at LBA ${lba}`]);
  const headerSize = sector.readUInt32LE(12);
  if (headerSize < GPT_HEADER_SIZE || headerSize > s) return done([`impossible header size ${headerSize}`]);
  const u64 = (at: number): number => Number(sector.readBigUInt64LE(at));
  const header: GptHeaderFields = {
    revision: sector.readUInt32LE(8),
    headerSize,
    headerCrc: sector.readUInt32LE(16),
    myLba: u64(24),
    alternateLba: u64(32),
    firstUsableLba: u64(40),
    lastUsableLba: u64(48),
    diskGuid: formatGuid(sector, 56),
    entriesLba: u64(72),
    entryCount: sector.readUInt32LE(80),
    entrySize: sector.readUInt32LE(84),
    entriesCrc: sector.readUInt32LE(88),
  };
  const problems: string[] = [];
  const zeroed = Buffer.from(sector.subarray(0, headerSize));
  zeroed.writeUInt32LE(0, 16);
  const actualCrc = crc32(zeroed);
  if (actualCrc !== header.headerCrc) {
    // The fields are not trustworthy: report the CRC alone and do not read entries they point at.
    return done([`header CRC is ${hex32(header.headerCrc)}, but the header's bytes give ${hex32(actualCrc)}`], header);
  }
  const isPrimary = lba === 1;
  if (header.revision !== REVISION_1_0) problems.push(`revision ${hex32(header.revision)}, not 1.0 (0x00010000)`);
  if (header.myLba !== lba) problems.push(`its own LBA field says ${header.myLba}, but it is at LBA ${lba}`);
  // The primary's alternate LBA is checked against the disk's end by the caller.
  if (isPrimary ? header.alternateLba <= 1 || header.alternateLba > lastLba : header.alternateLba !== 1) {
    problems.push(`alternate LBA ${header.alternateLba} ${isPrimary ? 'is outside the disk' : 'is not 1'}`);
  }
  if (header.entrySize < 128 || header.entrySize % 128 !== 0 || (header.entrySize & (header.entrySize - 1)) !== 0) {
    problems.push(`entry size ${header.entrySize} is not 128 x 2^n`);
  }
  const arrayBytes = header.entryCount * header.entrySize;
  const arraySectors = Math.ceil(arrayBytes / s);
  if (header.entryCount === 0 || arrayBytes > 16 * MIB) problems.push(`implausible entry count ${header.entryCount}`);
  if (header.firstUsableLba > header.lastUsableLba + 1 || header.lastUsableLba >= lastLba) {
    problems.push(`usable range ${header.firstUsableLba}..${header.lastUsableLba} does not fit the disk`);
  }
  const entriesEnd = header.entriesLba + arraySectors; // exclusive
  const entriesFit = isPrimary
    ? header.entriesLba >= 2 && entriesEnd <= header.firstUsableLba
    : header.entriesLba > header.lastUsableLba && entriesEnd <= lba;
  if (!entriesFit) {
    problems.push(
      `entry array at LBA ${header.entriesLba}..${entriesEnd - 1} is not between the header and the usable range`,
    );
  }
  if (problems.length > 0) return done(problems, header);
  const entries = await reader.read(header.entriesLba * s, arrayBytes);
  const actualEntriesCrc = crc32(entries);
  if (actualEntriesCrc !== header.entriesCrc) {
    problems.push(
      `entry array CRC is ${hex32(header.entriesCrc)}, but the entries at LBA ${header.entriesLba} give ${hex32(actualEntriesCrc)}`,
    );
  }
  return done(problems, header, entries);
}

function parseEntries(entries: Buffer, header: GptHeaderFields): GptPartition[] {
  const out: GptPartition[] = [];
  for (let i = 0; i < header.entryCount; i++) {
    const e = entries.subarray(i * header.entrySize, i * header.entrySize + GPT_ENTRY_SIZE);
    const type = formatGuid(e, 0);
    if (type === NIL_GUID) continue;
    const firstLba = Number(e.readBigUInt64LE(32));
    const lastLba = Number(e.readBigUInt64LE(40));
    const rawName = e.toString('utf16le', 56, 56 + GPT_NAME_MAX * 2);
    const nul = rawName.indexOf('\0');
    out.push({
      number: i + 1,
      name: nul === -1 ? rawName : rawName.slice(0, nul),
      type,
      guid: formatGuid(e, 16),
      attributes: e.readBigUInt64LE(48),
      start: firstLba * SECTOR_SIZE,
      end: (lastLba + 1) * SECTOR_SIZE,
      size: (lastLba + 1 - firstLba) * SECTOR_SIZE,
      firstLba,
      lastLba,
    });
  }
  return out;
}

function checkPartitions(partitions: readonly GptPartition[], header: GptHeaderFields): string[] {
  const problems: string[] = [];
  for (const p of partitions) {
    if (p.lastLba < p.firstLba) problems.push(`partition ${p.number}: it ends (LBA ${p.lastLba}) before it starts`);
    else if (p.firstLba < header.firstUsableLba || p.lastLba > header.lastUsableLba) {
      problems.push(
        `partition ${p.number}: LBA ${p.firstLba}..${p.lastLba} is outside the usable range ${header.firstUsableLba}..${header.lastUsableLba}`,
      );
    }
  }
  const sorted = [...partitions].sort((x, y) => x.firstLba - y.firstLba);
  for (let i = 1; i < sorted.length; i++) {
    const x = sorted[i - 1]!;
    const y = sorted[i]!;
    if (y.firstLba <= x.lastLba) problems.push(`partition ${y.number}: it overlaps partition ${x.number}`);
  }
  const guids = new Map<Guid, number>();
  for (const p of partitions) {
    const other = guids.get(p.guid);
    if (other !== undefined) problems.push(`partition ${p.number}: same unique GUID as partition ${other}`);
    guids.set(p.guid, p.number);
  }
  return problems;
}
