import { describe, expect, it } from 'vitest';
import { BootforgeError } from '../../../src/errors/index.js';
import {
  canonicalGuid,
  formatGuid,
  guidFromHash,
  isGuid,
  NIL_GUID,
  parseGuid,
  PARTITION_TYPE,
} from '../../../src/image/guid.js';

const hex = (b: Buffer): string => b.toString('hex').toUpperCase();

describe('GUIDs on disk', () => {
  it('stores the ESP type GUID in mixed-endian order (UEFI appendix A)', () => {
    // C12A7328-F81F-11D2-BA4B-00A0C93EC93B: the first three groups byte-swapped, the rest as written.
    expect(hex(parseGuid(PARTITION_TYPE.esp))).toBe('28732AC11FF8D211BA4B00A0C93EC93B');
    expect(formatGuid(Buffer.from('28732AC11FF8D211BA4B00A0C93EC93B', 'hex'))).toBe(PARTITION_TYPE.esp);
  });

  it('stores the Linux filesystem type GUID as fdisk does', () => {
    expect(hex(parseGuid(PARTITION_TYPE.linuxFilesystem))).toBe('AF3DC60F838472478E793D69D8477DE4');
  });

  it('round-trips every well-known type GUID', () => {
    for (const guid of Object.values(PARTITION_TYPE)) {
      expect(isGuid(guid)).toBe(true);
      expect(canonicalGuid(guid)).toBe(guid);
      expect(formatGuid(parseGuid(guid))).toBe(guid);
    }
  });

  it('has the values the specifications give (and the payload type never changes)', () => {
    expect(PARTITION_TYPE).toEqual({
      esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
      linuxFilesystem: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
      linuxRootX86_64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
      linuxSwap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
      bootforgePayload: '2F53B482-62F1-437C-8E89-CE49D72EE1EA',
    });
  });

  it('reads a GUID at an offset of a larger buffer', () => {
    const buf = Buffer.concat([Buffer.alloc(5, 0xaa), parseGuid(PARTITION_TYPE.linuxSwap), Buffer.alloc(3)]);
    expect(formatGuid(buf, 5)).toBe(PARTITION_TYPE.linuxSwap);
    expect(formatGuid(new Uint8Array(buf.buffer, buf.byteOffset + 5, 16))).toBe(PARTITION_TYPE.linuxSwap);
    expect(() => formatGuid(buf, 10)).toThrow(BootforgeError);
  });
});

describe('GUID text', () => {
  it('accepts lower case and braces, and prints upper case without braces', () => {
    expect(canonicalGuid('{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}')).toBe(PARTITION_TYPE.esp);
    expect(canonicalGuid('c12a7328-f81f-11d2-ba4b-00a0c93ec93b')).toBe(PARTITION_TYPE.esp);
    expect(formatGuid(Buffer.alloc(16))).toBe(NIL_GUID);
  });

  it.each([
    'C12A7328F81F11D2BA4B00A0C93EC93B',
    'C12A7328-F81F-11D2-BA4B-00A0C93EC93',
    'C12A7328-F81F-11D2-BA4B-00A0C93EC93BB',
    'G12A7328-F81F-11D2-BA4B-00A0C93EC93B',
    '{C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
    ' C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
    '',
  ])('rejects %j with BF_INVALID_VALUE naming the value', (text) => {
    expect(isGuid(text)).toBe(false);
    let error: unknown;
    try {
      parseGuid(text, 'disk.guid');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BootforgeError);
    expect((error as BootforgeError).code).toBe('BF_INVALID_VALUE');
    expect((error as BootforgeError).message).toBe(`disk.guid: ${JSON.stringify(text)} is not a GUID`);
  });
});

describe('guidFromHash', () => {
  it('is deterministic, and its derivation is pinned (changing it changes every image)', () => {
    // Computed independently: SHA-256("bootforge.guid.v1\0" || u64be(9) "bootforge" || u64be(4) "disk"),
    // first 16 bytes, version 4, RFC variant.
    expect(guidFromHash('bootforge', 'disk')).toBe('7E8E1A53-1550-4776-9570-A8ECC7A251CB');
    expect(guidFromHash('bootforge', 'disk')).toBe(guidFromHash('bootforge', 'disk'));
  });

  it('has the version 4 and RFC variant bits, in text and on disk', () => {
    for (let i = 0; i < 200; i++) {
      const g = guidFromHash('x', String(i));
      expect(g).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
      const disk = parseGuid(g);
      expect(disk[7]! >> 4).toBe(4); // the version nibble sits in the high nibble of byte 7 on disk
      expect(disk[8]! >> 6).toBe(0b10);
    }
  });

  it('depends on the parts and on where they split', () => {
    const seen = new Set([
      guidFromHash(),
      guidFromHash(''),
      guidFromHash('', ''),
      guidFromHash('ab', 'c'),
      guidFromHash('a', 'bc'),
      guidFromHash('abc'),
      guidFromHash('c', 'ab'),
    ]);
    expect(seen.size).toBe(7);
  });

  it('treats a string as its UTF-8 bytes', () => {
    expect(guidFromHash('grüße', Buffer.from([1, 2, 3]))).toBe(
      guidFromHash(Buffer.from('grüße', 'utf8'), new Uint8Array([1, 2, 3])),
    );
  });
});
