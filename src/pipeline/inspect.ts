/**
 * `bootforge inspect <file>`: an initrd, or an installer disk image read without
 * mounting it, with the build's manifest.json and sbom.cdx.json beside it when
 * they belong to it (same disk GUID, same generation).
 */
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { displayFile } from '../fsutil/display.js';
import { imageKind, inspectDiskImage, inspectQcow2Image, type ImageInfo } from '../image/inspect.js';
import { inspectInitrdFile, type InitrdInfo } from '../initrd/inspect.js';
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

/** What the first sectors say the file is. */
async function kindOf(path: string) {
  const handle = await open(path, 'r').catch((cause: Error) => {
    throw new BootforgeError('BF_IO', `cannot read ${displayFile(path)}: ${cause.message}`, { cause });
  });
  try {
    const head = Buffer.alloc(1024);
    await handle.read(head, 0, head.length, 0);
    return imageKind(head);
  } finally {
    await handle.close();
  }
}

export async function inspectFile(path: string): Promise<InspectReport> {
  const kind = await kindOf(path);
  if (kind === 'other') return { kind: 'initrd', ...(await inspectInitrdFile(path)) };
  const image = kind === 'qcow2' ? await inspectQcow2Image(path) : await inspectDiskImage(path);
  const manifest = await sidecarManifest(path, image);
  const sbom = await sidecarSbom(path, image);
  return { kind: 'disk', ...image, ...(manifest ? { manifest } : {}), ...(sbom ? { sbom } : {}) };
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function sidecarManifest(image: string, info: ImageInfo): Promise<DiskImageReport['manifest']> {
  const file = join(dirname(image), 'manifest.json');
  const m = await readJson<BuildManifest>(file);
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

async function sidecarSbom(image: string, info: ImageInfo): Promise<DiskImageReport['sbom']> {
  const file = join(dirname(image), SBOM_FILE);
  const s = await readJson<SbomShape>(file);
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
