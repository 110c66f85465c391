import { basename } from 'node:path';
import type { Command } from 'commander';
import { displayFile } from '../../fsutil/display.js';
import { bundle } from '../../pipeline/bundle.js';
import { formatSize } from '../../schema/size.js';
import { HARDWARE_DIR_OPTION, SOURCE_ROOT_OPTION, HARDWARE_OPTION, type CliContext } from '../context.js';
import { addSourceOptions, openProfile, type ProfileCliOptions } from '../source-options.js';

interface BundleCliOptions extends ProfileCliOptions {
  out?: string;
  base?: string;
}

export function registerBundle(program: Command, ctx: CliContext): void {
  addSourceOptions(
    program
      .command('bundle')
      .description(
        'build the profile as an update bundle for installed systems: bootforge-gen switch <bundle> --expect <sha256>',
      )
      .argument('<profile>', 'profile YAML file')
      .option(...HARDWARE_OPTION)
      .option(...HARDWARE_DIR_OPTION)
      .option(...SOURCE_ROOT_OPTION)
      .option('--out <dir>', 'output folder (default: out/<profile name>-bundles)')
      .option(
        '--base <bundle>',
        'a full bundle of the generation the machines run: write a delta that carries only the files that differ',
      ),
  ).action(async (profilePath: string, o: BundleCliOptions) => {
    const started = performance.now();
    const { resolved, reporter, source } = await openProfile(profilePath, o);
    const result = await bundle({
      profile: resolved,
      source,
      ...(o.out ? { out: o.out } : {}),
      ...(o.base ? { base: o.base } : {}),
    });
    reporter.close();
    if (o.json) {
      ctx.out(JSON.stringify({ ...result, path: displayFile(result.path) }, null, 2));
      return;
    }
    ctx.out(
      `${displayFile(result.path)}: ${formatSize(result.size)} (${formatSize(result.uncompressedSize)} unpacked), generation ${result.generation.id}, built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    if (result.delta) {
      ctx.out(
        `  delta from ${result.delta.base}: ${result.delta.reused} files (${formatSize(result.delta.reusedBytes)}) taken from it; the whole generation is ${formatSize(result.treeSize)}`,
      );
    }
    ctx.out(`  header sha256 ${result.headerSha256}`);
    ctx.out(`  on the machine: bootforge-gen switch ${basename(result.path)} --expect ${result.headerSha256}`);
  });
}
