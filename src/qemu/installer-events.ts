/**
 * The installer's console lines, read back as events. The installer (initrd/init.sh's
 * `log`, stage-install's `bf_step`) writes for a person at a laptop's screen; the same
 * lines are its machine interface, so they keep one fixed grammar:
 *
 *     bootforge: [3/9] verifying the payload        a step: i of n, then its label
 *     bootforge: [7/9] unpacking the system: 43% (50/117 MiB)   how far a long step is (lib-progress.sh)
 *     bootforge: warning: <text>                    a warning
 *     bootforge: FAILED: <text>                     the install failed (then a rescue shell or poweroff)
 *     bootforge: installed <profile> generation <n> (<id>) on <disk>
 *     bootforge: initrd <name> (<role>) starting ...   the kernel ran /init (firmware and kernel are done)
 *     bootforge: <anything else>                    a log line
 *
 * Human text behind a parsable prefix, rather than JSON on the console: it reads well on
 * a real screen, and the shell never has to escape a disk's model string into JSON.
 */
import type { BuildEvent } from '../log/events.js';

export type InstallerLine =
  | { readonly kind: 'step'; readonly step: number; readonly steps: number; readonly message: string }
  /** Inside step `step`: `done` of `total` bytes (whole MiB, as printed; the percent is left out). */
  | {
      readonly kind: 'progress';
      readonly step: number;
      readonly steps: number;
      readonly message: string;
      readonly done: number;
      readonly total: number;
    }
  | { readonly kind: 'warning'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string }
  | {
      readonly kind: 'installed';
      readonly profile: string;
      readonly generation: number;
      readonly id: string;
      readonly disk: string;
    }
  | { readonly kind: 'started'; readonly initrd: string; readonly role: string }
  | { readonly kind: 'log'; readonly message: string };

// Terminal control sequences (systemd-boot's menu, the firmware's screen clears) share lines with the text.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b(?:\[[0-9;=?]*[A-Za-z]|[()][0-9A-Za-z])/g;
const PREFIX = /(?:^|[^\w-])bootforge: (.*)$/;
const MiB = 1024 * 1024;

/** One console line (with or without its \r and escapes), or undefined when it is not the installer's. */
export function parseInstallerLine(line: string): InstallerLine | undefined {
  const m = PREFIX.exec(line.replace(ESCAPES, '').replace(/[\r\n]+$/, ''));
  if (!m) return undefined;
  const text = m[1] ?? '';
  let f: RegExpExecArray | null;
  // Before the step: a progress line is a step line with its amount behind.
  if ((f = /^\[(\d+)\/(\d+)\] (.*): \d+% \((\d+)\/(\d+) MiB\)$/.exec(text))) {
    const [, step = '', steps = '', message = '', done = '', total = ''] = f;
    return {
      kind: 'progress',
      step: Number(step),
      steps: Number(steps),
      message,
      done: Number(done) * MiB,
      total: Number(total) * MiB,
    };
  }
  if ((f = /^\[(\d+)\/(\d+)\] (.*)$/.exec(text)))
    return { kind: 'step', step: Number(f[1]), steps: Number(f[2]), message: f[3] ?? '' };
  if ((f = /^warning: (.*)$/.exec(text))) return { kind: 'warning', message: f[1] ?? '' };
  if ((f = /^FAILED: (.*)$/.exec(text))) return { kind: 'failed', message: f[1] ?? '' };
  if ((f = /^installed (\S+) generation (\d+) \(([0-9a-f]+)\) on (\S+)$/.exec(text))) {
    const [, profile = '', generation = '', id = '', disk = ''] = f;
    return { kind: 'installed', profile, generation: Number(generation), id, disk };
  }
  if ((f = /^initrd (\S+) \(([a-z]+)\) starting/.exec(text)))
    return { kind: 'started', initrd: f[1] ?? '', role: f[2] ?? '' };
  return { kind: 'log', message: text };
}

/** The task id of the installer's progress on the console. */
export const INSTALL_TASK = 'test:install';

/** Task ids of the installer's long steps, by the label of their progress lines (stage-install.sh). */
const STEP_TASKS: Readonly<Record<string, string>> = {
  'verifying the payload': 'install:verify',
  'unpacking the system': 'install:unpack',
};

/** The task id of a long step's progress lines: stable across installs of any image. */
const stepTaskId = (line: { readonly step: number; readonly message: string }): string =>
  STEP_TASKS[line.message] ?? `install:step-${line.step}`;

/**
 * The BuildEvents of one installer line, as `bootforge test` re-emits them: a step line
 * is a step (stage `install`) and the advance of the install task; a progress line the
 * advance of the step's own task, in bytes; a warning a warning.
 */
export function installerLineEvents(line: InstallerLine): BuildEvent[] {
  switch (line.kind) {
    case 'step':
      return [
        { type: 'step', stage: 'install', message: `[${line.step}/${line.steps}] ${line.message}` },
        {
          type: 'progress',
          id: INSTALL_TASK,
          label: `installer: ${line.message}`,
          // The step has begun, not finished: done counts the steps before it.
          done: line.step - 1,
          total: line.steps,
          unit: 'items',
        },
      ];
    case 'progress':
      // Its own task beside the install's: the step stays where it is.
      return [
        {
          type: 'progress',
          id: stepTaskId(line),
          label: `installer: ${line.message}`,
          done: line.done,
          total: line.total,
          unit: 'bytes',
        },
      ];
    case 'warning':
      return [{ type: 'warning', message: `installer: ${line.message}` }];
    default:
      return [];
  }
}
