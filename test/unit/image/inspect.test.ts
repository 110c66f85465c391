import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PARTITION_TYPE } from '../../../src/image/guid.js';
import { imageKind, inspectDiskImage } from '../../../src/image/inspect.js';
import { writeInstallerDisk } from '../../../src/image/installer-disk.js';
import { payloadHeader } from '../../../src/image/payload.js';

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
