/**
 * What to copy: byte ranges of the image, each with the digest its bytes must
 * have. From a bmap these are its mapped runs; without one, the whole image. The
 * first MiB (protective MBR, primary GPT) is written last, so a flash that stops
 * half way leaves a device no firmware will boot (coreos-installer does the same).
 */
export const MIB = 1024 * 1024;
/** Bytes written last: the partition table and what shares its first MiB. */
export const HEAD_BYTES = MIB;
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

/** A range cut into chunks that end at CHUNK_BYTES boundaries and at HEAD_BYTES, so no chunk straddles the head. */
export function chunksOf(range: PlanRange): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let at = range.start; at < range.end;) {
    const boundary = at < HEAD_BYTES ? HEAD_BYTES : (Math.floor(at / CHUNK_BYTES) + 1) * CHUNK_BYTES;
    const end = Math.min(range.end, boundary);
    out.push({ start: at, end });
    at = end;
  }
  return out;
}
