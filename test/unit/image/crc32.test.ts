import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../src/image/crc32.js';

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('crc32', () => {
  it('gives the check value of CRC-32/ISO-HDLC for "123456789"', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
  });

  it('gives known values for other inputs', () => {
    expect(crc32(Buffer.alloc(0))).toBe(0);
    expect(crc32(ascii('a'))).toBe(0xe8b7be43);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(Buffer.alloc(32))).toBe(0x190a55ad);
    expect(crc32(Buffer.alloc(32, 0xff))).toBe(0xff6cab0b);
  });

  it('returns an unsigned 32-bit number', () => {
    const v = crc32(ascii('123456789'));
    expect(v).toBeGreaterThan(0x7fffffff);
    expect(Number.isInteger(v)).toBe(true);
  });

  it('continues over data given in pieces', () => {
    const data = randomBytes(10_000);
    let c = 0;
    for (let at = 0; at < data.length; at += 777) c = crc32(data.subarray(at, at + 777), c);
    expect(c).toBe(crc32(data));
  });

  it('accepts any Uint8Array view, not only Buffers', () => {
    const data = randomBytes(300);
    const view = new Uint8Array(data.buffer, data.byteOffset + 7, 200);
    expect(crc32(view)).toBe(crc32(Buffer.from(data.subarray(7, 207))));
  });

  // zlib.crc32 exists from Node 20.15 on: where it does, both must agree on arbitrary data.
  const zlibCrc = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  it.skipIf(zlibCrc === undefined)('agrees with zlib.crc32 on random data of many lengths', () => {
    for (const n of [1, 3, 92, 512, 16384, 100_003]) {
      const data = randomBytes(n);
      expect(crc32(data)).toBe(zlibCrc!(data));
    }
  });

  it('checks a GPT entry array (16 KiB) in less than 5 ms on average', () => {
    const array = randomBytes(16384);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) crc32(array);
    expect((performance.now() - t0) / 200).toBeLessThan(5);
  });
});
