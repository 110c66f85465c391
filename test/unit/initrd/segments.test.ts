import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../../src/fstree/blobs.js';
import type { BlobStore, FileEntry, TreeEntry } from '../../../src/fstree/types.js';
import { generatedFile, planCpio } from '../../../src/initrd/cpio.js';
import { inspectInitrd } from '../../../src/initrd/inspect.js';
import {
  buildSegment,
  type BuiltSegment,
  concatSegments,
  segmentKey,
  type SegmentSpec,
  writeInitrd,
} from '../../../src/initrd/segments.js';
import { toolRuns } from '../../helpers/tools.js';

const work = mkdtempSync(join(tmpdir(), 'bootforge-segments-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MTIME = 1_700_000_000;

const hasZstdCli = (): boolean => toolRuns('zstd');

/** A spec over generated files, counting how often the writer asks for content. */
function specOf(
  name: string,
  compression: SegmentSpec['compression'],
  files: Record<string, string | Buffer>,
  level?: number,
): SegmentSpec & { reads: () => number } {
  const data = new Map(Object.entries(files).map(([p, d]) => [p, Buffer.from(d)]));
  const entries: TreeEntry[] = [...data].map(([p, d]) => generatedFile(p, d, { mode: 0o644 }));
  let reads = 0;
  return {
    name,
    compression,
    ...(level !== undefined ? { level } : {}),
    entries,
    contents: (entry: FileEntry) => {
      reads += 1;
      const d = data.get(entry.path);
      if (d === undefined) throw new Error(`no data for ${entry.path}`);
      return d;
    },
    reads: () => reads,
  };
}

function threeSpecs(modulesText = 'module v1'): ReturnType<typeof specOf>[] {
  return [
    specOf('microcode', 'none', { '/kernel/x86/microcode/GenuineIntel.bin': 'ucode blob' }),
    specOf('base', 'gzip', { '/init': '#!/bin/sh\nexec switch_root\n', '/etc/fstab': '# empty\n' }),
    specOf('modules', 'zstd', {
      '/usr/lib/modules/6.1.0/kernel/a.ko': modulesText.repeat(100),
      '/usr/lib/modules/6.1.0/modules.dep': 'a.ko:\n',
    }),
  ];
}

async function buildAll(specs: readonly SegmentSpec[], cacheDir?: string): Promise<BuiltSegment[]> {
  return Promise.all(specs.map((s) => buildSegment(s, { mtime: MTIME, ...(cacheDir ? { cacheDir } : {}) })));
}

describe('buildSegment', () => {
  it('builds in memory without a cache directory', async () => {
    const [segment] = await buildAll([specOf('base', 'gzip', { '/init': 'x' })]);
    expect(segment?.cached).toBe(false);
    expect(segment?.path).toBeUndefined();
    expect(segment?.data?.length).toBe(segment?.size);
    expect(
      createHash('sha256')
        .update(segment?.data ?? Buffer.alloc(0))
        .digest('hex'),
    ).toBe(segment?.sha256);
  });

  it('caches each segment under its key and takes it from there next time, reading no content', async () => {
    const cacheDir = join(work, 'cache-hit');
    const first = threeSpecs();
    const built = await buildAll(first, cacheDir);
    expect(built.map((s) => s.cached)).toEqual([false, false, false]);
    expect(first.map((s) => s.reads())).toEqual([1, 2, 2]);
    const files = readdirSync(join(cacheDir, 'segments')).sort();
    expect(files).toEqual(built.flatMap((s) => [s.key, `${s.key}.json`]).sort()); // no temp files left
    for (const s of built) expect(s.path).toBe(join(cacheDir, 'segments', s.key));

    const second = threeSpecs();
    const again = await buildAll(second, cacheDir);
    expect(again.map((s) => s.cached)).toEqual([true, true, true]);
    expect(second.map((s) => s.reads())).toEqual([0, 0, 0]);
    expect(again.map((s) => s.sha256)).toEqual(built.map((s) => s.sha256));
    expect((await concatSegments(again)).equals(await concatSegments(built))).toBe(true);
  });

  it('re-packs only the segment whose input changed', async () => {
    const cacheDir = join(work, 'cache-change');
    const before = await buildAll(threeSpecs('module v1'), cacheDir);
    const changed = threeSpecs('module v2');
    const after = await buildAll(changed, cacheDir);
    expect(after.map((s) => s.cached)).toEqual([true, true, false]);
    expect(changed.map((s) => s.reads())).toEqual([0, 0, 2]);
    expect(after[2]?.key).not.toBe(before[2]?.key);
    expect(after.slice(0, 2).map((s) => s.key)).toEqual(before.slice(0, 2).map((s) => s.key));
  });

  it('keys on what decides the bytes, and on nothing else', () => {
    const base = specOf('base', 'zstd', { '/a': 'a', '/b': 'b' });
    const key = segmentKey(base, MTIME);
    expect(segmentKey({ ...base, name: 'other name' }, MTIME)).toBe(key);
    expect(segmentKey({ ...base, entries: [...base.entries].reverse() }, MTIME)).toBe(key);
    expect(segmentKey({ ...base, level: 9 }, MTIME)).toBe(key); // 9 is zstd's default
    expect(segmentKey({ ...base, level: 3 }, MTIME)).not.toBe(key);
    expect(segmentKey({ ...base, compression: 'gzip' }, MTIME)).not.toBe(key);
    expect(segmentKey(base, MTIME + 1)).not.toBe(key);
    const [first, ...rest] = base.entries as FileEntry[];
    if (!first) throw new Error('no entry');
    expect(segmentKey({ ...base, entries: [{ ...first, mode: 0o600 }, ...rest] }, MTIME)).not.toBe(key);
    expect(segmentKey({ ...base, entries: [{ ...first, uid: 1 }, ...rest] }, MTIME)).not.toBe(key);
  });

  it('does not trust a cache file whose bytes no longer match', async () => {
    const cacheDir = join(work, 'cache-corrupt');
    const [built] = await buildAll([specOf('base', 'gzip', { '/init': 'x' })], cacheDir);
    if (built?.path === undefined) throw new Error('no path');
    const bytes = readFileSync(built.path);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(built.path, bytes);
    const spec = specOf('base', 'gzip', { '/init': 'x' });
    const [rebuilt] = await buildAll([spec], cacheDir);
    expect(rebuilt?.cached).toBe(false);
    expect(spec.reads()).toBe(1);
    expect(rebuilt?.sha256).toBe(built.sha256);
    expect(readFileSync(built.path).equals(rebuilt?.data ?? Buffer.alloc(0))).toBe(true);
  });

  it('reads each blob of a 6 MB input set once when building, and none on a cache hit', async () => {
    const store = new DiskBlobStore(join(work, 'blobs'));
    const entries: TreeEntry[] = [];
    for (let i = 0; i < 96; i++) {
      const data = Buffer.alloc(64 * 1024);
      for (let j = 0; j < data.length; j += 4) data.writeUInt32LE((i * 2654435761 + j * 40503) >>> 0, j);
      const sha256 = await store.put(data);
      const path = `/usr/lib/firmware/fw-${String(i).padStart(3, '0')}.bin`;
      entries.push({ type: 'file', path, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length, sha256 });
    }
    let gets = 0;
    const counting: BlobStore = {
      has: (h) => store.has(h),
      put: (d) => store.put(d),
      get: (h) => {
        gets += 1;
        return store.get(h);
      },
    };
    const spec: SegmentSpec = { name: 'firmware', compression: 'zstd', level: 3, entries, contents: counting };
    const cacheDir = join(work, 'cache-big');
    const first = await buildSegment(spec, { mtime: MTIME, cacheDir });
    expect(first.cached).toBe(false);
    expect(gets).toBe(96);
    const second = await buildSegment(spec, { mtime: MTIME, cacheDir });
    expect(second.cached).toBe(true);
    expect(gets).toBe(96);
  });
});

describe('concatSegments', () => {
  it('makes an initrd the kernel can walk: none + gzip + zstd, every entry readable back', async () => {
    const specs = threeSpecs();
    const built = await buildAll(specs, join(work, 'cache-concat'));
    const initrd = await concatSegments(built);
    const info = await inspectInitrd(initrd);
    expect(info.segments.map((s) => s.compression)).toEqual(['none', 'gzip', 'zstd']);
    for (const [i, s] of info.segments.entries()) {
      expect(s.offset % 4, `segment ${i} offset`).toBe(0);
      expect(s.entries.map((e) => e.name)).toEqual(planCpio(specs[i]?.entries ?? []).map((r) => r.name));
      expect(s.entries.every((e) => e.mtime === MTIME)).toBe(true);
    }
    expect(built[0]?.size ? built[0].size % 512 : -1).toBe(0);
    expect(built.map((s) => s.size + ((4 - (s.size % 4)) % 4)).reduce((a, b) => a + b, 0)).toBe(initrd.length);
    expect(initrd.length % 4).toBe(0);
  });

  it('gives segments that gzip -dc, zstd -dc and cpio -itv read', async () => {
    const specs = threeSpecs();
    const built = await buildAll(specs);
    const plain = built[0]?.data ?? Buffer.alloc(0);
    const gunzipped = execFileSync('gzip', ['-dc'], { input: built[1]?.data });
    const list = (cpio: Buffer): string[] =>
      execFileSync('cpio', ['-itv', '--quiet'], { input: cpio })
        .toString()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split(/\s+/).at(-1) ?? '');
    expect(list(plain)).toEqual(planCpio(specs[0]?.entries ?? []).map((r) => r.name));
    expect(list(gunzipped)).toEqual(planCpio(specs[1]?.entries ?? []).map((r) => r.name));
    if (hasZstdCli()) {
      const unzstd = execFileSync('zstd', ['-dc'], { input: built[2]?.data });
      expect(list(unzstd)).toEqual(planCpio(specs[2]?.entries ?? []).map((r) => r.name));
    }
  });

  it('writeInitrd writes the same bytes atomically and returns their SHA-256', async () => {
    const built = await buildAll(threeSpecs(), join(work, 'cache-write'));
    const path = join(work, 'initrd.img');
    const written = await writeInitrd(built, path);
    const bytes = readFileSync(path);
    expect(bytes.equals(await concatSegments(built))).toBe(true);
    expect(written).toEqual({ path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(readdirSync(work).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });
});
