/**
 * CRC-32 as the GPT of the UEFI specification (chapter 5) uses it for its headers and entry arrays:
 * the IEEE 802.3 polynomial 0x04C11DB7 in its reflected form 0xEDB88320, initial
 * value 0xFFFFFFFF, final XOR 0xFFFFFFFF; the same CRC as zlib's crc32() and
 * `cksum -a crc32b`. Byte-at-a-time with one 256-entry table: a GPT needs it over
 * 92 header bytes and a 16 KiB entry array, where speed does not matter.
 * (Node's zlib.crc32 computes the same value from 20.15 on; the unit test checks
 * the two agree, so either may stand in for the other.)
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32 of `data`, as an unsigned 32-bit number. Pass the result of an earlier
 * call as `previous` to continue over data that arrives in pieces:
 * `crc32(b, crc32(a)) === crc32(Buffer.concat([a, b]))`.
 */
export function crc32(data: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) {
    // Both indexes are in range (a byte, and a table of 256): the `!` only quiets noUncheckedIndexedAccess.
    c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  }
  return ~c >>> 0;
}
