import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TreeEntry } from '../../../src/fstree/types.js';
import {
  payloadHeader,
  PAYLOAD_HEADER_SIZE,
  readPayloadHeader,
  tarOf,
  zstdFrames,
} from '../../../src/image/payload.js';

const data = new Map<string, Buffer>([
  ['a', Buffer.from('#!/bin/sh\necho hi\n')],
  ['big', Buffer.alloc(20 * 1024 * 1024, 7)], // crosses two 8 MiB frames
]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const base = { uid: 0, gid: 0, mtime: 0 };
const ENTRIES: TreeEntry[] = [
  { type: 'dir', path: '/usr', mode: 0o755, ...base },
  { type: 'dir', path: '/usr/bin', mode: 0o755, ...base },
  {
    type: 'file',
    path: '/usr/bin/su',
    mode: 0o4755,
    size: data.get('a')?.length ?? 0,
    sha256: sha(data.get('a') ?? Buffer.alloc(0)),
    ...base,
  },
  { type: 'hardlink', path: '/usr/bin/su2', target: '/usr/bin/su', mode: 0o4755, ...base },
  {
    type: 'file',
    path: '/usr/bin/chage',
    mode: 0o2755,
    size: 3,
    sha256: sha(Buffer.from('abc')),
    uid: 0,
    gid: 42,
    gname: 'shadow',
    mtime: 0,
  },
  { type: 'symlink', path: '/bin', target: 'usr/bin', mode: 0o777, ...base },
  {
    type: 'file',
    path: '/big',
    mode: 0o644,
    size: 20 * 1024 * 1024,
    sha256: sha(data.get('big') ?? Buffer.alloc(0)),
    ...base,
  },
];
const contents = (e: TreeEntry & { sha256: string }) =>
  Promise.resolve(
    e.path === '/big'
      ? (data.get('big') as Buffer)
      : e.path === '/usr/bin/chage'
        ? Buffer.from('abc')
        : (data.get('a') as Buffer),
  );

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe('payload', () => {
  it('is a tar of the tree with modes, owners, hard links and symlinks, in independent zstd frames', async () => {
    const frames = await collect(zstdFrames(tarOf(ENTRIES, contents, new Date(1700000000_000)), 3, 2));
    expect(frames.length).toBeGreaterThanOrEqual(3);
    const dir = mkdtempSync(join(tmpdir(), 'bf-payload-'));
    const file = join(dir, 'payload.tar.zst');
    writeFileSync(file, Buffer.concat(frames));
    const tar = spawnSync('sh', ['-c', `zstd -dc ${file} | tar -tv --numeric-owner -f -`], { encoding: 'utf8' });
    expect(tar.status, tar.stderr).toBe(0);
    const lines = tar.stdout.trim().split('\n');
    expect(lines.find((l) => l.endsWith('./usr/bin/su'))).toMatch(
      /^-rwsr-xr-x 0\/0 .* 2023-11-14 22:13 \.\/usr\/bin\/su$/,
    );
    expect(lines.find((l) => l.includes('./usr/bin/su2'))).toMatch(
      /^hrwsr-xr-x .*\.\/usr\/bin\/su2 link to \.\/usr\/bin\/su$/,
    );
    expect(lines.find((l) => l.includes('chage'))).toMatch(/^-rwxr-sr-x 0\/42 /);
    expect(lines.find((l) => l.includes('./bin'))).toMatch(/^lrwxrwxrwx .* \.\/bin -> usr\/bin$/);
    const x = spawnSync(
      'sh',
      ['-c', `mkdir ${dir}/x && zstd -dc ${file} | tar -x -C ${dir}/x -f - && sha256sum ${dir}/x/big`],
      { encoding: 'utf8' },
    );
    expect(x.stdout.split(' ')[0]).toBe(sha(data.get('big') as Buffer));
    expect(statSync(join(dir, 'x/usr/bin/su')).ino).toBe(statSync(join(dir, 'x/usr/bin/su2')).ino);
  });

  it('is the same bytes every time', async () => {
    const one = Buffer.concat(await collect(zstdFrames(tarOf(ENTRIES, contents, new Date(0)))));
    const two = Buffer.concat(await collect(zstdFrames(tarOf(ENTRIES, contents, new Date(0)))));
    expect(sha(one)).toBe(sha(two));
  });

  it('has a header a shell reads line by line', () => {
    const h = payloadHeader({ payload_size: 123, payload_sha256: 'ab' });
    expect(h.length).toBe(PAYLOAD_HEADER_SIZE);
    const text = h.toString('utf8').replace(/\0+$/, '');
    expect(text).toBe('BOOTFORGE-PAYLOAD 1\npayload_size 123\npayload_sha256 ab\nend\n');
    const dir = mkdtempSync(join(tmpdir(), 'bf-payload-'));
    writeFileSync(join(dir, 'h'), h);
    const r = spawnSync(
      'sh',
      [
        '-c',
        `head -c ${PAYLOAD_HEADER_SIZE} ${dir}/h | while read -r k v; do [ "$k" = end ] && break; echo "$k=$v"; done`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toBe('BOOTFORGE-PAYLOAD=1\npayload_size=123\npayload_sha256=ab\n');
    expect(readFileSync(join(dir, 'h')).length).toBe(4096);
  });
});

describe('readPayloadHeader: every field of a bundle header is checked', () => {
  const fields = {
    payload_offset: 4096,
    payload_size: 10,
    payload_sha256: 'a'.repeat(64),
    payload_uncompressed_size: 100,
    payload_compression: 'zstd',
    payload_format: 'tar',
    generation: `${'e'.repeat(32)}-demo`,
  };
  const read = (f: Record<string, string | number>, fileSize = 4106) =>
    readPayloadHeader(payloadHeader(f), fileSize, 'x.bundle');

  it('reads a header bootforge writes', () => {
    expect(read(fields)).toEqual({
      size: 10,
      sha256: 'a'.repeat(64),
      uncompressedSize: 100,
      format: 'tar',
      generation: `${'e'.repeat(32)}-demo`,
    });
  });

  it.each([
    [{ payload_offset: '100000000000000000000000' }, /payload_offset is not a number of at most 15 digits/],
    [{ payload_offset: 0 }, /payload_offset is 0; a payload starts right after its 4096-byte header/],
    [{ payload_size: '1e3' }, /payload_size is not a number/],
    [{ payload_size: '010' }, /payload_size is not a number/],
    [{ payload_size: 5000 }, /is truncated \(4106 bytes, the header says 9096\)/],
    [{ payload_sha256: 'A'.repeat(64) }, /bad payload_sha256/],
    [{ generation: '../x' }, /bad generation name in the header: \.\.\/x/],
    [{ generation: `${'e'.repeat(32)}-demo\u001b[2J` }, /bad generation name in the header: e+-demo\\x1b\[2J$/],
    [{ payload_format: 'tar-delta', base: '../../state' }, /bad base name/],
    [{ payload_format: 'cpio' }, /unknown bundle format cpio/],
  ])('refuses %j', (change, message) => {
    expect(() => read({ ...fields, ...change })).toThrow(message);
  });

  it('refuses a key named twice (another reader could take the other value)', () => {
    const text = `BOOTFORGE-PAYLOAD 1\npayload_offset 4096\npayload_size 10\npayload_size 1\nend\n`;
    expect(() => readPayloadHeader(Buffer.from(text), 5000, 'x.bundle')).toThrow(/names payload_size more than once/);
  });
});
