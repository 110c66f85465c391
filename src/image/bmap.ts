/**
 * Block maps in bmaptool's format, version 2.0 (the one bmaptool 3.x and 4.x write
 * and read, and that bootforge's flasher reads): an XML file listing the 4 KiB
 * blocks of an image that hold data, each run of blocks with the SHA-256 of its
 * bytes. bmaptool copies only those blocks and verifies each run as it goes; the
 * other blocks of the target are not written at all.
 *
 * Format facts (from bmaptool's documentation and its BmapCreate/BmapCopy):
 * - the root is <bmap version="2.0"> with ImageSize (bytes), BlockSize, BlocksCount
 *   (ImageSize / BlockSize rounded up), MappedBlocksCount, ChecksumType, and
 *   BmapFileChecksum, then <BlockMap> with <Range chksum="hex"> first-last </Range>
 *   (inclusive block numbers; a single block is written without "-last");
 * - BmapFileChecksum is the checksum of the whole file as it reads with that value
 *   replaced by as many ASCII "0" as the checksum has digits;
 * - a range's checksum covers its bytes up to the end of the image (the last block
 *   may be partial).
 *
 * The mapped ranges come from SparseImage, which knows what was written; this file
 * does not ask the file system where data is.
 */
import { createHash } from 'node:crypto';
import { open, rename, writeFile } from 'node:fs/promises';
import { BootforgeError } from '../errors/index.js';
import { formatSize } from '../schema/size.js';
import type { ByteRange } from './sparse.js';

export const BMAP_BLOCK_SIZE = 4096;

export type BmapChecksumType = 'sha256' | 'sha1';

/** A run of mapped blocks, both ends inclusive. */
export interface BmapRange {
  readonly first: number;
  readonly last: number;
  /** Hex digest of the run's bytes; undefined when the bmap gives none. */
  readonly checksum: string | undefined;
}

export interface Bmap {
  readonly version: string;
  readonly imageSize: number;
  readonly blockSize: number;
  readonly blocksCount: number;
  readonly mappedBlocksCount: number;
  readonly checksumType: BmapChecksumType;
  readonly bmapFileChecksum: string;
  readonly ranges: readonly BmapRange[];
}

const DIGEST_HEX_LENGTH: Record<BmapChecksumType, number> = { sha256: 64, sha1: 40 };

const bmapError = (label: string, message: string): BootforgeError =>
  new BootforgeError('BF_BMAP', `${label}: ${message}`);

/**
 * Byte ranges as runs of whole blocks: each range widened to the blocks it touches,
 * then runs that overlap or touch merged.
 */
export function blockRanges(
  ranges: readonly ByteRange[],
  blockSize = BMAP_BLOCK_SIZE,
): { first: number; last: number }[] {
  const blocks = ranges
    .filter((r) => r.end > r.start)
    .map((r) => ({ first: Math.floor(r.start / blockSize), last: Math.floor((r.end - 1) / blockSize) }))
    .sort((a, b) => a.first - b.first);
  const out: { first: number; last: number }[] = [];
  for (const b of blocks) {
    const prev = out[out.length - 1];
    if (prev && b.first <= prev.last + 1) prev.last = Math.max(prev.last, b.last);
    else out.push({ ...b });
  }
  return out;
}

/**
 * The text of a .bmap for the image at `imagePath`, whose data lies in `ranges`
 * (SparseImage's finalize().ranges). Reads those ranges back to checksum them; the
 * text depends only on the image's size and the bytes in the ranges, so a
 * reproducible image has a reproducible bmap.
 */
export async function createBmap(imagePath: string, ranges: readonly ByteRange[]): Promise<string> {
  const blockSize = BMAP_BLOCK_SIZE;
  const handle = await open(imagePath, 'r').catch((e: unknown) => {
    throw ioError(imagePath, 'cannot open the image', e);
  });
  try {
    const imageSize = (await handle.stat()).size;
    const blocksCount = Math.ceil(imageSize / blockSize);
    const runs = blockRanges(ranges, blockSize);
    const outside = runs.find((r) => r.last >= blocksCount);
    if (outside) {
      throw new BootforgeError(
        'BF_INTERNAL',
        `${imagePath}: mapped block ${outside.last} lies past the image's ${blocksCount} blocks`,
      );
    }
    const lines: string[] = [];
    let mapped = 0;
    for (const r of runs) {
      const start = r.first * blockSize;
      const end = Math.min(imageSize, (r.last + 1) * blockSize);
      const digest = await hashRange(handle, start, end, 'sha256', imagePath);
      mapped += r.last - r.first + 1;
      const blocks = r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`;
      lines.push(`        <Range chksum="${digest}"> ${blocks} </Range>`);
    }
    const percent = blocksCount === 0 ? 0 : (mapped * 100) / blocksCount;
    const placeholder = '0'.repeat(DIGEST_HEX_LENGTH.sha256);
    const text = [
      '<?xml version="1.0" ?>',
      '<!-- The blocks of a disk image that hold data, for bmaptool copy and bootforge.',
      '     Blocks not listed read as zeros: a flasher need not copy them. Written by bootforge. -->',
      '<bmap version="2.0">',
      `    <!-- Image size in bytes (${formatSize(imageSize)}) -->`,
      `    <ImageSize> ${imageSize} </ImageSize>`,
      '',
      '    <!-- Bytes per block -->',
      `    <BlockSize> ${blockSize} </BlockSize>`,
      '',
      '    <!-- Blocks in the image, the last one possibly partial -->',
      `    <BlocksCount> ${blocksCount} </BlocksCount>`,
      '',
      `    <!-- Blocks listed below: ${formatSize(mapped * blockSize)}, ${percent.toFixed(1)}% of the image -->`,
      `    <MappedBlocksCount> ${mapped} </MappedBlocksCount>`,
      '',
      '    <!-- Digest of the ranges below and of this file -->',
      '    <ChecksumType> sha256 </ChecksumType>',
      '',
      '    <!-- Digest of this file as it reads with this value set to all "0" -->',
      `    <BmapFileChecksum> ${placeholder} </BmapFileChecksum>`,
      '',
      '    <!-- Runs of blocks first-last (inclusive), each with the digest of its bytes -->',
      '    <BlockMap>',
      ...lines,
      '    </BlockMap>',
      '</bmap>',
      '',
    ].join('\n');
    const own = createHash('sha256').update(text).digest('hex');
    const field = `<BmapFileChecksum> ${placeholder} </BmapFileChecksum>`;
    return text.replace(field, `<BmapFileChecksum> ${own} </BmapFileChecksum>`);
  } finally {
    await handle.close();
  }
}

/** createBmap, written to `bmapPath` (through a temporary file and a rename); returns the parsed result. */
export async function writeBmap(imagePath: string, ranges: readonly ByteRange[], bmapPath: string): Promise<Bmap> {
  const text = await createBmap(imagePath, ranges);
  const tmp = `${bmapPath}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, bmapPath);
  } catch (e) {
    throw ioError(bmapPath, 'cannot write the block map', e);
  }
  return readBmap(text, bmapPath);
}

/**
 * Parses a .bmap of format 2.x (or 1.4, its identical predecessor) and checks it
 * is whole: its own checksum, counts that add up, ranges in order and inside the
 * image. Throws BF_BMAP naming `label` (the file) otherwise.
 */
export function readBmap(text: string, label = 'block map'): Bmap {
  const bad = (message: string): BootforgeError => bmapError(label, message);
  const body = blankComments(text);
  const root = /<bmap\s+version\s*=\s*"([0-9]+)\.([0-9]+)"\s*>/.exec(body);
  if (!root || !/<\/bmap>\s*$/.test(body)) throw bad('not a block map (no <bmap version="..."> ... </bmap>)');
  const version = `${root[1]}.${root[2]}`;
  if (!(root[1] === '2' || version === '1.4')) {
    throw bad(
      `format version ${version} is not supported; bootforge reads version 2.x (bmaptool 3.0 and later write it)`,
    );
  }
  const element = (name: string): { value: string; index: number } => {
    const all = [...body.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))];
    const m = all[0];
    if (!m || all.length > 1) throw bad(`<${name}> must appear exactly once`);
    const value = m[1]!.trim();
    return { value, index: m.index + `<${name}>`.length + m[1]!.indexOf(value) };
  };
  const count = (name: string): number => {
    const { value } = element(name);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw bad(`<${name}> is ${JSON.stringify(value)}, not a whole number`);
    }
    return Number(value);
  };
  const imageSize = count('ImageSize');
  const blockSize = count('BlockSize');
  const blocksCount = count('BlocksCount');
  const mappedBlocksCount = count('MappedBlocksCount');
  const type = element('ChecksumType').value;
  if (type !== 'sha256' && type !== 'sha1') throw bad(`checksum type ${JSON.stringify(type)} is not sha256 or sha1`);
  const checksumType: BmapChecksumType = type;
  const hexLength = DIGEST_HEX_LENGTH[checksumType];
  const digestPattern = new RegExp(`^[0-9a-f]{${hexLength}}$`);
  const own = element('BmapFileChecksum');
  if (!digestPattern.test(own.value)) throw bad(`<BmapFileChecksum> is not a ${checksumType} digest`);
  const zeroed = text.slice(0, own.index) + '0'.repeat(hexLength) + text.slice(own.index + hexLength);
  const actual = createHash(checksumType).update(zeroed).digest('hex');
  if (actual !== own.value) {
    throw bad(`the file's checksum is ${actual}, but it says ${own.value}: the block map was changed or truncated`);
  }

  if (blockSize === 0 || blockSize % 512 !== 0) throw bad(`block size ${blockSize} is not a multiple of 512`);
  if (blocksCount !== Math.ceil(imageSize / blockSize)) {
    throw bad(`${blocksCount} blocks of ${blockSize} bytes do not make an image of ${imageSize} bytes`);
  }
  // From the first <BlockMap> to the last </BlockMap>, found by search: a regular expression
  // would scan to the end once per <BlockMap> when none closes.
  const mapStart = body.indexOf('<BlockMap>');
  const mapEnd = body.lastIndexOf('</BlockMap>');
  if (mapStart < 0 || mapEnd < mapStart + '<BlockMap>'.length) throw bad('<BlockMap> is missing');
  const ranges: BmapRange[] = [];
  // [^<>]: an attribute cannot hold "<", and a "<Range" that never closes is then passed over once, not once per "<Range".
  const rest = body
    .slice(mapStart + '<BlockMap>'.length, mapEnd)
    .replace(/<Range\b([^<>]*)>([^<]*)<\/Range>/g, (_all, attrs: string, blocks: string) => {
      const b = /^\s*([0-9]+)(?:\s*-\s*([0-9]+))?\s*$/.exec(blocks);
      if (!b) throw bad(`a <Range> holds ${JSON.stringify(blocks.trim())}, not "first-last" or "block"`);
      const first = Number(b[1]);
      const last = b[2] === undefined ? first : Number(b[2]);
      const sum = /\bchksum\s*=\s*"([^"]*)"/.exec(attrs)?.[1];
      if (sum !== undefined && !digestPattern.test(sum)) throw bad(`range ${first}-${last} has a malformed checksum`);
      ranges.push({ first, last, checksum: sum });
      return '';
    });
  if (rest.trim() !== '')
    throw bad(`<BlockMap> holds something other than <Range> elements: ${rest.trim().slice(0, 60)}`);
  let mapped = 0;
  let previousLast = -1;
  for (const r of ranges) {
    if (r.last < r.first) throw bad(`range ${r.first}-${r.last} ends before it starts`);
    if (r.first <= previousLast) throw bad(`range ${r.first}-${r.last} is out of order or overlaps the one before`);
    if (r.last >= blocksCount) throw bad(`range ${r.first}-${r.last} lies past the image's ${blocksCount} blocks`);
    mapped += r.last - r.first + 1;
    previousLast = r.last;
  }
  if (mapped !== mappedBlocksCount)
    throw bad(`the ranges hold ${mapped} blocks, but MappedBlocksCount says ${mappedBlocksCount}`);
  return {
    version,
    imageSize,
    blockSize,
    blocksCount,
    mappedBlocksCount,
    checksumType,
    bmapFileChecksum: own.value,
    ranges,
  };
}

/**
 * The text with each XML comment replaced by as many spaces, so offsets still match.
 * A scan, not a lazy regular expression: that one retries from every unclosed
 * "<!--" to the end of the text, hours for a hostile 64 MiB bmap.
 */
function blankComments(text: string): string {
  const parts: string[] = [];
  let from = 0;
  for (;;) {
    const open = text.indexOf('<!--', from);
    const close = open < 0 ? -1 : text.indexOf('-->', open + 4);
    if (close < 0) break;
    parts.push(text.slice(from, open), ' '.repeat(close + 3 - open));
    from = close + 3;
  }
  parts.push(text.slice(from));
  return parts.join('');
}

export interface BmapVerification {
  /** The image has the bmap's size and every range's bytes have its checksum. */
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/** Checks an image file against its bmap: its size, and the checksum of every mapped range. */
export async function verifyBmap(imagePath: string, bmap: Bmap): Promise<BmapVerification> {
  const handle = await open(imagePath, 'r').catch((e: unknown) => {
    throw ioError(imagePath, 'cannot open the image', e);
  });
  try {
    const problems: string[] = [];
    const size = (await handle.stat()).size;
    if (size !== bmap.imageSize) problems.push(`the image has ${size} bytes, the bmap describes ${bmap.imageSize}`);
    for (const r of bmap.ranges) {
      if (r.checksum === undefined) continue;
      const start = r.first * bmap.blockSize;
      const end = Math.min(bmap.imageSize, (r.last + 1) * bmap.blockSize);
      const actual = await hashRange(handle, start, end, bmap.checksumType, imagePath);
      if (actual !== r.checksum) {
        problems.push(`blocks ${r.first}-${r.last}: ${bmap.checksumType} is ${actual}, the bmap says ${r.checksum}`);
      }
    }
    return { ok: problems.length === 0, problems };
  } finally {
    await handle.close();
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

/** Digest of bytes [start, end) of an open file, read 1 MiB at a time; bytes past the file's end count as zeros. */
async function hashRange(
  handle: Handle,
  start: number,
  end: number,
  type: BmapChecksumType,
  path: string,
): Promise<string> {
  const hash = createHash(type);
  const chunk = Buffer.alloc(Math.min(1024 * 1024, Math.max(1, end - start)));
  for (let at = start; at < end;) {
    const length = Math.min(chunk.length, end - at);
    let got: number;
    try {
      got = (await handle.read(chunk, 0, length, at)).bytesRead;
    } catch (e) {
      throw ioError(path, `cannot read ${length} bytes at offset ${at}`, e);
    }
    if (got === 0) {
      // Past the end of the file (an image truncated after its bmap was made): zeros, so the digest differs.
      got = length;
      chunk.fill(0, 0, length);
    }
    hash.update(chunk.subarray(0, got));
    at += got;
  }
  return hash.digest('hex');
}

function ioError(path: string, what: string, cause: unknown): BootforgeError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new BootforgeError('BF_IO', `${path}: ${what}: ${message}`, { cause });
}
