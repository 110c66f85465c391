import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { BootforgeError } from '../../errors/index.js';
import { flash, type FlashSystem, type FlashTarget } from '../../pipeline/flash.js';
import { formatSize } from '../../schema/size.js';
import type { CliContext } from '../context.js';
import { abortOnSignals, type Interrupt } from '../interrupt.js';
import { addOutputOptions, reporterFor } from '../reporter.js';

interface FlashCliOptions {
  yes?: boolean;
  allowFixed?: boolean;
  allowFile?: boolean;
  verify: boolean;
  bmap?: string | false;
  json?: boolean;
  quiet?: boolean;
}

/**
 * Hidden test hooks: a fake sysfs and /proc files. They can make a real disk look
 * removable and unmounted, so each one set is named in a warning and in the --json
 * result (a stray `sudo -E` must not pass them silently).
 */
const TEST_HOOKS = {
  BOOTFORGE_SYSFS: ['sysfs', 'sysfs (removable, size, partitions, holders)'],
  BOOTFORGE_MOUNTINFO: ['mountinfo', 'the mount table'],
  BOOTFORGE_SWAPS: ['swaps', 'the swap list'],
} as const satisfies Record<string, readonly [keyof FlashSystem, string]>;

function testHooks(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.keys(TEST_HOOKS).flatMap((k) => (env[k] ? [[k, env[k]]] : [])));
}

function systemFrom(hooks: Record<string, string>): Partial<FlashSystem> {
  return Object.fromEntries(Object.entries(hooks).map(([k, v]) => [TEST_HOOKS[k as keyof typeof TEST_HOOKS][0], v]));
}

const hookWarning = (name: string, value: string): string =>
  `${name}=${value} is set: flash reads ${TEST_HOOKS[name as keyof typeof TEST_HOOKS][1]} from there, not from the host (a test hook; unset it)`;

/** One line per target: what a person needs to recognise the stick they plugged in. */
export function describeTarget(t: FlashTarget): string {
  if (t.kind === 'file') return `${t.path}: regular file${t.exists ? ' (replaced)' : ' (new)'}`;
  const name = [t.vendor, t.model].filter((v) => v !== undefined).join(' ') || 'unknown model';
  const facts = [
    name,
    `serial ${t.serial ?? 'unknown'}`,
    formatSize(t.size),
    t.transport,
    t.removable ? 'removable' : 'FIXED (not removable)',
  ];
  return `${t.path} (${t.name}): ${facts.join(', ')}`;
}

/** Anything but "yes" is a no, and so are Ctrl-D (end of input) and Ctrl-C, which close the question. */
async function askYes(count: number): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `Everything on ${count === 1 ? 'this device' : `these ${count} devices`} will be lost. Type "yes" to write: `,
    );
    return answer.trim() === 'yes';
  } catch (e) {
    // readline rejects the pending question with an AbortError when the input ends or Ctrl-C closes it.
    if ((e as Error).name === 'AbortError') return false;
    throw e;
  } finally {
    rl.close();
  }
}

const mibPerSecond = (bytes: number, ms: number): string =>
  ms > 0 ? `${(bytes / 1048576 / (ms / 1000)).toFixed(1)} MiB/s` : 'n/a';

export function registerFlash(program: Command, ctx: CliContext): void {
  addOutputOptions(
    program
      .command('flash')
      .description(
        'write an image to USB sticks or other removable devices, checking them first and reading back after',
      )
      .argument('<image>', 'the image file (its .bmap beside it, as build writes it, is used when present)')
      .argument('<device...>', 'whole block devices, e.g. /dev/sdb or /dev/disk/by-id/usb-...')
      .option('--yes', 'do not ask for confirmation (scripts; the device list is still printed)')
      .option('--allow-fixed', 'also write to devices that are not removable (internal disks)')
      .option('--allow-file', 'accept regular files as targets (tests, preparing images)')
      .option('--no-verify', 'do not read the devices back after writing')
      .option('--bmap <file>', 'the block map to use (default: <image>.bmap when it exists)')
      .option('--no-bmap', 'write the whole image even if it has a block map'),
  ).action(async (image: string, devices: string[], o: FlashCliOptions) => {
    const reporter = reporterFor(o);
    const hooks = testHooks(process.env);
    for (const [name, value] of Object.entries(hooks)) {
      // --json keeps stderr to JSON lines: the warning is an event there.
      if (o.json) reporter.emit({ type: 'warning', message: hookWarning(name, value) });
      else ctx.err(`bootforge: warning: ${hookWarning(name, value)}`);
    }
    // Only file targets have something to clean up (their temporary file): without
    // --allow-file a signal keeps its default effect on a write to devices.
    const interrupt: Interrupt | undefined = o.allowFile ? abortOnSignals() : undefined;
    const result = await flash({
      image,
      targets: devices,
      ...(o.bmap !== undefined ? { bmap: o.bmap } : {}),
      allowFixed: o.allowFixed ?? false,
      allowFile: o.allowFile ?? false,
      verify: o.verify,
      reporter,
      system: systemFrom(hooks),
      ...(interrupt ? { signal: interrupt.signal } : {}),
      confirm: async (targets, plan) => {
        const asking = !o.yes && process.stdin.isTTY === true;
        // With --json and --yes stderr stays JSON lines; a person asked to type yes always sees the list first.
        if (!o.json || asking) {
          ctx.err(
            `${image}: ${formatSize(plan.imageSize)}${plan.fromBmap ? '' : ' (no bmap: the whole image is written)'} to:`,
          );
          for (const t of targets) ctx.err(`  ${describeTarget(t)}`);
        }
        if (o.yes) return true;
        if (!process.stdin.isTTY) {
          throw new BootforgeError(
            'BF_FLASH_CONFIRM',
            `no terminal to confirm on: nothing was written to ${devices.join(', ')}`,
            {
              hint: 'check the device list above and pass --yes',
            },
          );
        }
        return askYes(targets.length);
      },
    })
      .catch((e: unknown) => {
        const code = interrupt?.exitCode();
        if (code === undefined) throw e;
        reporter.close();
        ctx.err(
          'bootforge: flash: interrupted: no file target was replaced (its temporary file is removed); a device being written holds part of the image',
        );
        // The shell's convention for a command stopped by a signal (130 for Ctrl-C, 143 for SIGTERM).
        process.exit(code);
      })
      .finally(() => interrupt?.dispose());
    reporter.close();
    if (o.json) {
      ctx.out(
        JSON.stringify(
          {
            ...result,
            testHooks: hooks,
            targets: result.targets.map((t) => ({
              ...t,
              error: t.error ? { code: t.error.code, message: t.error.message } : null,
            })),
          },
          null,
          2,
        ),
      );
    } else {
      for (const t of result.targets) {
        if (!t.ok) {
          ctx.out(`${t.target.path}: FAILED (${t.error?.code})`);
          continue;
        }
        const verified =
          t.verifyMs === undefined
            ? 'not verified'
            : `verified in ${(t.verifyMs / 1000).toFixed(1)} s (${mibPerSecond(t.bytesWritten, t.verifyMs)})${t.target.kind === 'block' && t.verifiedFrom === 'page cache' ? ' from the page cache only, not the medium' : ''}`;
        ctx.out(
          `${t.target.path}: wrote ${formatSize(t.bytesWritten)} in ${(t.writeMs / 1000).toFixed(1)} s (${mibPerSecond(t.bytesWritten, t.writeMs)}), ${verified}`,
        );
      }
    }
    BootforgeError.throwAll(result.targets.flatMap((t) => (t.error ? [t.error] : [])));
  });
}
