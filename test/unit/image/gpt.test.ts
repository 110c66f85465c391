import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BootforgeError } from '../../../src/errors/index.js';
import { crc32 } from '../../../src/image/crc32.js';
import {
  GPT_ATTRIBUTE,
  layoutGpt,
  MIB,
  readGpt,
  writeGpt,
  type GptImage,
  type GptSpec,
} from '../../../src/image/gpt.js';
import { formatGuid, guidFromHash, parseGuid, PARTITION_TYPE } from '../../../src/image/guid.js';
import { thrown } from '../../helpers/errors.js';

const DISK = guidFromHash('test', 'disk');

const twoParts = (diskSize = 64 * MIB, espSize = 16 * MIB): GptSpec => ({
  diskSize,
  diskGuid: DISK,
  partitions: [
    { name: 'ESP', type: PARTITION_TYPE.esp, size: espSize, attributes: GPT_ATTRIBUTE.requiredPartition },
    { name: 'payload', type: PARTITION_TYPE.bootforgePayload, size: 'rest', attributes: GPT_ATTRIBUTE.noAuto },
  ],
});

/** The whole disk in memory (fine for a few MiB). */
function assemble(image: GptImage): Buffer {
  const disk = Buffer.alloc(image.layout.diskSize);
  for (const w of image.writes) w.data.copy(disk, w.offset);
  return disk;
}

const layoutError = (spec: GptSpec): BootforgeError => thrown(() => layoutGpt(spec));

const tmp = mkdtempSync(join(tmpdir(), 'bootforge-gpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('layoutGpt', () => {
  it('aligns partitions to 1 MiB and lets the last take the rest up to an aligned end', () => {
    const layout = layoutGpt(twoParts());
    expect(layout.firstUsableLba).toBe(34);
    expect(layout.lastUsableLba).toBe(131072 - 34);
    expect(layout.backupEntriesLba).toBe(131072 - 33);
    expect(layout.backupHeaderLba).toBe(131071);
    expect(layout.partitions.map((p) => [p.number, p.start, p.end, p.size, p.firstLba, p.lastLba])).toEqual([
      [1, MIB, 17 * MIB, 16 * MIB, 2048, 34815],
      [2, 17 * MIB, 63 * MIB, 46 * MIB, 34816, 129023],
    ]);
  });

  it('computes the smallest aligned disk when no size is given', () => {
    const layout = layoutGpt({
      diskGuid: DISK,
      partitions: [
        { name: 'a', type: PARTITION_TYPE.esp, size: 3 * MIB },
        { name: 'b', type: PARTITION_TYPE.linuxFilesystem, size: 5 * MIB + 1 },
      ],
    });
    // 1 MiB before, 3 MiB, 5 MiB + one sector (rounded up), then the backup GPT: 10 MiB.
    expect(layout.partitions.map((p) => [p.start, p.size])).toEqual([
      [MIB, 3 * MIB],
      [4 * MIB, 5 * MIB + 512],
    ]);
    expect(layout.diskSize).toBe(10 * MIB);
  });

  it('honours explicit starts and another alignment', () => {
    const layout = layoutGpt({
      diskSize: 32 * MIB,
      alignment: 4096,
      diskGuid: DISK,
      partitions: [
        { name: 'late', type: PARTITION_TYPE.linuxFilesystem, size: MIB, start: 20 * MIB },
        { name: 'early', type: PARTITION_TYPE.linuxFilesystem, size: MIB, start: 2 * MIB },
        { name: 'next', type: PARTITION_TYPE.linuxSwap, size: 1000 },
      ],
    });
    expect(layout.partitions.map((p) => [p.start, p.end])).toEqual([
      [20 * MIB, 21 * MIB],
      [2 * MIB, 3 * MIB],
      [3 * MIB, 3 * MIB + 1024],
    ]);
  });

  it('derives partition GUIDs from the disk GUID unless given', () => {
    const a = layoutGpt(twoParts());
    expect(a.partitions[0]!.guid).toBe(guidFromHash('bootforge.gpt.partition', DISK, '1'));
    expect(a.partitions[1]!.guid).toBe(guidFromHash('bootforge.gpt.partition', DISK, '2'));
    const given = '11111111-2222-4333-8444-555555555555';
    const spec = twoParts();
    const b = layoutGpt({ ...spec, partitions: [{ ...spec.partitions[0]!, guid: given.toLowerCase() }] });
    expect(b.partitions[0]!.guid).toBe(given);
  });

  describe('rejects impossible layouts with BF_IMAGE_LAYOUT', () => {
    const esp = { name: 'ESP', type: PARTITION_TYPE.esp, size: 16 * MIB };
    it.each<[string, GptSpec, string]>([
      [
        'overlapping partitions',
        {
          diskSize: 64 * MIB,
          diskGuid: DISK,
          partitions: [
            { ...esp, start: MIB },
            { name: 'root', type: PARTITION_TYPE.linuxFilesystem, size: MIB, start: 10 * MIB },
          ],
        },
        'disk layout: partition 2 ("root") starts at byte 10485760, inside partition 1 ("ESP"), bytes 1048576..17825791: they overlap',
      ],
      [
        'a disk too small for the partitions',
        { diskSize: 16 * MIB, diskGuid: DISK, partitions: [esp] },
        'disk layout: partition 1 ("ESP") ends at byte 17825791, past the last usable byte 16760319 of the 16777216 bytes (16 MiB) disk',
      ],
      [
        'a disk too small for the GPT itself',
        { diskSize: 16 * 1024, diskGuid: DISK, partitions: [] },
        'disk layout: a disk of 16384 bytes (16 KiB) cannot hold the two copies of a GPT, which take 34304 bytes (33.5 KiB)',
      ],
      [
        'a name longer than 36 UTF-16 code units',
        { diskSize: 64 * MIB, diskGuid: DISK, partitions: [{ ...esp, name: 'x'.repeat(37) }] },
        `disk layout: partition 1 ("${'x'.repeat(37)}"): the name has 37 UTF-16 code units, GPT holds 36`,
      ],
      [
        'more than 128 partitions',
        {
          diskGuid: DISK,
          partitions: Array.from({ length: 129 }, (_, i) => ({ ...esp, name: `p${i}`, size: MIB })),
        },
        'disk layout: 129 partitions do not fit in a GPT of 128 entries',
      ],
      [
        "'rest' before the last partition",
        {
          diskSize: 64 * MIB,
          diskGuid: DISK,
          partitions: [
            { ...esp, size: 'rest' },
            { ...esp, name: 'b' },
          ],
        },
        `disk layout: partition 1 ("ESP"): only the last partition can take the 'rest' of the disk`,
      ],
      [
        "'rest' without a disk size",
        { diskGuid: DISK, partitions: [{ ...esp, size: 'rest' }] },
        `disk layout: partition 1 ("ESP") takes the 'rest' of the disk, but no disk size is given`,
      ],
      [
        "'rest' with no room left",
        {
          diskSize: 18 * MIB,
          diskGuid: DISK,
          partitions: [esp, { ...esp, name: 'b', size: 'rest' }],
        },
        'disk layout: partition 2 ("b") would start at byte 17825792, but the last aligned usable byte of the 18874368 bytes (18 MiB) disk is 17825791: no room is left for it',
      ],
      [
        'a zero size',
        { diskSize: 64 * MIB, diskGuid: DISK, partitions: [{ ...esp, size: 0 }] },
        'disk layout: partition 1 ("ESP"): the size must be a positive whole number of bytes, not 0',
      ],
      [
        'a start inside the primary GPT',
        { diskSize: 64 * MIB, diskGuid: DISK, partitions: [{ ...esp, start: 512 }] },
        'disk layout: partition 1 ("ESP") starts at byte 512, inside the primary GPT (the first usable byte is 17408)',
      ],
      [
        'a disk size that is not whole sectors',
        { diskSize: 64 * MIB + 1, diskGuid: DISK, partitions: [] },
        'disk layout: the disk size must be a positive whole number of bytes divisible by 512, not 67108865',
      ],
      [
        'another sector size',
        { diskSize: 64 * MIB, sectorSize: 4096, diskGuid: DISK, partitions: [] },
        'disk layout: sector size 4096 is not supported',
      ],
      [
        'two partitions with one GUID',
        {
          diskSize: 64 * MIB,
          diskGuid: DISK,
          partitions: [
            { ...esp, guid: DISK },
            { ...esp, name: 'b', guid: DISK },
          ],
        },
        `disk layout: partitions 1 and 2 have the same GUID ${DISK}`,
      ],
      [
        'attributes beyond 64 bits',
        { diskSize: 64 * MIB, diskGuid: DISK, partitions: [{ ...esp, attributes: 1n << 64n }] },
        'disk layout: partition 1 ("ESP"): attributes 0x10000000000000000 do not fit in 64 unsigned bits',
      ],
    ])('%s', (_what, spec, message) => {
      const e = layoutError(spec);
      expect(e.code).toBe('BF_IMAGE_LAYOUT');
      expect(e.message).toBe(message);
      expect(e.exitCode).toBe(1); // layouts are computed by bootforge: a bad one is a failure, not bad input
    });

    it('says how large the disk must be', () => {
      expect(layoutError({ diskSize: 16 * MIB, diskGuid: DISK, partitions: [esp] }).hint).toBe(
        'the partitions need a disk of at least 18874368 bytes (18 MiB); make it larger or the partitions smaller',
      );
    });

    it('rejects a malformed type GUID as BF_INVALID_VALUE', () => {
      const e = layoutError({ diskGuid: DISK, partitions: [{ ...esp, type: 'ESP' }] });
      expect(e.code).toBe('BF_INVALID_VALUE');
      expect(e.message).toBe('partition 1 ("ESP") type: "ESP" is not a GUID');
    });
  });
});

describe('writeGpt', () => {
  const image = writeGpt(twoParts());
  const disk = assemble(image);
  const s = 512;
  const sectors = disk.length / s;

  it('writes five disjoint ranges: MBR, primary header and entries, backup entries and header', () => {
    expect(image.writes.map((w) => [w.what, w.offset / s, w.data.length / s])).toEqual([
      ['protective MBR', 0, 1],
      ['primary GPT header', 1, 1],
      ['primary GPT entries', 2, 32],
      ['backup GPT entries', sectors - 33, 32],
      ['backup GPT header', sectors - 1, 1],
    ]);
  });

  it('writes a protective MBR: one 0xEE record from LBA 1 over the disk, not bootable, signature 55AA', () => {
    const mbr = disk.subarray(0, 512);
    expect(mbr.subarray(0, 446).every((b) => b === 0)).toBe(true); // no boot code, disk signature 0
    const rec = mbr.subarray(446, 462);
    expect(rec[0]).toBe(0);
    expect(rec[4]).toBe(0xee);
    expect([...rec.subarray(1, 4)]).toEqual([0x00, 0x02, 0x00]); // CHS of LBA 1: head 0, sector 2, cylinder 0
    expect(rec.readUInt32LE(8)).toBe(1);
    expect(rec.readUInt32LE(12)).toBe(sectors - 1);
    expect(mbr.subarray(462, 510).every((b) => b === 0)).toBe(true);
    expect([mbr[510], mbr[511]]).toEqual([0x55, 0xaa]);
  });

  it('caps the protective record at 0xFFFFFFFF sectors and its end CHS at FF FF FF on a 4 TiB disk', () => {
    const big = writeGpt({ ...twoParts(4 * 1024 * 1024 * MIB) });
    const mbr = big.writes[0]!.data;
    expect(mbr.readUInt32LE(446 + 12)).toBe(0xffffffff);
    expect([...mbr.subarray(446 + 5, 446 + 8)]).toEqual([0xff, 0xff, 0xff]);
    expect(big.writes[4]!.offset).toBe(4 * 1024 * 1024 * MIB - 512);
  });

  it('writes headers whose fields and CRCs are right', () => {
    const check = (lba: number, alternate: number, entriesLba: number): void => {
      const h = disk.subarray(lba * s, lba * s + s);
      expect(h.toString('latin1', 0, 8)).toBe('EFI PART');
      expect(h.readUInt32LE(8)).toBe(0x00010000);
      expect(h.readUInt32LE(12)).toBe(92);
      const copy = Buffer.from(h.subarray(0, 92));
      copy.writeUInt32LE(0, 16);
      expect(h.readUInt32LE(16)).toBe(crc32(copy));
      expect(h.readUInt32LE(20)).toBe(0);
      expect(h.readBigUInt64LE(24)).toBe(BigInt(lba));
      expect(h.readBigUInt64LE(32)).toBe(BigInt(alternate));
      expect(h.readBigUInt64LE(40)).toBe(34n);
      expect(h.readBigUInt64LE(48)).toBe(BigInt(sectors - 34));
      expect(formatGuid(h, 56)).toBe(DISK);
      expect(h.readBigUInt64LE(72)).toBe(BigInt(entriesLba));
      expect(h.readUInt32LE(80)).toBe(128);
      expect(h.readUInt32LE(84)).toBe(128);
      expect(h.readUInt32LE(88)).toBe(crc32(disk.subarray(entriesLba * s, entriesLba * s + 16384)));
      expect(h.subarray(92).every((b) => b === 0)).toBe(true);
    };
    check(1, sectors - 1, 2);
    check(sectors - 1, 1, sectors - 33);
  });

  it('writes entries with type, GUID, LBAs, attributes and a UTF-16LE name; the rest zero', () => {
    const e = disk.subarray(1024 + 128, 1024 + 256); // entry 2
    expect(formatGuid(e, 0)).toBe(PARTITION_TYPE.bootforgePayload);
    expect(formatGuid(e, 16)).toBe(image.layout.partitions[1]!.guid);
    expect(e.readBigUInt64LE(32)).toBe(34816n);
    expect(e.readBigUInt64LE(40)).toBe(129023n);
    expect(e.readBigUInt64LE(48)).toBe(1n << 63n);
    expect(e.subarray(56, 56 + 14).toString('utf16le')).toBe('payload');
    expect(e.subarray(56 + 14).every((b) => b === 0)).toBe(true);
    expect(disk.subarray(1024 + 256, 1024 + 16384).every((b) => b === 0)).toBe(true);
    expect(disk.subarray(1024, 1024 + 16384).equals(disk.subarray((sectors - 33) * s, (sectors - 1) * s))).toBe(true);
  });

  it('writes non-ASCII names of exactly 36 code units', () => {
    const name = 'Données système ✓ '.padEnd(36, 'é');
    expect(name.length).toBe(36);
    const img = writeGpt({ ...twoParts(), partitions: [{ name, type: PARTITION_TYPE.linuxRootX86_64, size: MIB }] });
    const e = img.writes[2]!.data.subarray(0, 128);
    expect(e.subarray(56, 128).toString('utf16le')).toBe(name);
  });

  it('is deterministic: the same spec gives the same bytes, another disk GUID other bytes', () => {
    const again = writeGpt(twoParts());
    expect(again.writes.map((w) => [w.offset, w.data.toString('hex')])).toEqual(
      image.writes.map((w) => [w.offset, w.data.toString('hex')]),
    );
    const other = writeGpt({ ...twoParts(), diskGuid: guidFromHash('other') });
    expect(other.writes[1]!.data.equals(image.writes[1]!.data)).toBe(false);
    expect(other.writes[2]!.data.equals(image.writes[2]!.data)).toBe(false); // partition GUIDs follow the disk's
  });
});

describe('readGpt', () => {
  const image = writeGpt(twoParts(8 * MIB, 2 * MIB));
  const fresh = (): Buffer => assemble(image);
  const s = 512;

  it('reads back exactly the layout and finds nothing wrong', async () => {
    const report = await readGpt(fresh());
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.source).toBe('primary');
    expect(report.diskGuid).toBe(DISK);
    expect(report.firstUsableLba).toBe(image.layout.firstUsableLba);
    expect(report.lastUsableLba).toBe(image.layout.lastUsableLba);
    expect(report.partitions).toEqual(image.layout.partitions);
    expect(report.primary.valid && report.backup.valid && report.protectiveMbr.valid).toBe(true);
  });

  it('reads from a path and from a file descriptor', async () => {
    const path = join(tmp, 'disk.img');
    writeFileSync(path, fresh());
    expect((await readGpt(path)).partitions).toEqual(image.layout.partitions);
    const fd = openSync(path, 'r');
    try {
      expect((await readGpt(fd)).ok).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('reports a changed byte in the primary header, and reads the table from the intact backup', async () => {
    const disk = fresh();
    disk[s + 60]! ^= 0x01; // inside the disk GUID
    const report = await readGpt(disk);
    expect(report.ok).toBe(false);
    expect(report.primary.valid).toBe(false);
    expect(report.backup.valid).toBe(true);
    expect(report.source).toBe('backup');
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(
      /^primary GPT header: header CRC is 0x[0-9a-f]{8}, but the header's bytes give 0x[0-9a-f]{8}$/,
    );
    expect(report.partitions).toEqual(image.layout.partitions);
    expect(report.diskGuid).toBe(DISK);
  });

  it('reports a changed byte in the backup header', async () => {
    const disk = fresh();
    disk[disk.length - s + 40]! ^= 0x80;
    const report = await readGpt(disk);
    expect(report.primary.valid).toBe(true);
    expect(report.backup.valid).toBe(false);
    expect(report.problems).toEqual([expect.stringMatching(/^backup GPT header \(LBA 16383\): header CRC is /)]);
    expect(report.source).toBe('primary');
  });

  it('reports a changed byte in the backup entry array', async () => {
    const disk = fresh();
    disk[(image.layout.backupEntriesLba + 5) * s]! ^= 0xff;
    const report = await readGpt(disk);
    expect(report.backup.valid).toBe(false);
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^backup GPT header \(LBA 16383\): entry array CRC is 0x[0-9a-f]{8}, but the entries at LBA 16351 give/,
      ),
    ]);
  });

  it('reports a primary entry array that no longer matches its header', async () => {
    const disk = fresh();
    disk.write('X', 2 * s + 56, 'utf16le'); // rename partition 1 without fixing the CRC
    const report = await readGpt(disk);
    expect(report.primary.valid).toBe(false);
    expect(report.source).toBe('backup');
    expect(report.partitions[0]!.name).toBe('ESP');
  });

  it('reports a protective MBR without its signature', async () => {
    const disk = fresh();
    disk[510] = 0;
    const report = await readGpt(disk);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(['protective MBR: the boot signature 55 AA is missing']);
  });

  it('reports a disk enlarged after the table was written, and still finds the backup', async () => {
    const disk = Buffer.concat([fresh(), Buffer.alloc(MIB)]);
    const report = await readGpt(disk);
    expect(report.problems).toEqual([
      'protective MBR: the 0xEE record covers 16383 sectors, not 18431',
      'primary GPT header: the backup header is at LBA 16383, not at the last LBA 18431 (was the image resized?)',
    ]);
    expect(report.backup.valid).toBe(true);
  });

  it('reports a disk with no GPT at all', async () => {
    const report = await readGpt(Buffer.alloc(MIB));
    expect(report.ok).toBe(false);
    expect(report.source).toBeUndefined();
    expect(report.partitions).toEqual([]);
    expect(report.problems).toEqual([
      'protective MBR: the boot signature 55 AA is missing',
      'protective MBR: no partition record of type 0xEE',
      'primary GPT header: no "EFI PART" signature at LBA 1',
      'backup GPT header (LBA 2047): no "EFI PART" signature at LBA 2047',
    ]);
  });

  it('reports a file too small to hold a GPT', async () => {
    const report = await readGpt(Buffer.alloc(4096));
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(['disk: the disk has 8 sectors, fewer than the 67 a GPT needs']);
  });

  it('reports overlapping entries even when the CRCs are right (a table written by something else)', async () => {
    const disk = fresh();
    const fix = (entriesLba: number, headerLba: number): void => {
      const entries = disk.subarray(entriesLba * s, entriesLba * s + 16384);
      entries.writeBigUInt64LE(5000n, 128 + 32); // partition 2 now starts inside partition 1 (2048..6143)
      entries.writeBigUInt64LE(40000n, 128 + 40); // and ends past the last usable LBA
      const header = disk.subarray(headerLba * s, headerLba * s + 92);
      header.writeUInt32LE(crc32(entries), 88);
      header.writeUInt32LE(0, 16);
      header.writeUInt32LE(crc32(header), 16);
    };
    fix(2, 1);
    fix(image.layout.backupEntriesLba, image.layout.backupHeaderLba);
    const report = await readGpt(disk);
    expect(report.primary.valid && report.backup.valid).toBe(true);
    expect(report.problems).toEqual([
      'partition 2: LBA 5000..40000 is outside the usable range 34..16350',
      'partition 2: it overlaps partition 1',
    ]);
  });

  it('throws BF_IO for a file that cannot be read', async () => {
    await expect(readGpt(join(tmp, 'missing.img'))).rejects.toMatchObject({ code: 'BF_IO' });
  });

  it('parses what parseGuid wrote', () => {
    expect(formatGuid(parseGuid(DISK))).toBe(DISK);
  });
});
