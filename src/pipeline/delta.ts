import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Decoder } from '@toondepauw/node-zstd';
import { extract } from 'tar-stream';
import { BootforgeError } from '../errors/index.js';
import type { HardlinkEntry, TreeEntry } from '../fstree/types.js';
import { displayFile } from '../fsutil/display.js';
import { readInput } from '../fsutil/read-input.js';
import { PAYLOAD_HEADER_SIZE, readPayloadHeader, type TarNaming } from '../image/payload.js';
import { zstdFrame } from '../initrd/inspect.js';

/** A file of the base generation, as its tar recorded it. */
export interface BaseFile {
  readonly sha256: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds. */
  readonly mtime: number;
}

/** What a delta bundle may take from the generation the machine already has. */
export interface BaseIndex {
  /** Store name of the base generation (`<id>-<profile>`). */
  readonly name: string;
  readonly files: ReadonlyMap<string, BaseFile>;
}

/**
 * A payload's independent zstd frames, decoded one by one (the binding decodes a single frame),
 * never more than `limit` bytes in all: the header's uncompressed size bounds a bomb.
 */
export async function decodeFrames(payload: Buffer, limit: number, what: string): Promise<Buffer[]> {
  const decoder = new Decoder();
  const parts: Buffer[] = [];
  let total = 0;
  for (let pos = 0; pos < payload.length;) {
    const frame = zstdFrame(payload, pos);
    const part = await decoder.decode(payload.subarray(pos, pos + frame.size));
    total += part.length;
    if (total > limit) {
      throw new BootforgeError(
        'BF_EXPANDS_TOO_FAR',
        `${what}: the payload expands past ${limit} bytes, the size its header gives`,
      );
    }
    parts.push(part);
    pos += frame.size;
  }
  return parts;
}

/** Reads a full bundle's tree: every regular file with its content hash and attributes. */
export async function readBundleIndex(path: string): Promise<BaseIndex> {
  const what = displayFile(path);
  const data = readInput(path, { kind: 'bundle' });
  const h = readPayloadHeader(data, data.length, what);
  if (h.format !== 'tar') {
    throw new BootforgeError('BF_USAGE', `${what} is a ${h.format} bundle; the base must be a full one`, {
      hint: 'build the base without --base',
    });
  }
  const payload = data.subarray(PAYLOAD_HEADER_SIZE, PAYLOAD_HEADER_SIZE + h.size);
  if (createHash('sha256').update(payload).digest('hex') !== h.sha256) {
    throw new BootforgeError('BF_USAGE', `${what} is damaged (its payload does not match its header)`);
  }
  const parts = await decodeFrames(payload, h.uncompressedSize, what);
  const files = new Map<string, BaseFile>();
  const tar = extract();
  tar.on('entry', (entry, stream, next) => {
    const name = entry.name.replace(/^\.(?=\/)/, '');
    if (entry.type !== 'file') {
      stream.on('end', next);
      stream.resume();
      return;
    }
    const hash = createHash('sha256');
    stream.on('data', (c) => hash.update(c as Buffer));
    stream.on('end', () => {
      files.set(name, {
        sha256: hash.digest('hex'),
        mode: (entry.mode ?? 0) & 0o7777,
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        mtime: Math.floor((entry.mtime?.getTime() ?? 0) / 1000),
      });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve);
    tar.on('error', reject);
    Readable.from(parts).pipe(tar);
  });
  return { name: h.generation, files };
}

/** The tar of a delta bundle: the files the base has unchanged become hard links into it. */
export interface DeltaPlan {
  readonly entries: readonly TreeEntry[];
  readonly naming: TarNaming;
  /** Files taken from the base and their bytes (not in the bundle). */
  readonly reused: number;
  readonly reusedBytes: number;
}

/**
 * Unpacked by bootforge-gen in /bootforge/store itself: members are named
 * `.partial-<name>/<path>`; a file that the base generation has with the same content,
 * mode, owner and mtime is a hard link to `<base>/<path>` (same inode, no bytes copied),
 * everything else is carried as in a full bundle.
 */
export function deltaPlan(
  entries: readonly TreeEntry[],
  base: BaseIndex,
  name: string,
  mtimeSeconds: number,
): DeltaPlan {
  const partial = `.partial-${name}`;
  const fromBase = new Set<string>();
  let reusedBytes = 0;
  const out = entries.map((e): TreeEntry => {
    if (e.type !== 'file') return e;
    const b = base.files.get(e.path);
    if (
      !b ||
      b.sha256 !== e.sha256 ||
      b.mode !== e.mode ||
      b.uid !== e.uid ||
      b.gid !== e.gid ||
      b.mtime !== mtimeSeconds
    ) {
      return e;
    }
    fromBase.add(e.path);
    reusedBytes += e.size;
    return { type: 'hardlink', path: e.path, target: e.path, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime };
  });
  return {
    entries: out,
    naming: {
      member: (path) => (path === '/' ? `${partial}/` : `${partial}${path}`),
      link: (e: HardlinkEntry) =>
        fromBase.has(e.path) && e.target === e.path ? `${base.name}${e.target}` : `${partial}${e.target}`,
    },
    reused: fromBase.size,
    reusedBytes,
  };
}
