/**
 * Disk images as `bootforge inspect` reads them: the GPT, the ESP's FAT32, and the
 * payload header, read through a reader that behaves like inspect's (a zeroed buffer
 * of the length asked), over a real installer disk made by the project's writers.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { readFat32, writeFat32 } from '../../src/image/fat32.js';
import { readGpt } from '../../src/image/gpt.js';
import { inspectReader } from '../../src/image/inspect.js';
import { writeInstallerDisk } from '../../src/image/installer-disk.js';
import { payloadHeader } from '../../src/image/payload.js';
import { fuzz } from './harness.js';
import { mutations, overlayReader, type HotRanges, type Mutation } from './mutate.js';

const MIB = 2 ** 20;
const work = mkdtempSync(join(tmpdir(), 'bootforge-fuzz-image-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FILES = [
  { path: '/EFI/BOOT/BOOTX64.EFI', data: Buffer.alloc(70_000, 0xc3) },
  { path: '/loader/loader.conf', data: Buffer.from('timeout 2\ndefault bootforge-*\n') },
  { path: '/loader/entries/bootforge-1.conf', data: Buffer.from('title t\noptions quiet\n') },
  { path: '/A long file name with ünïcode.txt', data: Buffer.from('x') },
  ...Array.from({ length: 40 }, (_, i) => ({ path: `/many/file ${i}.dat`, data: Buffer.from(`entry ${i}\n`) })),
];

/** Where a FAT32 volume keeps its structures: boot sector, FSInfo and backup, the FAT's start, the first directory clusters. */
async function fatHot(volume: Buffer, at: number): Promise<HotRanges> {
  const fat = await readFat32((o, l) => Promise.resolve(volume.subarray(at + o, at + o + l)));
  const i = fat.info;
  const fatStart = at + i.reservedSectors * i.bytesPerSector;
  const data = fatStart + i.fatCount * i.fatSectors * i.bytesPerSector;
  return [
    [at, at + 1024],
    [at + 6 * 512, at + 7 * 512],
    [fatStart, fatStart + 1024],
    [data, data + 4 * i.bytesPerCluster],
  ];
}

/** Reads every file, as inspect and the tests do. */
async function readVolume(read: (offset: number, length: number) => Promise<Buffer>): Promise<void> {
  const fat = await readFat32(read);
  for (const e of await fat.list()) if (e.type === 'file') await fat.readFile(e.path);
  await fat.stat('/loader/loader.conf');
}

const imageCase = (size: number, hot: HotRanges): fc.Arbitrary<Mutation[]> =>
  mutations(size, { hot, inPlace: true, maxMutations: 6 });

describe('disk images', () => {
  let disk: Buffer;
  let diskHot: HotRanges;
  let volume: Buffer;
  let volumeHot: HotRanges;

  beforeAll(async () => {
    const payload = join(work, 'payload');
    writeFileSync(payload, 'hello');
    const header = payloadHeader({ payload_size: 5, profile: 'demo', generation: 'abc-demo', kernel: '6.1.0' });
    const path = join(work, 'disk.img');
    await writeInstallerDisk({
      path,
      diskGuid: '11111111-2222-4333-8444-555555555555',
      esp: { guid: '21111111-2222-4333-8444-555555555555', volumeId: 1, timestamp: new Date(0), files: FILES },
      payload: { guid: '31111111-2222-4333-8444-555555555555', header, file: payload, size: 5 },
    });
    disk = readFileSync(path);
    const gpt = await readGpt(disk);
    const [esp, pay] = gpt.partitions;
    if (!esp || !pay) throw new Error('the sample disk lacks its partitions');
    diskHot = [
      [0, 34 * 512],
      [disk.length - 33 * 512, disk.length],
      ...(await fatHot(disk, esp.start)),
      [pay.start, pay.start + 4096],
    ];

    volume = Buffer.alloc(40 * MIB);
    await writeFat32(
      { size: volume.length, label: 'FUZZ', volumeId: 7, timestamp: new Date(0), files: FILES },
      (offset, data) => void data.copy(volume, offset),
    );
    volumeHot = await fatHot(volume, 0);
  });

  it('readGpt: mutated installer disk', () =>
    fuzz({
      parser: 'GPT',
      input: 'mutated sample',
      arbitrary: fc.constant(null).chain(() => imageCase(disk.length, diskHot.slice(0, 2))),
      run: (list) => readGpt(overlayReader(disk, list)),
      runs: 1500,
      timeLimitMs: 4000,
    }));

  it('readFat32: mutated volume, every file read', () =>
    fuzz({
      parser: 'FAT32',
      input: 'mutated sample',
      arbitrary: fc.constant(null).chain(() => imageCase(volume.length, volumeHot)),
      run: (list) => {
        const reader = overlayReader(volume, list);
        return readVolume((offset, length) => reader.read(offset, length));
      },
      runs: 1500,
      timeLimitMs: 4000,
    }));

  it('inspectReader: mutated installer disk (GPT, ESP, payload header)', () =>
    fuzz({
      parser: 'image inspect (GPT, ESP, payload header)',
      input: 'mutated sample',
      arbitrary: fc.constant(null).chain(() => imageCase(disk.length, diskHot)),
      run: (list) => inspectReader(overlayReader(disk, list)),
      runs: 1000,
      timeLimitMs: 4000,
    }));

  it('inspectReader: random payload headers', () =>
    fuzz({
      parser: 'image inspect (GPT, ESP, payload header)',
      input: 'random payload header',
      arbitrary: fc.string({
        unit: fc.constantFrom('BOOTFORGE-PAYLOAD 1', '\n', ' ', 'end', 'a', '\0', 'é'),
        maxLength: 80,
      }),
      run: (text) => {
        const at = diskHot[diskHot.length - 1]?.[0] ?? 0;
        return inspectReader(
          overlayReader(disk, [{ op: 'set', at, bytes: [...Buffer.from(text.padEnd(4096, '\0'))] }]),
        );
      },
      runs: 200,
      timeLimitMs: 3000,
    }));
});
