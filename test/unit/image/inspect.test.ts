import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PARTITION_TYPE } from '../../../src/image/guid.js';
import { imageKind, inspectDiskImage } from '../../../src/image/inspect.js';
import { writeInstallerDisk } from '../../../src/image/installer-disk.js';
import { payloadHeader } from '../../../src/image/payload.js';
import { runCli } from '../../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'bf-inspect-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const header = payloadHeader({ payload_size: 5, profile: 'demo', generation: 'abc-demo', kernel: '6.1.0' });
const headerSha = createHash('sha256').update(header).digest('hex');
const entry = (sha: string) => Buffer.from(`title t\noptions quiet bootforge.manifest=${sha}\n`);

async function disk(name: string, espHeader: Buffer, pin: string): Promise<string> {
  const payload = join(work, `${name}.payload`);
  writeFileSync(payload, 'hello');
  const path = join(work, `${name}.img`);
  await writeInstallerDisk({
    path,
    diskGuid: '11111111-2222-4333-8444-555555555555',
    esp: {
      guid: '21111111-2222-4333-8444-555555555555',
      volumeId: 1,
      timestamp: new Date(0),
      files: [
        { path: '/loader/loader.conf', data: Buffer.from('timeout 2\n') },
        { path: '/loader/entries/a.conf', data: entry(headerSha) },
        { path: '/loader/entries/b.conf', data: entry(pin) },
        { path: '/bootforge/payload-header.txt', data: espHeader },
      ],
    },
    payload: { guid: '31111111-2222-4333-8444-555555555555', header, file: payload, size: 5 },
  });
  return path;
}

describe('inspectDiskImage', () => {
  it('reads the partitions, the ESP, the loader entries and the payload header', async () => {
    const r = await inspectDiskImage(await disk('good', header.subarray(0, header.indexOf(0)), headerSha));
    expect(r.gpt.ok).toBe(true);
    expect(r.gpt.diskGuid).toBe('11111111-2222-4333-8444-555555555555');
    expect(r.gpt.partitions.map((p) => [p.number, p.name, p.type, p.typeName, p.start])).toEqual([
      [1, 'ESP', PARTITION_TYPE.esp, 'EFI System', 2048],
      [2, 'bootforge-payload', PARTITION_TYPE.bootforgePayload, 'bootforge payload', expect.any(Number)],
    ]);
    expect(r.esp?.files.map((f) => f.path).sort()).toEqual([
      '/bootforge/payload-header.txt',
      '/loader/entries/a.conf',
      '/loader/entries/b.conf',
      '/loader/loader.conf',
    ]);
    expect(r.esp?.loader['/loader/loader.conf']).toBe('timeout 2\n');
    expect(r.payload?.header).toMatchObject({ profile: 'demo', generation: 'abc-demo', payload_size: '5' });
    expect(r.payload?.headerSha256).toBe(headerSha);
    expect(r.payload?.pinnedBy).toEqual(['/loader/entries/a.conf', '/loader/entries/b.conf']);
    expect(r.payload?.espCopyMatches).toBe(true);
  });

  it('names the entries that pin another header, and an ESP copy that differs', async () => {
    const r = await inspectDiskImage(await disk('bad', Buffer.from('BOOTFORGE-PAYLOAD 1\nend\n'), '0'.repeat(64)));
    expect(r.payload?.pinnedBy).toEqual(['/loader/entries/a.conf']);
    expect(r.payload?.mismatched).toEqual(['/loader/entries/b.conf']);
    expect(r.payload?.espCopyMatches).toBe(false);
  });
});

describe('imageKind', () => {
  it('tells a GPT disk, a qcow2 image and anything else apart', () => {
    const gpt = Buffer.alloc(1024);
    gpt.write('EFI PART', 512, 'latin1');
    expect(imageKind(gpt)).toBe('gpt');
    expect(imageKind(Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(1020)]))).toBe('qcow2');
    expect(imageKind(Buffer.from('070701'.padEnd(1024, '0')))).toBe('other');
  });
});

describe('inspect of a hostile image', () => {
  const espStart = async (path: string): Promise<number> =>
    (await inspectDiskImage(path)).gpt.partitions.find((p) => p.type === PARTITION_TYPE.esp)!.start * 512;

  it('prints the GPT it read, then the error, when the ESP lies beyond the end of the image', async () => {
    const path = await disk('beyond', header, headerSha);
    const number = (await inspectDiskImage(path)).gpt.partitions.find((p) => p.type === PARTITION_TYPE.esp)!.number;
    // The primary GPT's ESP entry ends 100 sectors past the image, with both CRCs made right again.
    const img = readFileSync(path);
    const entries = img.subarray(1024, 1024 + img.readUInt32LE(512 + 80) * 128);
    entries.writeBigUInt64LE(BigInt(img.length / 512 + 100), (number - 1) * 128 + 40);
    img.writeUInt32LE(crc32(entries), 512 + 88);
    img.writeUInt32LE(0, 512 + 16);
    img.writeUInt32LE(crc32(img.subarray(512, 512 + 92)), 512 + 16);
    writeFileSync(path, img);
    const r = await runCli(['inspect', path]);
    expect(r.stdout).toMatch(/: GPT disk image, /);
    expect(r.stdout).toMatch(/problem: .*partition 1: LBA \d+\.\.\d+ is outside the usable range/);
    expect(r.stdout).toMatch(/EFI System/);
    expect(r.stderr).toMatch(
      /^BF_FAT_INVALID: .*beyond.img: the ESP: its partition \(sectors \d+-\d+\) ends at byte \d+, beyond the end of the image/,
    );
    expect(r.code).toBe(1);
  });

  it('escapes control characters of loader entries before printing them', async () => {
    const path = join(work, 'esc.img');
    const payload = join(work, 'esc.payload');
    writeFileSync(payload, 'hello');
    await writeInstallerDisk({
      path,
      diskGuid: '11111111-2222-4333-8444-555555555555',
      esp: {
        guid: '21111111-2222-4333-8444-555555555555',
        volumeId: 1,
        timestamp: new Date(0),
        files: [{ path: '/loader/entries/a.conf', data: Buffer.from('title \x1b[2J\x1b]0;owned\x07evil\u202e\n') }],
      },
      payload: { guid: '31111111-2222-4333-8444-555555555555', header, file: payload, size: 5 },
    });
    const r = await runCli(['inspect', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  title \\x1b[2J\\x1b]0;owned\\x07evil\\u202e');
    for (const c of ['\x1b', '\x07', '\u202e']) expect(r.stdout).not.toContain(c);
  });

  it('refuses an ESP whose boot sector claims a FAT larger than any ESP, without allocating it', async () => {
    const path = await disk('hugefat', header, headerSha);
    const esp = await espStart(path);
    const fd = openSync(path, 'r+');
    const patch = Buffer.alloc(8);
    patch.writeUInt32LE(0xffffffff, 0); // total sectors
    patch.writeUInt32LE(0x02000000, 4); // sectors per FAT: long enough for 4 Gi clusters
    writeSync(fd, Buffer.from([1]), 0, 1, esp + 13); // one sector per cluster
    writeSync(fd, patch, 0, 8, esp + 32);
    closeSync(fd);
    await expect(inspectDiskImage(path)).rejects.toMatchObject({
      code: 'BF_FAT_INVALID',
      message: expect.stringMatching(/the ESP: the volume has \d+ clusters, more than bootforge reads$/) as unknown,
    });
  });
});
