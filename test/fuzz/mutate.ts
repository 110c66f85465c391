/**
 * Mutations of a valid sample, which reach far deeper into a parser than random
 * bytes: bit flips, truncation, insertion, deletion, a block copied elsewhere, and
 * length/count/offset fields overwritten with extreme values. A case is the list of
 * mutations (what fast-check prints and shrinks), applied to the sample in order.
 */
import fc from 'fast-check';

export type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'copy'; readonly from: number; readonly at: number; readonly length: number }
  | { readonly op: 'truncate'; readonly length: number };

/** Byte ranges [start, end) where a format keeps its headers: mutations favour them. */
export type HotRanges = readonly (readonly [number, number])[];

export interface SampleOptions {
  readonly hot?: HotRanges;
  /** Also write numbers as ASCII digits (deb822, bmap, ar headers, YAML). */
  readonly text?: boolean;
  /** Only the ops a fixed-size image takes (flip, set, truncate); see overlayReader. */
  readonly inPlace?: boolean;
  readonly maxMutations?: number;
}

const EXTREMES = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const TEXT_NUMBERS = ['0', '-1', '4294967295', '4294967296', '9007199254740993', '9'.repeat(40), '1e308', 'NaN', ' '];
// cpio newc's fields are 8 hex digits.
const HEX_NUMBERS = ['FFFFFFFF', '7FFFFFFF', '80000000', '00000000', 'FFFFFFF0', '00001001', 'fffffffe'];

/** An integer field of 1, 2, 4 or 8 bytes holding an extreme value, little- or big-endian. */
const binaryField: fc.Arbitrary<number[]> = fc
  .tuple(fc.constantFrom(1, 2, 4, 8), fc.boolean(), fc.constantFrom(...EXTREMES), fc.bigInt({ min: 0n, max: 0xffn }))
  .map(([width, littleEndian, extreme, small]) => {
    const value = (extreme === 0n ? small : extreme) & ((1n << BigInt(8 * width)) - 1n);
    const bytes = Array.from({ length: width }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));
    return littleEndian ? bytes : bytes.reverse();
  });

const textField: fc.Arbitrary<number[]> = fc
  .constantFrom(...TEXT_NUMBERS, ...HEX_NUMBERS)
  .map((s) => [...Buffer.from(s, 'latin1')]);

/** A position in the sample, half the time inside a hot range. */
function position(length: number, hot: HotRanges): fc.Arbitrary<number> {
  const anywhere = fc.nat({ max: Math.max(0, length - 1) });
  const inHot = hot.filter(([a, b]) => b > a).map(([a, b]) => fc.integer({ min: a, max: b - 1 }));
  return inHot.length === 0 ? anywhere : fc.oneof(anywhere, ...inHot);
}

function mutation(length: number, options: SampleOptions): fc.Arbitrary<Mutation> {
  const at = position(length, options.hot ?? []);
  const field = options.text ? fc.oneof(binaryField, textField) : binaryField;
  const flip = fc.record({ op: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) });
  const set = fc.record({
    op: fc.constant('set' as const),
    at,
    bytes: fc.oneof(field, fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 8 })),
  });
  const truncate = fc.record({ op: fc.constant('truncate' as const), length: fc.nat({ max: length }) });
  if (options.inPlace) return fc.oneof(flip, set, truncate);
  return fc.oneof(
    flip,
    set,
    truncate,
    fc.record({
      op: fc.constant('insert' as const),
      at,
      bytes: fc.oneof(field, fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 64 })),
    }),
    fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ op: fc.constant('copy' as const), from: at, at, length: fc.integer({ min: 1, max: 512 }) }),
  );
}

/** One to `maxMutations` (default 4) mutations of a sample of `length` bytes. */
export function mutations(length: number, options: SampleOptions = {}): fc.Arbitrary<Mutation[]> {
  return fc.array(mutation(length, options), { minLength: 1, maxLength: options.maxMutations ?? 4 });
}

/** The sample with the mutations applied in order (positions past a shortened end wrap around). */
export function mutate(sample: Buffer, list: readonly Mutation[]): Buffer {
  let b: Buffer = Buffer.from(sample);
  for (const m of list) b = applyOne(b, m);
  return b;
}

function applyOne(b: Buffer, m: Mutation): Buffer {
  if (m.op === 'truncate') return b.subarray(0, m.length);
  if (b.length === 0) return m.op === 'insert' ? Buffer.from(m.bytes) : b;
  const at = m.at % b.length;
  switch (m.op) {
    case 'flip':
      b[at] = (b[at] ?? 0) ^ (1 << m.bit);
      return b;
    case 'set':
      Buffer.from(m.bytes).copy(b, at);
      return b;
    case 'insert':
      return Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
    case 'copy':
      b.copy(b, at, m.from % b.length, (m.from % b.length) + m.length);
      return b;
  }
}

/** Random access to a large image (read like inspect's file reader) without copying it per case: flips, sets and truncation only. */
export interface OverlayReader {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

/** Reads never asked for more than this (the images are tens of MiB): a larger one came from a field left unbounded. */
export const MAX_READ = 64 * 1024 * 1024;

export function overlayReader(base: Buffer, list: readonly Mutation[]): OverlayReader {
  const size = list.reduce((n, m) => (m.op === 'truncate' ? Math.min(n, m.length) : n), base.length);
  const patches = list.flatMap((m) => {
    if (m.op === 'flip') return [{ at: m.at, bytes: Buffer.from([(base[m.at] ?? 0) ^ (1 << m.bit)]) }];
    if (m.op === 'set') return [{ at: m.at, bytes: Buffer.from(m.bytes) }];
    return [];
  });
  const readNow = (offset: number, length: number): Buffer => {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0)
      throw new Error(`read(${offset}, ${length}): not a byte range`);
    if (length > MAX_READ) throw new Error(`read(${offset}, ${length}): a read larger than the image`);
    // As inspect's reader: a zeroed buffer of the length asked, filled from what the file has.
    const out = Buffer.alloc(length);
    if (offset < size) base.copy(out, 0, offset, Math.min(size, offset + length));
    for (const p of patches) {
      for (let i = 0; i < p.bytes.length; i++) {
        const pos = p.at + i;
        if (pos >= offset && pos < offset + length && pos < size) out[pos - offset] = p.bytes[i] ?? 0;
      }
    }
    return out;
  };
  // A throw becomes a rejection, as from a file read.
  return { size, read: (offset, length) => new Promise((resolve) => resolve(readNow(offset, length))) };
}
