/**
 * 32-byte directory entries (fatgen103, "FAT Directory Structure" and "FAT Long
 * Directory Entries") and the DOS date and time they carry.
 *
 * Time zone: FAT stores local time without a zone. bootforge writes the UTC fields
 * of the fixed build date (SOURCE_DATE_EPOCH), so the volume reads as if its clock
 * ran on UTC, identically on every build host. Dates outside what FAT can hold
 * (1980-01-01 to 2107-12-31) are clamped to its ends, as mkfs.fat and mtools do.
 */

import { lfnChecksum } from './names.js';

export const DIR_ENTRY = 32;
export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LONG_NAME = ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_VOLUME_ID;
/** First byte of a deleted entry; a 0 first byte ends the directory. */
export const ENTRY_FREE = 0xe5;
/** Marks the last (physically first) long-name entry of a set. */
export const LAST_LONG_ENTRY = 0x40;
/** UTF-16 code units per long-name entry. */
export const LFN_UNITS = 13;
// Where the 13 code units of a long-name entry sit: 5 at byte 1, 6 at byte 14, 2 at byte 28.
const LFN_UNIT_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] as const;

export interface DosStamp {
  /** Bits 15-9 year - 1980, 8-5 month, 4-0 day. */
  readonly date: number;
  /** Bits 15-11 hours, 10-5 minutes, 4-0 seconds / 2. */
  readonly time: number;
  /** Creation time in 10 ms units, 0-199: the odd second and the hundredths the 2-second time drops. */
  readonly tenths: number;
}

const FAT_EPOCH = Date.UTC(1980, 0, 1);
const FAT_END = Date.UTC(2107, 11, 31, 23, 59, 59, 990);

/** The DOS date and time of the UTC fields of `when`, clamped to 1980-2107. */
export function dosStamp(when: Date): DosStamp {
  const d = new Date(Math.min(Math.max(when.getTime(), FAT_EPOCH), FAT_END));
  const seconds = d.getUTCSeconds();
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (seconds >> 1),
    tenths: (seconds & 1) * 100 + Math.floor(d.getUTCMilliseconds() / 10),
  };
}

/** The moment a DOS date and time name, read as UTC (the inverse of `dosStamp`). */
export function fromDosStamp(date: number, time: number, tenths = 0): Date {
  return new Date(
    Date.UTC(
      1980 + (date >> 9),
      ((date >> 5) & 0x0f) - 1,
      date & 0x1f,
      time >> 11,
      (time >> 5) & 0x3f,
      (time & 0x1f) * 2 + Math.floor(tenths / 100),
      (tenths % 100) * 10,
    ),
  );
}

export interface ShortEntry {
  /** The 11 name bytes. */
  readonly name: Uint8Array;
  readonly attr: number;
  readonly cluster: number;
  readonly size: number;
  readonly stamp: DosStamp;
}

/** Writes a short (8.3) entry at `offset`; creation, write and access times all take `stamp`. */
export function writeShortEntry(buf: Buffer, offset: number, e: ShortEntry): void {
  buf.fill(0, offset, offset + DIR_ENTRY);
  buf.set(e.name.subarray(0, 11), offset);
  buf.writeUInt8(e.attr, offset + 11);
  buf.writeUInt8(0, offset + 12); // NTRes: no lower-case flags (names that need them get long names)
  buf.writeUInt8(e.stamp.tenths, offset + 13);
  buf.writeUInt16LE(e.stamp.time, offset + 14); // CrtTime
  buf.writeUInt16LE(e.stamp.date, offset + 16); // CrtDate
  buf.writeUInt16LE(e.stamp.date, offset + 18); // LstAccDate
  buf.writeUInt16LE(e.cluster >>> 16, offset + 20); // FstClusHI
  buf.writeUInt16LE(e.stamp.time, offset + 22); // WrtTime
  buf.writeUInt16LE(e.stamp.date, offset + 24); // WrtDate
  buf.writeUInt16LE(e.cluster & 0xffff, offset + 26); // FstClusLO
  buf.writeUInt32LE(e.size, offset + 28);
}

/** How many long-name entries `name` takes. */
export function lfnEntryCount(name: string): number {
  return Math.ceil(name.length / LFN_UNITS);
}

/**
 * Writes the long-name entries of `name` at `offset`, in on-disk order: the entry
 * with the last piece of the name first (its sequence number or-ed with 0x40), the
 * one with the first piece last, just before the short entry they belong to. The
 * name ends with 0x0000 and the rest is 0xFFFF, unless it fills its last entry
 * exactly. Returns the number of entries written.
 */
export function writeLfnEntries(buf: Buffer, offset: number, name: string, shortName: Uint8Array): number {
  const count = lfnEntryCount(name);
  const checksum = lfnChecksum(shortName);
  for (let seq = 1; seq <= count; seq++) {
    const at = offset + (count - seq) * DIR_ENTRY;
    buf.fill(0, at, at + DIR_ENTRY);
    buf.writeUInt8(seq | (seq === count ? LAST_LONG_ENTRY : 0), at);
    buf.writeUInt8(ATTR_LONG_NAME, at + 11);
    buf.writeUInt8(0, at + 12); // type: a name component
    buf.writeUInt8(checksum, at + 13);
    buf.writeUInt16LE(0, at + 26); // FstClusLO: always 0
    LFN_UNIT_OFFSETS.forEach((rel, k) => {
      const index = (seq - 1) * LFN_UNITS + k;
      const unit = index < name.length ? name.charCodeAt(index) : index === name.length ? 0x0000 : 0xffff;
      buf.writeUInt16LE(unit, at + rel);
    });
  }
  return count;
}

/** The 13 code units of one long-name entry (including terminator and padding). */
export function lfnEntryUnits(entry: Uint8Array, offset: number): number[] {
  return LFN_UNIT_OFFSETS.map((rel) => (entry[offset + rel] ?? 0) | ((entry[offset + rel + 1] ?? 0) << 8));
}
