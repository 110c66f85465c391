import type { Command } from 'commander';
import { extname } from 'node:path';
import { BootforgeError } from '../../errors/index.js';
import { displayFile } from '../../fsutil/display.js';
import { build } from '../../pipeline/build.js';
import { VM_QUIT_HELP, vm, type VmPlan } from '../../pipeline/vm.js';
import { formatSize, parseSize } from '../../schema/size.js';
import { HARDWARE_DIR_OPTION, SOURCE_ROOT_OPTION, HARDWARE_OPTION, type CliContext } from '../context.js';
import { addSourceOptions, openProfile, type ProfileCliOptions } from '../source-options.js';

interface VmCliOptions extends ProfileCliOptions {
  out?: string;
  target?: string;
  diskSize?: string;
  fresh?: boolean;
  installer?: boolean;
  accel?: string;
  memory?: string;
  cpus?: string;
  sshPort?: string;
}

const ACCELS = ['tcg', 'kvm', 'auto'] as const;

/** A whole number in [min, max] given to `--<flag>`, else BF_USAGE. */
function wholeNumber(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new BootforgeError(
      'BF_USAGE',
      `--${flag} takes a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/** What QEMU will run, on stderr: the terminal is the guest's from then on. */
function describePlan(p: VmPlan): string[] {
  return [
    `vm: ${p.reason}`,
    `vm: target ${displayFile(p.target)}${p.created ? ' (new, blank)' : ''}, firmware variables ${displayFile(p.vars)}, ${p.accel}`,
    `vm: the serial console follows; ${VM_QUIT_HELP}`,
  ];
}

export function registerVm(program: Command, ctx: CliContext): void {
  addSourceOptions(
    program
      .command('vm')
      .description(
        'boot an installer image (or the system it installed) in QEMU with UEFI, the serial console on this terminal; the target disk persists',
      )
      .argument('<image|profile>', 'installer image (.img, .qcow2), or a profile YAML to build first')
      .argument('[qemu-args...]', 'after --: more QEMU options, passed as given')
      .option(...HARDWARE_OPTION)
      .option(...HARDWARE_DIR_OPTION)
      .option(...SOURCE_ROOT_OPTION)
      .option('--out <dir>', 'output folder of the build, for a profile (default: out/<profile name>)')
      .option('--target <file>', 'the target disk, raw or .qcow2 (default: <image dir>/vm/target.img)')
      .option('--disk-size <size>', 'size of a new target disk, e.g. 16GiB', '8GiB')
      .option('--fresh', 'recreate the target disk and its firmware variables')
      .option('--installer', 'attach the installer stick even when the target holds an installed system')
      .option('--accel <accel>', 'tcg, kvm, or auto (kvm when the kernel runs under KVM, else tcg)', 'auto')
      .option('--memory <MiB>', 'guest memory in MiB', '1024')
      .option('--cpus <n>', 'virtual CPUs', '1')
      .option('--ssh-port <port>', "forward 127.0.0.1:<port> to the guest's port 22 (QEMU user networking)"),
  ).action(async (input: string, qemuArgs: string[], o: VmCliOptions) => {
    if (o.json) {
      // The console is the terminal: there is no result document, and QEMU's output is not JSON.
      throw new BootforgeError('BF_USAGE', 'vm is interactive and has no JSON output', {
        hint: 'for JSON events of the build, run bootforge build --json first, then bootforge vm <image>',
      });
    }
    if (!ACCELS.includes(o.accel as (typeof ACCELS)[number])) {
      throw new BootforgeError('BF_USAGE', `unknown accelerator ${JSON.stringify(o.accel)}; use tcg, kvm or auto`);
    }
    const targetSize = parseSize(o.diskSize ?? '8GiB');
    if (targetSize === undefined || targetSize < 64 * 1024 ** 2) {
      throw new BootforgeError(
        'BF_USAGE',
        `--disk-size takes a size of at least 64MiB, e.g. 16GiB, not ${JSON.stringify(o.diskSize)}`,
      );
    }
    const memoryMiB = wholeNumber('memory', o.memory, 128, 1024 * 1024);
    const cpus = wholeNumber('cpus', o.cpus, 1, 256);
    const sshPort = wholeNumber('ssh-port', o.sshPort, 1, 65535);
    const note = (text: string) => {
      if (!o.quiet) ctx.err(text);
    };

    let image = input;
    if (['.yaml', '.yml'].includes(extname(input).toLowerCase())) {
      // As bootforge build does: packages and unchanged steps come from the cache.
      const started = performance.now();
      const opened = await openProfile(input, o);
      const built = await build({
        profile: opened.resolved,
        source: opened.source,
        ...(o.out ? { out: o.out } : {}),
        format: 'raw',
      });
      opened.reporter.close();
      image = built.image;
      note(
        `build: ${displayFile(image)} (${formatSize(built.size)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    const result = await vm({
      image,
      ...(o.target ? { target: o.target } : {}),
      targetSize,
      ...(o.fresh ? { fresh: true } : {}),
      ...(o.installer ? { installer: true } : {}),
      accel: o.accel as (typeof ACCELS)[number],
      ...(memoryMiB !== undefined ? { memoryMiB } : {}),
      ...(cpus !== undefined ? { cpus } : {}),
      ...(sshPort !== undefined ? { sshPort } : {}),
      qemuArgs,
      onStart: (plan) => describePlan(plan).forEach((line) => ctx.err(line)),
    });
    if (result.exitCode !== 0) {
      throw new BootforgeError('BF_TOOL_FAILED', `QEMU exited with ${result.exitCode}`, {
        hint: `its own message is above; the command was: ${result.args.join(' ')}`,
      });
    }
    note(`vm: QEMU exited; the target disk stays at ${displayFile(result.target)} (--fresh starts over)`);
  });
}
