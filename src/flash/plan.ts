/**
 * What to copy: byte ranges of the image, each with the digest its bytes must
 * have. From a bmap these are its mapped runs; without one, the whole image.
 *
 * The partition tables are what makes a device bootable, so they come last: the
 * writer first clears the device's first MiB (protective MBR, primary GPT) and its
 * last TAIL_BYTES (where a backup GPT lives) and syncs, writes the data and syncs,
 * and only then writes the image's first MiB and last TAIL_BYTES. A flash that stops
 * anywhere before that leaves a device with no partition table at all (not an old
 * one pointing at half-new data), and write-back cannot put the table on the medium
 * before the data.
 */
export const MIB = 1024 * 1024;
/** Bytes written last: the partition table and what shares its first MiB. */
export const HEAD_BYTES = MIB;
/**
 * Bytes at the end cleared first and written last: a backup GPT (header and 128
 * entries) takes 33 sectors of 512 bytes, or 5 of 4096; 64 KiB covers both.
 */
export const TAIL_BYTES = 64 * 1024;
/** Bytes read from the image and written to the devices at a time. */
export const CHUNK_BYTES = 4 * MIB;

export type ChecksumType = 'sha256' | 'sha1';

export interface PlanRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  /** Hex digest of the range's bytes; undefined when not known beforehand (no bmap). */
  readonly checksum: string | undefined;
}

export interface WritePlan {
  readonly imageSize: number;
  readonly checksumType: ChecksumType;
  readonly ranges: readonly PlanRange[];
  /** True when the ranges come from a bmap (only mapped blocks are written). */
  readonly fromBmap: boolean;
}

/** The whole image: the head and the rest, so the head can be written last. */
export function wholeImagePlan(imageSize: number): WritePlan {
  const head = Math.min(HEAD_BYTES, imageSize);
  const ranges = [
    { start: 0, end: head, checksum: undefined },
    ...(imageSize > head ? [{ start: head, end: imageSize, checksum: undefined }] : []),
  ];
  return { imageSize, checksumType: 'sha256', ranges, fromBmap: false };
}

/** Bytes the plan writes. */
export function planBytes(plan: WritePlan): number {
  return plan.ranges.reduce((n, r) => n + (r.end - r.start), 0);
}

/** True when `offset` (the start of a chunk from chunksOf) lies in what is written last: the image's head or tail. */
export function isHeld(offset: number, imageSize: number): boolean {
  return offset < HEAD_BYTES || offset >= imageSize - TAIL_BYTES;
}

/**
 * A range cut into chunks that end at CHUNK_BYTES boundaries, at HEAD_BYTES and at
 * the image's last TAIL_BYTES, so no chunk straddles what is written last.
 */
export function chunksOf(range: PlanRange, imageSize: number): { start: number; end: number }[] {
  const tail = imageSize - TAIL_BYTES;
  const out: { start: number; end: number }[] = [];
  for (let at = range.start; at < range.end;) {
    const boundary = at < HEAD_BYTES ? HEAD_BYTES : (Math.floor(at / CHUNK_BYTES) + 1) * CHUNK_BYTES;
    const end = Math.min(range.end, boundary, at < tail ? tail : Infinity);
    out.push({ start: at, end });
    at = end;
  }
  return out;
}
