/**
 * Builds .deb files in memory for tests, including malformed and malicious
 * ones that no packaging tool would write: an ar writer, tar-stream's packer,
 * gzip from zlib, xz from the `xz` command.
 */
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

export interface ArInput {
  readonly name: string;
  readonly data: Buffer;
}

/** An ar archive as dpkg-deb writes it: short names padded with spaces, members padded to even offsets. */
export function makeAr(members: readonly ArInput[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const { name, data } of members) {
    const field = (text: string, width: number): string => text.padEnd(width, ' ').slice(0, width);
    const header =
      field(name, 16) +
      field('0', 12) +
      field('0', 6) +
      field('0', 6) +
      field('100644', 8) +
      field(String(data.length), 10) +
      '`\n';
    parts.push(Buffer.from(header, 'latin1'), data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

export interface TarInput {
  /** The name as stored in the archive ("./usr/bin/x"); anything goes, that is the point. */
  readonly name: string;
  readonly type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly uname?: string;
  readonly gname?: string;
  readonly linkname?: string;
  readonly content?: string | Buffer;
  readonly devmajor?: number;
  readonly devminor?: number;
}

/** An uncompressed tar (ustar; PAX headers for long names, as tar-stream writes them). */
export async function makeTar(entries: readonly TarInput[]): Promise<Buffer> {
  const packer = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of packer) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header: Header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      uname: e.uname ?? 'root',
      gname: e.gname ?? 'root',
      mtime: new Date(1_700_000_000_000),
      size: 0,
      linkname: e.linkname ?? '',
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
    };
    const content = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      packer.entry({ ...header, size: content.length }, content, (err) => (err ? reject(err) : resolve()));
    });
  }
  packer.finalize();
  await done;
  return Buffer.concat(chunks);
}

export type Compression = 'none' | 'gz' | 'xz';

export function compress(data: Buffer, how: Compression): Buffer {
  switch (how) {
    case 'none':
      return data;
    case 'gz':
      return gzipSync(data);
    case 'xz': {
      const run = spawnSync('xz', ['-c', '-T1', '--check=crc64'], { input: data, maxBuffer: 1 << 30 });
      if (run.status !== 0) throw new Error(`xz failed: ${run.stderr.toString()}`);
      return run.stdout;
    }
  }
}

export const SUFFIX: Record<Compression, string> = { none: '', gz: '.gz', xz: '.xz' };

export interface DebInput {
  readonly package?: string;
  /** Extra control fields after Package; or the whole control file as text. */
  readonly control?: Record<string, string> | string;
  /** More control.tar files (md5sums, postinst, ...). */
  readonly controlFiles?: Record<string, string>;
  readonly data: readonly TarInput[];
  readonly compression?: Compression;
  readonly controlCompression?: Compression;
  readonly debianBinary?: string;
  /** Replace the member list entirely, after it is built (for broken layouts). */
  readonly members?: (built: ArInput[]) => ArInput[];
}

export async function makeDeb(input: DebInput): Promise<Buffer> {
  const pkg = input.package ?? 'hello';
  const controlText =
    typeof input.control === 'string'
      ? input.control
      : Object.entries({ Package: pkg, Version: '1.0-1', Architecture: 'amd64', ...input.control })
          .map(([k, v]) => `${k}: ${v}\n`)
          .join('');
  const controlTar = await makeTar([
    { name: './', type: 'directory' },
    { name: './control', content: controlText },
    ...Object.entries(input.controlFiles ?? {}).map(([name, content]) => ({
      name: `./${name}`,
      content,
      mode: 0o755,
    })),
  ]);
  const dataTar = await makeTar(input.data);
  const cc = input.controlCompression ?? 'xz';
  const dc = input.compression ?? 'xz';
  const members: ArInput[] = [
    { name: 'debian-binary', data: Buffer.from(input.debianBinary ?? '2.0\n') },
    { name: `control.tar${SUFFIX[cc]}`, data: compress(controlTar, cc) },
    { name: `data.tar${SUFFIX[dc]}`, data: compress(dataTar, dc) },
  ];
  return makeAr(input.members ? input.members(members) : members);
}
