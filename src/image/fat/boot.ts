/**
 * The reserved region of a FAT32 volume (fatgen103, "Boot Sector and BPB",
 * "FAT32 FSInfo Sector Structure and Backup Boot Sector"): the boot sector with
 * its BPB at sector 0, FSInfo at sector 1, the third boot sector at 2, and copies
 * of all three at sectors 6-8; the rest of the 32 reserved sectors are zero.
 */

import {
  BACKUP_BOOT_SECTOR,
  FAT_COUNT,
  FSINFO_SECTOR,
  RESERVED_SECTORS,
  ROOT_CLUSTER,
  SECTOR,
  type Fat32Geometry,
} from './geometry.js';

/** fatgen103 recommends this OEM name as the one least likely to upset old drivers. */
export const OEM_NAME = 'MSWIN4.1';
export const MEDIA_FIXED = 0xf8;
/** The label FAT uses when a volume has none. */
export const NO_LABEL = 'NO NAME    ';
export const FSINFO_LEAD_SIG = 0x41615252;
export const FSINFO_STRUC_SIG = 0x61417272;
export const FSINFO_TRAIL_SIG = 0xaa550000;

// Boot code at offset 90, where the jump lands: "int 18h" (boot failed: the BIOS tries
// the next device), then halt for good. A UEFI ESP is never booted through it.
const BOOT_CODE = Buffer.from([0xcd, 0x18, 0xf4, 0xeb, 0xfd]);

export interface BootParams {
  readonly geometry: Fat32Geometry;
  readonly volumeId: number;
  /** 11 bytes, space-padded. */
  readonly label: Buffer;
  /** Sectors before the volume on its disk (BPB_HiddSec): the partition's first LBA. */
  readonly hiddenSectors: number;
  readonly freeClusters: number;
  /** FSI_Nxt_Free: the last cluster allocated, as mkfs.fat, mtools and Linux read and write it. */
  readonly nextFree: number;
}

function bootSector(p: BootParams): Buffer {
  const g = p.geometry;
  const b = Buffer.alloc(SECTOR);
  b.set([0xeb, 0x58, 0x90], 0); // jmp short 0x5a; nop
  b.write(OEM_NAME, 3, 8, 'latin1');
  b.writeUInt16LE(SECTOR, 11); // BytsPerSec
  b.writeUInt8(g.sectorsPerCluster, 13);
  b.writeUInt16LE(RESERVED_SECTORS, 14);
  b.writeUInt8(FAT_COUNT, 16);
  b.writeUInt16LE(0, 17); // RootEntCnt: 0 on FAT32
  b.writeUInt16LE(0, 19); // TotSec16: 0, the count is in TotSec32
  b.writeUInt8(MEDIA_FIXED, 21);
  b.writeUInt16LE(0, 22); // FATSz16: 0 on FAT32
  b.writeUInt16LE(63, 24); // SecPerTrk and NumHeads: only INT 13h cares; the usual LBA-translated values
  b.writeUInt16LE(255, 26);
  b.writeUInt32LE(p.hiddenSectors, 28);
  b.writeUInt32LE(g.totalSectors, 32);
  b.writeUInt32LE(g.fatSectors, 36); // FATSz32
  b.writeUInt16LE(0, 40); // ExtFlags: the FATs are mirrored
  b.writeUInt16LE(0, 42); // FSVer 0.0
  b.writeUInt32LE(ROOT_CLUSTER, 44);
  b.writeUInt16LE(FSINFO_SECTOR, 48);
  b.writeUInt16LE(BACKUP_BOOT_SECTOR, 50);
  b.writeUInt8(0x80, 64); // DrvNum: a hard disk
  b.writeUInt8(0x29, 66); // BootSig: VolID, VolLab and FilSysType follow
  b.writeUInt32LE(p.volumeId, 67);
  b.set(p.label.subarray(0, 11), 71);
  b.write('FAT32   ', 82, 8, 'latin1');
  b.set(BOOT_CODE, 90);
  b.writeUInt16LE(0xaa55, 510);
  return b;
}

function fsInfoSector(p: BootParams): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeUInt32LE(FSINFO_LEAD_SIG, 0);
  b.writeUInt32LE(FSINFO_STRUC_SIG, 484);
  b.writeUInt32LE(p.freeClusters, 488);
  b.writeUInt32LE(p.nextFree, 492);
  b.writeUInt32LE(FSINFO_TRAIL_SIG, 508);
  return b;
}

/** The whole reserved region (32 sectors), ready to write at offset 0 of the volume. */
export function reservedRegion(p: BootParams): Buffer {
  const region = Buffer.alloc(RESERVED_SECTORS * SECTOR);
  const boot = bootSector(p);
  const info = fsInfoSector(p);
  // The FAT32 "boot sector" spans sectors 0-2, each ending in 0x55AA; sector 2 holds no data.
  const third = Buffer.alloc(SECTOR);
  third.writeUInt16LE(0xaa55, 510);
  for (const base of [0, BACKUP_BOOT_SECTOR]) {
    region.set(boot, base * SECTOR);
    region.set(info, (base + FSINFO_SECTOR) * SECTOR);
    region.set(third, (base + 2) * SECTOR);
  }
  return region;
}

/** The fields of a FAT32 boot sector that a reader needs. */
export interface Bpb {
  readonly oemName: string;
  readonly bytesPerSector: number;
  readonly sectorsPerCluster: number;
  readonly reservedSectors: number;
  readonly fatCount: number;
  readonly rootEntryCount: number;
  readonly totalSectors: number;
  readonly media: number;
  readonly fatSectors: number;
  readonly hiddenSectors: number;
  readonly extFlags: number;
  readonly rootCluster: number;
  readonly fsInfoSector: number;
  readonly backupBootSector: number;
  /** Present when the extended boot signature 0x29 is. */
  readonly volumeId: number | undefined;
  readonly label: string | undefined;
  readonly fsType: string | undefined;
  readonly signature: number;
}

export function parseBpb(b: Buffer): Bpb {
  const extended = b.readUInt8(66) === 0x29;
  const tot16 = b.readUInt16LE(19);
  const fat16 = b.readUInt16LE(22);
  return {
    oemName: b.toString('latin1', 3, 11),
    bytesPerSector: b.readUInt16LE(11),
    sectorsPerCluster: b.readUInt8(13),
    reservedSectors: b.readUInt16LE(14),
    fatCount: b.readUInt8(16),
    rootEntryCount: b.readUInt16LE(17),
    totalSectors: tot16 !== 0 ? tot16 : b.readUInt32LE(32),
    media: b.readUInt8(21),
    fatSectors: fat16 !== 0 ? fat16 : b.readUInt32LE(36),
    hiddenSectors: b.readUInt32LE(28),
    extFlags: b.readUInt16LE(40),
    rootCluster: b.readUInt32LE(44),
    fsInfoSector: b.readUInt16LE(48),
    backupBootSector: b.readUInt16LE(50),
    volumeId: extended ? b.readUInt32LE(67) : undefined,
    label: extended ? b.toString('latin1', 71, 82) : undefined,
    fsType: extended ? b.toString('latin1', 82, 90) : undefined,
    signature: b.readUInt16LE(510),
  };
}
