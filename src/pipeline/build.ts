import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import { run } from '../exec/run.js';
import { writeBmap } from '../image/bmap.js';
import { guidFromHash } from '../image/guid.js';
import { writeInstallerDisk } from '../image/installer-disk.js';
import { storeBlobs } from '../packages/unpack.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import { timedSteps } from './steps.js';
import { renderTemplate } from '../templates/render.js';
import { buildInitrd, type InitrdArtifact } from './initrd.js';
import { buildGenerationPayload } from './generation-payload.js';
import { writeBundle } from './bundle.js';
import { assembleTreeOf, buildEpoch, closurePackages, unpackPackages, type PackageSource } from './packages.js';
import { hardwareHashes, makeSbom, SBOM_FILE, storeReaders } from './sbom.js';

export interface BuildOptions {
  readonly profile: ResolvedProfile;
  readonly source: PackageSource;
  /** Output folder; default out/<profile name>. */
  readonly out?: string;
  readonly format?: 'raw' | 'qcow2';
  readonly sourceDateEpoch?: number;
  /** zstd level of the payload. */
  readonly payloadLevel?: number;
  /** Also write the generation as an update bundle (`<id>-<profile>.bundle`) for bootforge-gen switch. */
  readonly bundle?: boolean;
}

export interface BuildResult {
  readonly out: string;
  readonly image: string;
  readonly size: number;
  readonly mappedBytes: number;
  readonly sha256: string;
  readonly manifest: BuildManifest;
  readonly timings: Readonly<Record<string, number>>;
}

export interface BuildManifest {
  readonly bootforge: string;
  readonly profile: string;
  readonly profileSha256: string;
  readonly hardware: { readonly mode: string; readonly ids: readonly string[] };
  readonly lockSha256: string | null;
  readonly sourceDateEpoch: number;
  readonly kernel: string;
  readonly payload: {
    readonly sha256: string;
    readonly size: number;
    readonly uncompressedSize: number;
    readonly compression: string;
  };
  readonly packages: Readonly<
    Record<string, readonly { name: string; version: string; architecture: string; sha256: string }[]>
  >;
  readonly artifacts: Readonly<Record<string, { readonly sha256: string; readonly size: number }>>;
  readonly disk: {
    readonly guid: string;
    readonly partitions: readonly { name: string; guid: string; start: number; size: number }[];
  };
  /** The generation the installer activates (optional until every build writes it). */
  readonly generation?: {
    readonly number: number;
    /** Hex. */
    readonly id: string;
    /** `<id>-<profile>`. */
    readonly name: string;
    /** `/bootforge/store/<id>-<profile>`. */
    readonly path: string;
  };
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Kernel command line of the installer's boot entries. */
function installerCmdline(profile: ResolvedProfile, payloadGuid: string, headerSha: string, extra: string[]): string {
  const params = [
    // The installer talks on both consoles: a laptop's screen and a test's serial port.
    'console=tty0',
    'console=ttyS0,115200',
    ...profile.data.kernel.params.filter((p) => !p.startsWith('console=')),
    `bootforge.payload=PARTUUID=${payloadGuid.toLowerCase()}`,
    `bootforge.manifest=${headerSha}`,
    ...extra,
  ];
  return params.join(' ');
}

/**
 * bootforge build: the installer initrd, the system payload, an ESP with
 * systemd-boot, assembled into a GPT disk image; then SHA256SUMS, manifest.json,
 * the SBOM (sbom.cdx.json) and a .bmap. Everything goes to a temporary folder beside the output, which
 * replaces the output only when complete.
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const { profile, source } = options;
  const { step, timings } = timedSteps(source.reporter, 'build');
  const out = resolvePath(options.out ?? join('out', profile.name));
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  removeStaleTemps(out);
  mkdirSync(tmp, { recursive: true });
  try {
    const pkgs = await step('resolve packages', () => closurePackages(profile, source));
    const epoch = buildEpoch(options.sourceDateEpoch, pkgs.epoch);
    // Unpacked once: the initrd takes its kernel and tools from it, the ESP its boot loader.
    const installer = { tree: assembleTreeOf(await unpackPackages(source, pkgs.installer)), epoch: pkgs.epoch };
    const mtime = new Date(epoch * 1000);

    const initrd: InitrdArtifact = await step('installer initrd', () =>
      buildInitrd({
        profile,
        source,
        role: 'installer',
        out: join(tmp, 'initrd.img'),
        sourceDateEpoch: epoch,
        installer,
      }),
    );

    // The first generation: the system's packages plus what makes them a bootable generation.
    const payload = await buildGenerationPayload({
      profile,
      source,
      packages: pkgs,
      installerTree: installer.tree,
      epoch,
      dir: tmp,
      ...(options.payloadLevel !== undefined ? { level: options.payloadLevel } : {}),
      step,
    });
    const payloadFile = payload.file;
    const payloadSha = payload.sha256;
    const compressed = { size: payload.size };
    const generation = {
      number: 1,
      id: payload.generation.id,
      name: payload.generation.name,
      path: `/bootforge/store/${payload.generation.name}`,
    };
    const { header, headerSha256: headerSha } = payload;
    let bundleName: string | undefined;
    if (options.bundle) {
      bundleName = `${generation.name}.bundle`;
      await step('bundle', () => writeBundle(payload, join(tmp, bundleName as string), source.reporter));
    }
    const payloadGuid = guidFromHash('payload', payloadSha);

    const esp = await step('esp', async () => {
      const bootEfi = installer.tree.resolve('/usr/lib/systemd/boot/efi/systemd-bootx64.efi', { follow: true });
      if (bootEfi?.type !== 'file') {
        throw new BootforgeError(
          'BF_PACKAGE_NOT_FOUND',
          'systemd-boot-efi did not provide /usr/lib/systemd/boot/efi/systemd-bootx64.efi',
        );
      }
      const loader = await storeBlobs(source.cacheRoot).get(bootEfi.sha256);
      const unattended = profile.data.installer.mode === 'unattended' ? ['bootforge.unattended'] : [];
      const entry = (title: string, sortKey: string, extra: string[]) =>
        Buffer.from(
          renderTemplate('installer/entry.conf.hbs', {
            title,
            sortKey,
            options: installerCmdline(profile, payloadGuid, headerSha, extra),
          }),
        );
      return [
        { path: '/EFI/BOOT/BOOTX64.EFI', data: loader },
        { path: '/EFI/systemd/systemd-bootx64.efi', data: loader },
        {
          path: '/loader/loader.conf',
          data: Buffer.from(
            renderTemplate('installer/loader.conf.hbs', {
              name: profile.name,
              timeout: 2,
              defaultEntry: 'bootforge-install.conf',
            }),
          ),
        },
        {
          path: '/loader/entries/bootforge-install.conf',
          data: entry(`Install ${profile.name}`, 'bootforge-1', unattended),
        },
        {
          path: '/loader/entries/bootforge-rescue.conf',
          data: entry(`Install ${profile.name} - rescue shell`, 'bootforge-2', ['bootforge.break']),
        },
        { path: '/bootforge/vmlinuz', data: readFileSync(initrd.kernel.vmlinuz) },
        { path: '/bootforge/initrd.img', data: readFileSync(initrd.path) },
        { path: '/bootforge/payload-header.txt', data: header.subarray(0, header.indexOf(0)) },
      ];
    });

    const espHash = sha256(Buffer.concat(esp.map((f) => Buffer.from(`${f.path}\0${sha256(f.data)}\n`))));
    const imagePath = join(tmp, 'installer.img');
    const disk = await step('image', () =>
      writeInstallerDisk({
        path: imagePath,
        diskGuid: guidFromHash('disk', espHash, payloadSha),
        esp: {
          guid: guidFromHash('esp', espHash),
          files: esp,
          volumeId: Buffer.from(espHash, 'hex').readUInt32BE(0),
          timestamp: mtime,
        },
        payload: { guid: payloadGuid, header, file: payloadFile, size: compressed.size },
        reporter: source.reporter,
      }),
    );
    rmSync(payloadFile);
    rmSync(join(tmp, 'initrd.img'));

    const artifacts: Record<string, { sha256: string; size: number }> = {};
    await step('checksums', async () => {
      await writeBmap(imagePath, disk.ranges, join(tmp, 'installer.img.bmap'));
      if (options.format === 'qcow2') {
        await run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', imagePath, join(tmp, 'installer.qcow2')]);
      }
      for (const name of [
        'installer.img',
        'installer.img.bmap',
        ...(options.format === 'qcow2' ? ['installer.qcow2'] : []),
      ]) {
        artifacts[name] = { sha256: await fileSha256(join(tmp, name)), size: statSync(join(tmp, name)).size };
      }
    });
    artifacts['initrd.img'] = { sha256: initrd.sha256, size: initrd.size };
    artifacts.vmlinuz = { sha256: initrd.kernel.sha256, size: statSync(initrd.kernel.vmlinuz).size };
    artifacts['payload.tar.zst'] = { sha256: payloadSha, size: compressed.size };
    if (bundleName !== undefined) {
      artifacts[bundleName] = {
        sha256: await fileSha256(join(tmp, bundleName)),
        size: statSync(join(tmp, bundleName)).size,
      };
    }

    const manifest: BuildManifest = {
      bootforge: VERSION,
      profile: profile.name,
      profileSha256: sha256(JSON.stringify(profile.data)),
      hardware: { mode: profile.hardware.mode, ids: profile.hardware.ids },
      lockSha256: pkgs.lockSha256,
      sourceDateEpoch: epoch,
      kernel: initrd.kernel.release,
      payload: {
        sha256: payloadSha,
        size: compressed.size,
        uncompressedSize: payload.uncompressedSize,
        compression: 'zstd',
      },
      generation,
      packages: {
        installer: pkgs.installer.map(({ name, version, architecture, sha256: s }) => ({
          name,
          version,
          architecture,
          sha256: s,
        })),
        system: pkgs.system.map(({ name, version, architecture, sha256: s }) => ({
          name,
          version,
          architecture,
          sha256: s,
        })),
      },
      artifacts,
      disk: {
        guid: disk.layout.diskGuid,
        partitions: disk.layout.partitions.map((p) => ({ name: p.name, guid: p.guid, start: p.start, size: p.size })),
      },
    };
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await step('sbom', async () => {
      const sbom = await makeSbom({
        manifest,
        closures: { installer: pkgs.installer, system: pkgs.system },
        hardware: hardwareHashes(profile),
        payloadHeaderSha256: headerSha,
        ...storeReaders(source.cacheRoot),
      });
      writeFileSync(join(tmp, SBOM_FILE), sbom);
    });
    const sums = [
      'installer.img',
      'installer.img.bmap',
      'manifest.json',
      SBOM_FILE,
      ...(options.format === 'qcow2' ? ['installer.qcow2'] : []),
    ];
    const lines = await Promise.all(sums.map(async (n) => `${await fileSha256(join(tmp, n))}  ${n}`));
    writeFileSync(join(tmp, 'SHA256SUMS'), `${lines.join('\n')}\n`);

    // Replace the previous output only now that the new one is complete.
    const old = `${out}.old-${process.pid}`;
    let hadOld = false;
    try {
      renameSync(out, old);
      hadOld = true;
    } catch {
      hadOld = false;
    }
    renameSync(tmp, out);
    if (hadOld) rmSync(old, { recursive: true, force: true });
    const image = join(out, 'installer.img');
    return {
      out,
      image,
      size: disk.size,
      mappedBytes: disk.mappedBytes,
      sha256: artifacts['installer.img']?.sha256 ?? '',
      manifest,
      timings,
    };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Temporary folders of builds that were killed (their process is gone) are removed; live ones are left alone. */
function removeStaleTemps(out: string): void {
  const prefix = `.${basename(out)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(out));
  } catch {
    return;
  }
  for (const name of names) {
    const m = /\.(?:tmp|old)-(\d+)$/.exec(name);
    if (!name.startsWith(prefix) && !name.startsWith(`${basename(out)}.old-`)) continue;
    if (!m?.[1]) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid ? false : true;
    try {
      if (alive) process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) rmSync(join(dirname(out), name), { recursive: true, force: true });
  }
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
