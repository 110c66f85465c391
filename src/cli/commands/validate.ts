import type { Command } from 'commander';
import { resolve } from '../../pipeline/resolve.js';
import { displayFile } from '../../fsutil/display.js';
import {
  resolveOptionsOf,
  HARDWARE_DIR_OPTION,
  SOURCE_ROOT_OPTION,
  HARDWARE_OPTION,
  type CliContext,
  type HardwareCliOptions,
} from '../context.js';

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check a profile and its hardware descriptions; exit 0 when valid, 2 with the errors when not')
    .argument('<profile>', 'profile YAML file')
    .option(...HARDWARE_OPTION)
    .option(...HARDWARE_DIR_OPTION)
    .option(...SOURCE_ROOT_OPTION)
    .option('--kernel-version <version>', 'kernel release to check version-gated quirks against')
    .action((profile: string, opts: HardwareCliOptions) => {
      const { resolved } = resolve(resolveOptionsOf(profile, opts));
      const files = resolved.files.map((f) => displayFile(f)).join(' <- ');
      const hw =
        resolved.hardware.ids.length > 0
          ? `${resolved.hardware.mode} hardware: ${resolved.hardware.ids.join(', ')}`
          : 'no hardware description';
      ctx.out(`${displayFile(resolved.path)}: valid profile ${JSON.stringify(resolved.name)} (${files}; ${hw})`);
    });
}
