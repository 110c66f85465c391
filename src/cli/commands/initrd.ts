import type { Command } from 'commander';
import { displayFile } from '../../fsutil/display.js';
import { buildInitrd } from '../../pipeline/initrd-api.js';
import { formatSize } from '../../schema/size.js';
import { BootforgeError } from '../../errors/index.js';
import { HARDWARE_DIR_OPTION, SOURCE_ROOT_OPTION, HARDWARE_OPTION, type CliContext } from '../context.js';
import { addSourceOptions, openProfile, type ProfileCliOptions } from '../source-options.js';

interface InitrdOptions extends ProfileCliOptions {
  output?: string;
  role?: string;
  marker?: string;
  compression?: string;
  level?: string;
}

const ROLES = ['probe', 'installer', 'generation'] as const;

export function registerInitrd(program: Command, ctx: CliContext): void {
  addSourceOptions(
    program
      .command('initrd')
      .description('build an initrd for a profile: kernel modules and firmware it needs, busybox, /init')
      .argument('<profile>', 'profile YAML file')
      .option(...HARDWARE_OPTION)
      .option(...HARDWARE_DIR_OPTION)
      .option(...SOURCE_ROOT_OPTION)
      .option('-o, --output <file>', 'where to write the initrd', 'initrd.img')
      .option('--role <role>', `what the initrd does after /init: ${ROLES.join(', ')}`, 'probe')
      .option('--marker <text>', 'probe role: the text of the "bootforge-probe: OK <marker>" line')
      .option('--compression <c>', 'zstd, gzip or none', 'zstd')
      .option('--level <n>', 'compression level'),
  ).action(async (profilePath: string, o: InitrdOptions) => {
    if (!ROLES.includes(o.role as (typeof ROLES)[number])) {
      throw new BootforgeError('BF_USAGE', `unknown role ${JSON.stringify(o.role)}; use ${ROLES.join(', ')}`);
    }
    if (!['zstd', 'gzip', 'none'].includes(o.compression ?? '')) {
      throw new BootforgeError(
        'BF_USAGE',
        `unknown compression ${JSON.stringify(o.compression)}; use zstd, gzip or none`,
      );
    }
    const { resolved, reporter, source } = await openProfile(profilePath, o);
    const artifact = await buildInitrd({
      profile: resolved,
      source,
      role: o.role as (typeof ROLES)[number],
      out: o.output ?? 'initrd.img',
      ...(o.marker !== undefined ? { marker: o.marker } : {}),
      compression: o.compression as 'zstd' | 'gzip' | 'none',
      ...(o.level !== undefined ? { level: Number(o.level) } : {}),
    });
    reporter.close();
    if (o.json) {
      ctx.out(JSON.stringify({ ...artifact, path: displayFile(artifact.path) }, null, 2));
      return;
    }
    ctx.out(`${displayFile(artifact.path)}: ${formatSize(artifact.size)}, kernel ${artifact.kernel.release}`);
    for (const s of artifact.segments)
      ctx.out(
        `  ${s.name.padEnd(8)} ${s.compression.padEnd(5)} ${formatSize(s.size).padStart(10)}${s.cached ? '  (cached)' : ''}`,
      );
    ctx.out(
      `  ${artifact.modules.length} modules, ${artifact.builtins.length} built-in, ${artifact.firmware.included} firmware files, programs: ${artifact.binaries.join(' ')}`,
    );
    ctx.out(`  kernel image: ${artifact.kernel.vmlinuz}`);
  });
}
