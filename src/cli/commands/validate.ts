import type { Command } from 'commander';
import { resolve } from '../../pipeline/resolve.js';
import { displayFile } from '../../fsutil/display.js';
import { collectList, type CliContext } from '../context.js';

export function registerValidate(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check a profile and its hardware descriptions; exit 0 when valid, 2 with the errors when not')
    .argument('<profile>', 'profile YAML file')
    .option('--hardware <id...>', "hardware description ids (replace the profile's own selection)", collectList)
    .option('--hardware-dir <dir...>', 'extra folders of hardware descriptions, searched first', collectList)
    .option('--kernel-version <version>', 'kernel release to check version-gated quirks against')
    .action((profile: string, opts: { hardware?: string[]; hardwareDir?: string[]; kernelVersion?: string }) => {
      const { resolved } = resolve({
        profile,
        ...(opts.hardware ? { hardware: opts.hardware } : {}),
        ...(opts.hardwareDir ? { hardwareDirs: opts.hardwareDir } : {}),
        ...(opts.kernelVersion ? { kernelVersion: opts.kernelVersion } : {}),
      });
      const files = resolved.files.map((f) => displayFile(f)).join(' <- ');
      const hw =
        resolved.hardware.ids.length > 0
          ? `${resolved.hardware.mode} hardware: ${resolved.hardware.ids.join(', ')}`
          : 'no hardware description';
      ctx.out(`${displayFile(resolved.path)}: valid profile ${JSON.stringify(resolved.name)} (${files}; ${hw})`);
    });
}
