/**
 * GUIDs as GPT stores them. The text form (RFC 9562 §4) reads as five groups of
 * hex digits, `C12A7328-F81F-11D2-BA4B-00A0C93EC93B`; on disk (UEFI 2.10 appendix A,
 * EFI_GUID) the first three groups are little-endian integers and the last two are
 * bytes in order, so that GUID is stored as 28 73 2A C1 1F F8 D2 11 BA 4B 00 A0 C9 3E C9 3B.
 *
 * In bootforge's API a GUID is its canonical text: upper case, no braces, as sfdisk
 * and sgdisk print it, so values compare with `===` and read well in logs and tests.
 */
import { createHash } from 'node:crypto';
import { BootforgeError } from '../errors/index.js';

/** A GUID in canonical text form: 36 characters, upper-case hex digits in groups of 8-4-4-4-12. */
export type Guid = string;

export const NIL_GUID: Guid = '00000000-0000-0000-0000-000000000000';

/**
 * Partition type GUIDs bootforge writes. Sources: the UEFI specification (ESP) and
 * the Discoverable Partitions Specification (https://uapi-group.org/specifications/specs/discoverable_partitions_specification/)
 * for the Linux types, which systemd-gpt-auto-generator and systemd-repart read.
 */
export const PARTITION_TYPE = {
  /** EFI System Partition (UEFI specification, chapter 5). */
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  /** Generic Linux data ("Linux filesystem" in fdisk). */
  linuxFilesystem: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  /** Root partition for x86-64 (SD_GPT_ROOT_X86_64), found without fstab or root= by systemd. */
  linuxRootX86_64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  /** Linux swap (SD_GPT_SWAP). */
  linuxSwap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  /**
   * bootforge's installer payload (packages, generations, the install plan). Generated once
   * with crypto.randomUUID() for bootforge and fixed forever: installers find their payload
   * partition by this type, so changing it breaks every image already written.
   */
  bootforgePayload: '2F53B482-62F1-437C-8E89-CE49D72EE1EA',
} as const satisfies Record<string, Guid>;

const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** Whether `text` is a GUID in 8-4-4-4-12 form (either case, optionally in braces). */
export function isGuid(text: string): boolean {
  const m = GUID_TEXT.exec(text);
  return m !== null && text.startsWith('{') === text.endsWith('}');
}

/**
 * The canonical form of a GUID written by a person (either case, optionally in braces).
 * `what` names the value in the error, e.g. 'disk.guid'.
 */
export function canonicalGuid(text: string, what = 'GUID'): Guid {
  if (!isGuid(text)) {
    throw new BootforgeError('BF_INVALID_VALUE', `${what}: ${JSON.stringify(text)} is not a GUID`, {
      hint: 'write 32 hex digits in groups of 8-4-4-4-12, e.g. C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
    });
  }
  return text.replace(/[{}]/g, '').toUpperCase();
}

/** The 16 bytes GPT stores for a GUID (mixed-endian: see the top of this file). */
export function parseGuid(text: string, what = 'GUID'): Buffer {
  const hex = canonicalGuid(text, what).replace(/-/g, '');
  const rfc = Buffer.from(hex, 'hex');
  return rfcToDisk(rfc);
}

/** The canonical text of the GUID GPT stores at `bytes[offset..offset+16)`. */
export function formatGuid(bytes: Uint8Array, offset = 0): Guid {
  if (offset < 0 || offset + 16 > bytes.length) {
    throw new BootforgeError('BF_INTERNAL', `formatGuid: 16 bytes at ${offset} do not fit in ${bytes.length}`);
  }
  const rfc = diskToRfc(Buffer.from(bytes.buffer, bytes.byteOffset + offset, 16));
  const h = rfc.toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A GUID that depends only on `parts`, for reproducible images: the same parts give
 * the same GUID on every machine and every run; a caller that wants another value
 * (a profile's override) simply does not call this.
 *
 * Derivation: SHA-256 over the tag "bootforge.guid.v1\0" followed, for each part, by
 * its length as a 64-bit big-endian integer and its bytes (strings as UTF-8). The
 * length prefixes keep ("ab", "c") and ("a", "bc") apart. The first 16 bytes of the
 * digest, in RFC byte order, become the GUID, with the version set to 4 and the
 * variant to RFC 4122 (10xx).
 *
 * Why version 4 and not 5 or 8: version 5 is defined as SHA-1 over a namespace and a
 * name, which this is not; version 8 (RFC 9562 "custom") would describe it exactly
 * but is newer than some validators that accept only versions 1-5. A hash output is
 * indistinguishable from the 122 random bits version 4 promises, and systemd-repart
 * stamps its hash-derived partition UUIDs as version 4 in the same way, so firmware,
 * libblkid and udev treat these like any other GUID.
 */
export function guidFromHash(...parts: (string | Uint8Array)[]): Guid {
  const hash = createHash('sha256').update('bootforge.guid.v1\0');
  const length = Buffer.alloc(8);
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    length.writeBigUInt64BE(BigInt(bytes.length));
    hash.update(length).update(bytes);
  }
  const rfc = hash.digest().subarray(0, 16);
  rfc[6] = (rfc[6]! & 0x0f) | 0x40; // version 4 in the high nibble of time_hi_and_version
  rfc[8] = (rfc[8]! & 0x3f) | 0x80; // variant 10xx (RFC 4122 / 9562)
  return formatGuid(rfcToDisk(rfc));
}

/** RFC (big-endian) byte order to GPT's: the first three fields are reversed in place. */
function rfcToDisk(rfc: Buffer): Buffer {
  const out = Buffer.from(rfc);
  out.writeUInt32LE(rfc.readUInt32BE(0), 0);
  out.writeUInt16LE(rfc.readUInt16BE(4), 4);
  out.writeUInt16LE(rfc.readUInt16BE(6), 6);
  return out;
}

function diskToRfc(disk: Buffer): Buffer {
  const out = Buffer.from(disk);
  out.writeUInt32BE(disk.readUInt32LE(0), 0);
  out.writeUInt16BE(disk.readUInt16LE(4), 4);
  out.writeUInt16BE(disk.readUInt16LE(6), 6);
  return out;
}
