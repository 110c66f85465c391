/**
 * Reads an installer disk image back without mounting it: the GPT, the ESP's
 * files and boot loader configuration, and the payload header, checked against
 * the copy on the ESP and the hash the boot entries pin (bootforge.manifest=).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readSync, type Stats } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { openInput } from '../fsutil/read-input.js';
import { readFat32 } from './fat/reader.js';
import { PARTITION_TYPE } from './guid.js';
import { PAYLOAD_HEADER_SIZE, PAYLOAD_MAGIC } from './payload.js';
import { readGpt, SECTOR_SIZE, type BlockReader } from './gpt.js';
import { qcow2Reader } from './qcow2.js';

export type ImageKind = 'gpt' | 'qcow2' | 'other';

/** What a file is, from its first sectors: a GPT disk ("EFI PART" at LBA 1), a qcow2 image, or something else. */
export function imageKind(head: Buffer): ImageKind {
  if (head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2';
  if (head.subarray(SECTOR_SIZE, SECTOR_SIZE + 8).toString('latin1') === 'EFI PART') return 'gpt';
  return 'other';
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  [PARTITION_TYPE.esp]: 'EFI System',
  [PARTITION_TYPE.bootforgePayload]: 'bootforge payload',
  [PARTITION_TYPE.linuxFilesystem]: 'Linux filesystem',
  [PARTITION_TYPE.linuxRootX86_64]: 'Linux root (x86-64)',
  [PARTITION_TYPE.linuxSwap]: 'Linux swap',
};

export interface ImagePartition {
  readonly number: number;
  readonly name: string;
  readonly type: string;
  readonly typeName: string | undefined;
  readonly guid: string;
  /** In 512-byte sectors, as sfdisk --json gives them. */
  readonly start: number;
  readonly sectors: number;
}

export interface ImageInfo {
  readonly size: number;
  readonly gpt: {
    readonly ok: boolean;
    readonly problems: readonly string[];
    readonly diskGuid: string | undefined;
    readonly partitions: readonly ImagePartition[];
  };
  readonly esp?: {
    readonly label: string;
    readonly files: readonly { readonly path: string; readonly size: number }[];
    /** /loader/loader.conf and /loader/entries/*.conf, by path. */
    readonly loader: Readonly<Record<string, string>>;
  };
  readonly payload?: {
    /** The header's `key value` lines. */
    readonly header: Readonly<Record<string, string>>;
    readonly headerSha256: string;
    /** The ESP's /bootforge/payload-header.txt is the same header. */
    readonly espCopyMatches: boolean | undefined;
    /** Boot entries whose bootforge.manifest= names this header's SHA-256, and those that name another. */
    readonly pinnedBy: readonly string[];
    readonly mismatched: readonly string[];
  };
}

/** Called with what is known (the GPT) when reading the rest of an image fails, before the error is thrown. */
export type PartialReport = (info: ImageInfo) => void;

/** Inspects a raw GPT image at `path`: a file or a block device, never anything else. */
export async function inspectDiskImage(path: string, partial?: PartialReport): Promise<ImageInfo> {
  const input = openInput(path, { kind: 'image', allowBlockDevice: true });
  try {
    const size = input.size ?? blockDeviceSize(input.stats);
    const reader: BlockReader = {
      size,
      // eslint-disable-next-line @typescript-eslint/require-await -- a BlockReader may be asynchronous (qcow2)
      read: async (offset, length) => {
        const buf = Buffer.alloc(length);
        readSync(input.fd, buf, 0, Math.max(0, Math.min(length, size - offset)), offset);
        return buf;
      },
    };
    return await inspectReader(reader, partial);
  } catch (e) {
    // The FAT reader knows offsets within the volume only; say which image it was.
    if (e instanceof BootforgeError && e.code === 'BF_FAT_INVALID')
      throw new BootforgeError(e.code, `${displayFile(path)}: the ESP: ${e.message}`, { cause: e });
    throw e;
  } finally {
    input.close();
  }
}

/** A block device's size, which fstat does not give: the kernel's count of 512-byte sectors. */
function blockDeviceSize(stats: Stats): number {
  const major = Math.floor(stats.rdev / 256) & 0xfff;
  const minor = (stats.rdev & 0xff) | ((stats.rdev >> 12) & 0xfff00);
  return Number(readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim()) * 512;
}

/** Inspects a qcow2 image (a build's `--format qcow2`, a vm target) through qemu-img, chunk by chunk. */
export async function inspectQcow2Image(path: string, partial?: PartialReport): Promise<ImageInfo> {
  const scratch = await mkdtemp(join(tmpdir(), 'bootforge-inspect-'));
  try {
    return await inspectReader(await qcow2Reader(path, scratch), partial);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function inspectReader(reader: BlockReader, partial?: PartialReport): Promise<ImageInfo> {
  const report = await readGpt(reader);
  const partitions = report.partitions.map((p) => ({
    number: p.number,
    name: p.name,
    type: p.type,
    typeName: TYPE_NAMES[p.type],
    guid: p.guid,
    start: p.firstLba,
    sectors: p.lastLba - p.firstLba + 1,
  }));
  const info = {
    size: reader.size,
    gpt: { ok: report.ok, problems: report.problems, diskGuid: report.diskGuid, partitions },
  };
  try {
    const espPart = report.partitions.find((p) => p.type === PARTITION_TYPE.esp);
    const esp = espPart && (await readEsp(reader, espPart));
    const payloadPart = report.partitions.find((p) => p.type === PARTITION_TYPE.bootforgePayload);
    const payload = payloadPart && readPayload(await reader.read(payloadPart.start, PAYLOAD_HEADER_SIZE), esp);
    return { ...info, ...(esp ? { esp: esp.summary } : {}), ...(payload ? { payload } : {}) };
  } catch (e) {
    partial?.(info);
    throw e;
  }
}

/** loader.conf and entry files are a few hundred bytes; a larger one is not read into the report. */
const MAX_LOADER_FILE = 64 * 1024;

async function readEsp(reader: BlockReader, part: { start: number; firstLba: number; lastLba: number }) {
  const end = (part.lastLba + 1) * SECTOR_SIZE;
  if (end > reader.size)
    throw new BootforgeError(
      'BF_FAT_INVALID',
      `its partition (sectors ${part.firstLba}-${part.lastLba}) ends at byte ${end}, beyond the end of the image (${reader.size} bytes)`,
    );
  const fat = await readFat32((o, l) => reader.read(part.start + o, l));
  const files = (await fat.list()).filter((e) => e.type === 'file').map((e) => ({ path: e.path, size: e.size }));
  const loader: Record<string, string> = {};
  for (const f of files) {
    if (f.path === '/loader/loader.conf' || /^\/loader\/entries\/[^/]+\.conf$/.test(f.path))
      loader[f.path] =
        f.size > MAX_LOADER_FILE
          ? `(${f.size} bytes: larger than a loader file, not shown)\n`
          : (await fat.readFile(f.path)).toString('utf8');
  }
  // A copy larger than the header block cannot equal it: not read.
  const copy = files.find((f) => f.path === '/bootforge/payload-header.txt');
  const header =
    copy === undefined
      ? undefined
      : copy.size > PAYLOAD_HEADER_SIZE
        ? Buffer.alloc(PAYLOAD_HEADER_SIZE + 1)
        : await fat.readFile(copy.path);
  return { summary: { label: fat.info.label, files, loader }, header };
}

function readPayload(
  block: Buffer,
  esp: { summary: { loader: Readonly<Record<string, string>> }; header: Buffer | undefined } | undefined,
): ImageInfo['payload'] {
  const end = block.indexOf(0);
  const text = block.subarray(0, end < 0 ? block.length : end).toString('utf8');
  const [magic, ...lines] = text.split('\n');
  if (magic !== PAYLOAD_MAGIC) return undefined;
  // Keys come from the image: an object without a prototype keeps __proto__ a plain field.
  const header = Object.create(null) as Record<string, string>;
  for (const line of lines) {
    if (line === 'end') break;
    const space = line.indexOf(' ');
    if (space > 0) header[line.slice(0, space)] = line.slice(space + 1);
  }
  const headerSha256 = createHash('sha256').update(block).digest('hex');
  const pinnedBy: string[] = [];
  const mismatched: string[] = [];
  for (const [path, conf] of Object.entries(esp?.summary.loader ?? {})) {
    const pinned = /\bbootforge\.manifest=([0-9a-f]{64})\b/.exec(conf)?.[1];
    if (pinned === undefined) continue;
    (pinned === headerSha256 ? pinnedBy : mismatched).push(path);
  }
  return {
    header,
    headerSha256,
    espCopyMatches:
      esp?.header === undefined ? undefined : esp.header.equals(block.subarray(0, end < 0 ? undefined : end)),
    pinnedBy,
    mismatched,
  };
}
