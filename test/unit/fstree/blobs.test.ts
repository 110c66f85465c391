import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import { DiskBlobStore, MemoryBlobStore } from '../../../src/fstree/blobs.js';

const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

async function* chunked(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) {
    await Promise.resolve();
    yield data.subarray(at, at + size);
  }
}

/** Every file under dir, relative. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

describe('MemoryBlobStore', () => {
  it('stores by SHA-256, keeps one copy, and copies the caller’s buffer', async () => {
    const store = new MemoryBlobStore();
    const big = Buffer.from('xxhelloxx');
    const view = big.subarray(2, 7);
    const key = await store.put(view);
    expect(key).toBe(sha('hello'));
    expect(await store.put(Buffer.from('hello'))).toBe(key);
    expect(store.size).toBe(1);
    big.write('HELLO', 2);
    expect((await store.get(key)).toString()).toBe('hello');
    expect(await store.has(key)).toBe(true);
    expect(await store.has(sha('other'))).toBe(false);
  });

  it('stores a stream and says how long it was', async () => {
    const store = new MemoryBlobStore();
    const data = randomBytes(300_000);
    expect(await store.putStream(chunked(data, 7_000))).toEqual({ sha256: sha(data), size: data.length });
    expect((await store.get(sha(data))).equals(data)).toBe(true);
  });

  it('fails with BF_IO for a missing blob and verifies content', async () => {
    const store = new MemoryBlobStore();
    await expect(store.get(sha('nope'))).rejects.toMatchObject({ code: 'BF_IO' });
    const key = await store.put(Buffer.from('abc'));
    expect(await store.verify(key)).toBe(true);
    (await store.get(key)).write('X');
    expect(await store.verify(key)).toBe(false);
    expect(await store.has(key)).toBe(false);
  });
});

describe('DiskBlobStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bf-blobs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lays blobs out as <dir>/<first two hex>/<hash> and leaves no temp files', async () => {
    const store = new DiskBlobStore(join(dir, 'store'));
    const key = await store.put(Buffer.from('hello'));
    expect(key).toBe(sha('hello'));
    expect(filesUnder(join(dir, 'store'))).toEqual([`${key.slice(0, 2)}/${key}`]);
    expect(store.pathOf(key)).toBe(join(dir, 'store', key.slice(0, 2), key));
    expect(readFileSync(store.pathOf(key) ?? '').toString()).toBe('hello');
    expect((await store.get(key)).toString()).toBe('hello');
    expect(await store.has(key)).toBe(true);
    expect(store.pathOf(sha('absent'))).toBeUndefined();
    expect(await store.has(sha('absent'))).toBe(false);
  });

  it('keeps one copy of the same content', async () => {
    const store = new DiskBlobStore(dir);
    await store.put(Buffer.from('same'));
    await store.put(Buffer.from('same'));
    await store.putStream(chunked(Buffer.from('same'), 2));
    expect(filesUnder(dir)).toHaveLength(1);
  });

  it('streams a large blob through a temp file (no copy left behind), with the same hash as put', async () => {
    const store = new DiskBlobStore(dir);
    const data = randomBytes(5 * 1024 * 1024 + 123);
    const stored = await store.putStream(chunked(data, 64 * 1024));
    expect(stored).toEqual({ sha256: sha(data), size: data.length });
    expect(filesUnder(dir)).toEqual([`${stored.sha256.slice(0, 2)}/${stored.sha256}`]);
    expect((await store.get(stored.sha256)).equals(data)).toBe(true);
    // Again: the existing blob is kept, the temp file removed.
    await store.putStream(chunked(data, 1024 * 1024));
    expect(filesUnder(dir)).toHaveLength(1);
  });

  it('removes its temp file when the stream fails', async () => {
    const store = new DiskBlobStore(dir);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield randomBytes(2 * 1024 * 1024);
      await Promise.resolve();
      throw new Error('network went away');
    }
    await expect(store.putStream(failing())).rejects.toMatchObject({
      code: 'BF_IO',
      message: expect.stringContaining('network went away') as unknown,
    });
    expect(filesUnder(dir)).toEqual([]);
  });

  it('verify re-hashes, and deletes a corrupt blob', async () => {
    const store = new DiskBlobStore(dir);
    const key = await store.put(Buffer.from('intact'));
    expect(await store.verify(key)).toBe(true);
    writeFileSync(store.location(key), 'tampered');
    // get trusts the store: it returns what is there.
    expect((await store.get(key)).toString()).toBe('tampered');
    expect(await store.verify(key)).toBe(false);
    expect(existsSync(store.location(key))).toBe(false);
    expect(await store.verify(key)).toBe(false);
  });

  it('fails with BF_IO for a missing blob and BF_INTERNAL for a malformed hash', async () => {
    const store = new DiskBlobStore(dir);
    const e = await store.get(sha('nope')).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BootforgeError);
    expect(e).toMatchObject({ code: 'BF_IO', message: `blob ${sha('nope')} is not in ${dir}` });
    await expect(store.get('../../etc/passwd')).rejects.toMatchObject({ code: 'BF_INTERNAL' });
    expect(() => store.pathOf('ABC')).toThrow(BootforgeError);
  });

  it('survives concurrent puts of the same content', async () => {
    const store = new DiskBlobStore(dir, { fsync: true });
    const data = randomBytes(10_000);
    const keys = await Promise.all(Array.from({ length: 8 }, () => store.put(data)));
    expect(new Set(keys)).toEqual(new Set([sha(data)]));
    expect(filesUnder(dir)).toHaveLength(1);
  });
});
