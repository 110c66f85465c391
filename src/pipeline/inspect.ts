/**
 * `bootforge inspect <file>`: an initrd, or an installer disk image read without
 * mounting it, with the build's manifest.json and sbom.cdx.json beside it when
 * they belong to it (same disk GUID, same generation).
 */
import { readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { openInput, readInputText } from '../fsutil/read-input.js';
import { imageKind, inspectDiskImage, inspectQcow2Image, type ImageInfo } from '../image/inspect.js';
import { inspectInitrdFile, looksLikeInitrd, type InitrdInfo } from '../initrd/inspect.js';
import type { BuildManifest } from './build.js';
import { SBOM_FILE } from './sbom.js';

export interface DiskImageReport extends ImageInfo {
  readonly kind: 'disk';
  /** manifest.json beside the image, when its disk GUID is the image's. */
  readonly manifest?: {
    readonly file: string;
    readonly profile: string;
    readonly generation: string | undefined;
    readonly kernel: string;
    readonly sourceDateEpoch: number;
    readonly payload: { readonly size: number; readonly uncompressedSize: number };
    readonly packages: Readonly<Record<string, number>>;
  };
  /** sbom.cdx.json beside the image, when it names the image's generation. */
  readonly sbom?: {
    readonly file: string;
    readonly serialNumber: string;
    readonly components: number;
    readonly withLicenses: number;
  };
}

export type InspectReport = DiskImageReport | ({ readonly kind: 'initrd' } & InitrdInfo);

/** What the first sectors say the file is; anything else is refused without reading further. */
function kindOf(path: string): 'initrd' | 'gpt' | 'qcow2' {
  const input = openInput(path, { kind: 'image', allowBlockDevice: true });
  const head = Buffer.alloc(1024);
  try {
    readSync(input.fd, head, 0, head.length, 0);
  } finally {
    input.close();
  }
  const kind = imageKind(head);
  if (kind !== 'other') return kind;
  if (looksLikeInitrd(head)) return 'initrd';
  throw new BootforgeError(
    'BF_NOT_INSPECTABLE',
    `${displayFile(path)} is neither an initrd nor a disk image (it starts with bytes ${head.subarray(0, 8).toString('hex')})`,
  );
}

export interface InspectOptions {
  /** Given what is known of an image (its GPT) when reading the rest fails, before the error is thrown. */
  readonly partial?: (report: InspectReport) => void;
}

export async function inspectFile(path: string, options: InspectOptions = {}): Promise<InspectReport> {
  const kind = kindOf(path);
  if (kind === 'initrd') return { kind: 'initrd', ...(await inspectInitrdFile(path)) };
  const partial = (info: ImageInfo): void => options.partial?.({ kind: 'disk', ...info });
  const image = kind === 'qcow2' ? await inspectQcow2Image(path, partial) : await inspectDiskImage(path, partial);
  const manifest = sidecarManifest(path, image);
  const sbom = sidecarSbom(path, image);
  return { kind: 'disk', ...image, ...(manifest ? { manifest } : {}), ...(sbom ? { sbom } : {}) };
}

/** A sidecar beside the image, bounded like any input; absent, special or unreadable ones are left out. */
function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readInputText(path, { kind: 'manifest' })) as T;
  } catch {
    return undefined;
  }
}

function sidecarManifest(image: string, info: ImageInfo): DiskImageReport['manifest'] {
  const file = join(dirname(image), 'manifest.json');
  const m = readJson<BuildManifest>(file);
  if (m?.disk?.guid === undefined || m.disk.guid !== info.gpt.diskGuid) return undefined;
  return {
    file: displayFile(file),
    profile: m.profile,
    generation: m.generation?.name,
    kernel: m.kernel,
    sourceDateEpoch: m.sourceDateEpoch,
    payload: { size: m.payload.size, uncompressedSize: m.payload.uncompressedSize },
    packages: Object.fromEntries(Object.entries(m.packages).map(([k, v]) => [k, v.length])),
  };
}

interface SbomShape {
  serialNumber?: string;
  metadata?: { properties?: { name: string; value: string }[] };
  components?: { licenses?: unknown[] }[];
}

function sidecarSbom(image: string, info: ImageInfo): DiskImageReport['sbom'] {
  const file = join(dirname(image), SBOM_FILE);
  const s = readJson<SbomShape>(file);
  const generation = s?.metadata?.properties?.find((p) => p.name === 'bootforge:generation:name')?.value;
  if (s === undefined || generation === undefined || generation !== info.payload?.header.generation) return undefined;
  const components = s.components ?? [];
  return {
    file: displayFile(file),
    serialNumber: s.serialNumber ?? '',
    components: components.length,
    withLicenses: components.filter((c) => (c.licenses?.length ?? 0) > 0).length,
  };
}
