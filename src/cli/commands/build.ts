import type { Command } from 'commander';
import { BootforgeError } from '../../errors/index.js';
import { displayFile } from '../../fsutil/display.js';
import { build } from '../../pipeline/build.js';
import { formatSize } from '../../schema/size.js';
import { HARDWARE_DIR_OPTION, SOURCE_ROOT_OPTION, HARDWARE_OPTION, type CliContext } from '../context.js';
import { addSourceOptions, openProfile, type ProfileCliOptions } from '../source-options.js';

interface BuildCliOptions extends ProfileCliOptions {
  out?: string;
  format?: string;
  bundle?: boolean;
}

export function registerBuild(program: Command, ctx: CliContext): void {
  addSourceOptions(
    program
      .command('build')
      .description(
        'build the installer image of a profile: out/<profile>/installer.img, SHA256SUMS, manifest.json, sbom.cdx.json, .bmap',
      )
      .argument('<profile>', 'profile YAML file')
      .option(...HARDWARE_OPTION)
      .option(...HARDWARE_DIR_OPTION)
      .option(...SOURCE_ROOT_OPTION)
      .option('--out <dir>', 'output folder (default: out/<profile name>)')
      .option('--format <format>', 'raw (always written) and, with qcow2, also installer.qcow2 (needs qemu-img)', 'raw')
      .option('--bundle', 'also write the first generation as an update bundle (<id>-<profile>.bundle)'),
  ).action(async (profilePath: string, o: BuildCliOptions) => {
    if (o.format !== 'raw' && o.format !== 'qcow2') {
      throw new BootforgeError('BF_USAGE', `unknown format ${JSON.stringify(o.format)}; use raw or qcow2`);
    }
    const started = performance.now();
    const { resolved, reporter, source } = await openProfile(profilePath, o);
    const result = await build({
      profile: resolved,
      source,
      ...(o.out ? { out: o.out } : {}),
      format: o.format,
      ...(o.bundle ? { bundle: true } : {}),
    });
    reporter.close();
    if (o.json) {
      ctx.out(
        JSON.stringify(
          {
            out: displayFile(result.out),
            image: displayFile(result.image),
            size: result.size,
            sha256: result.sha256,
            timings: result.timings,
          },
          null,
          2,
        ),
      );
      return;
    }
    ctx.out(
      `${displayFile(result.image)}: ${formatSize(result.size)} (${formatSize(result.mappedBytes)} written), sha256 ${result.sha256}`,
    );
    ctx.out(
      `  kernel ${result.manifest.kernel}, payload ${formatSize(result.manifest.payload.size)} (${formatSize(result.manifest.payload.uncompressedSize)} unpacked), built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    ctx.out(
      `  flash it: dd if=${displayFile(result.image)} of=/dev/sdX bs=4M conv=fsync  (or bmaptool copy ${displayFile(result.image)} /dev/sdX)`,
    );
  });
}
