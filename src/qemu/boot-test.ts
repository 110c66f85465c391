import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { BootforgeError } from '../errors/index.js';
import type { BuildManifest } from '../pipeline/build.js';
import type { ResolvedProfile } from '../profile/resolve.js';
import { shQuote } from '../templates/render.js';
import { findUefiFirmware } from './firmware.js';
import { parseInstallerLine } from './installer-events.js';
import { startMachine, type DiskInterface, type MachineSpec, type RunningMachine } from './machine.js';
import { freePort, sshRun } from './ssh-login.js';
import { TestShell, TestShellError } from './test-shell.js';

/**
 * `bootforge test` as a library: installs a profile's installer image onto a
 * blank disk in QEMU, boots the installed disk alone, checks the system
 * through the test shell on its serial console, runs the profile's tests and
 * powers it off.
 *
 *     const result = await bootTest({ image: 'out/minimal/installer.img', profile, workDir: 'out/minimal/test' });
 */

/** The OEM string that makes the installed system run the test shell on its serial console. */
export const TEST_SHELL_OEM_STRING = 'io.bootforge.test-shell=1';

export interface BootTestTimeouts {
  /** QEMU's start to the installer's "installed" line. */
  readonly install: number;
  /** The "installed" line to QEMU's exit (the installer powers off). */
  readonly installExit: number;
  /** QEMU's start to "generation 1 (<id>) active". */
  readonly boot: number;
  /** The generation line to the test shell's ready line. */
  readonly shell: number;
  /** Each check, and each profile test without its own timeout. */
  readonly command: number;
  /** poweroff to QEMU's exit. */
  readonly poweroff: number;
}

/** Defaults for TCG (no KVM), where a boot takes minutes. */
export const DEFAULT_TIMEOUTS: BootTestTimeouts = {
  install: 15 * 60_000,
  installExit: 2 * 60_000,
  boot: 10 * 60_000,
  shell: 5 * 60_000,
  command: 2 * 60_000,
  poweroff: 2 * 60_000,
};

export type BootTestPhase = 'install' | 'boot' | 'checks' | 'tests' | 'poweroff';

export interface StepOutcome {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  /** What ran in the guest, if one command did. */
  readonly command?: string;
  /** Why it failed. */
  readonly detail?: string;
}

export type BootTestEvent =
  | { readonly type: 'phase'; readonly phase: BootTestPhase; readonly state: 'start' }
  | { readonly type: 'phase'; readonly phase: BootTestPhase; readonly state: 'done'; readonly ms: number }
  /** The installer's `bootforge: [i/n] <step>` lines. */
  | { readonly type: 'progress'; readonly step: number; readonly steps: number; readonly message: string }
  /** The installer's `bootforge: [i/n] <label>: p% (d/t MiB)` lines inside a long step; bytes. */
  | {
      readonly type: 'step-progress';
      readonly step: number;
      readonly steps: number;
      readonly message: string;
      readonly done: number;
      readonly total: number;
    }
  /** A point reached inside a phase (installed, generation active, test shell ready), ms since the phase began. */
  | { readonly type: 'mark'; readonly phase: BootTestPhase; readonly message: string; readonly ms: number }
  /** The installer's `bootforge: warning: <text>` lines. */
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'step'; readonly kind: 'check' | 'test'; readonly outcome: StepOutcome };

export interface BootTestOptions {
  /** The installer image (installer.img). */
  readonly image: string;
  /** Default: manifest.json beside the image. */
  readonly manifest?: BuildManifest;
  /** The profile the image was built from: host name, users, kernel parameters, tests. */
  readonly profile: ResolvedProfile;
  /** Serial logs (install.log, boot.log), the target disk and firmware variables go here. */
  readonly workDir: string;
  /** Default tcg. */
  readonly accel?: 'tcg' | 'kvm';
  /** Default 1024. */
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Size of the blank target disk in bytes (a sparse file); default 8 GiB. */
  readonly targetSize?: number;
  /** How the target disk is attached (default virtio); its serial is `bootforge-target`. */
  readonly targetInterface?: DiskInterface;
  /**
   * SMBIOS type 1/2 strings for both boots. When the profile's host name holds
   * {{serial}}, {{vendor}} or {{product}} and the field is not given, a fixed test value is used.
   */
  readonly smbios?: MachineSpec['smbios'];
  /** More OEM strings for both boots (the boot also gets io.bootforge.test-shell=1). */
  readonly oemStrings?: readonly string[];
  readonly timeouts?: Partial<BootTestTimeouts>;
  readonly onEvent?: (event: BootTestEvent) => void;
  /** More steps after the profile's tests, with the shell (like NixOS's testScript). */
  readonly script?: (shell: TestShell) => Promise<void>;
  /** Keep the target disk and firmware variables after a run that passes (they are kept after a failure). */
  readonly keep?: boolean;
  /**
   * Log in over SSH through QEMU's user network (forwarded to 127.0.0.1) as `user` with
   * this private key, and run `sudo -n true` if the profile gives the user sudo.
   */
  readonly ssh?: { readonly identity: string; readonly user?: string };
}

export interface BootTestTimings {
  /** QEMU's start to the installer's "installed" line. */
  readonly installToInstalledMs: number;
  /** QEMU's start to its exit after installing. */
  readonly installMs: number;
  /** The second QEMU's start to "generation 1 (<id>) active". */
  readonly bootToGenerationMs: number;
  /** The second QEMU's start to the test shell's ready line. */
  readonly bootToShellMs: number;
  readonly checksMs: number;
  readonly testsMs: number;
  readonly poweroffMs: number;
  readonly totalMs: number;
}

export interface BootTestResult {
  readonly generation: NonNullable<BuildManifest['generation']>;
  /** The disk the installer named, e.g. /dev/vda. */
  readonly installedOn: string;
  readonly hostname: string;
  readonly accel: 'tcg' | 'kvm';
  readonly timings: BootTestTimings;
  readonly checks: readonly StepOutcome[];
  readonly tests: readonly StepOutcome[];
  readonly logs: { readonly install: string; readonly boot: string };
  /** How the installed system stopped: its own poweroff, or poweroff -f. */
  readonly poweroff: 'clean' | 'forced';
}

/** A failed boot test: the step that failed and what had run by then. */
export class BootTestError extends BootforgeError {
  constructor(
    /** e.g. "install", "boot", "check hostname", "test demo user exists", "poweroff". */
    readonly step: string,
    message: string,
    hint: string,
    readonly log: string,
    readonly checks: readonly StepOutcome[] = [],
    readonly tests: readonly StepOutcome[] = [],
  ) {
    super('BF_BOOT_TEST', message, { hint });
  }
}

/** A profile test as the tests: list gives it. */
type ProfileTest = ResolvedProfile['data']['tests'][number];

export interface TestCase {
  readonly name: string;
  readonly succeed?: string;
  readonly fail?: string;
  readonly timeoutMs?: number;
}

/** The profile's tests: a string is a command that must succeed. */
export function testCases(tests: readonly ProfileTest[]): TestCase[] {
  return tests.map((t) => {
    if (typeof t === 'string') return { name: t, succeed: t };
    return {
      name: t.name ?? t.succeed ?? t.fail ?? '(empty test)',
      ...(t.succeed !== undefined ? { succeed: t.succeed } : {}),
      ...(t.fail !== undefined ? { fail: t.fail } : {}),
      ...(t.timeout !== undefined ? { timeoutMs: t.timeout * 1000 } : {}),
    };
  });
}

/** Values the test puts into SMBIOS type 1 when the host name needs them and none is given. */
const TEST_DMI = { serial: 'BF-TEST-0001', manufacturer: 'bootforge', product: 'test-vm' } as const;
const PLACEHOLDER = /\{\{\s*([a-z]+)\s*\}\}/g;

/** A DMI value as the installed system puts it in a host name (activate.sh's bf_dmi_word). */
export function dmiWord(value: string): string {
  const word = value
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-/, '')
    .replace(/-$/, '');
  return (word || 'unknown').slice(0, 40);
}

/** SMBIOS type 1 fields a host name template needs, filled with test values where not given. */
export function smbiosFor(hostname: string, smbios: MachineSpec['smbios'] = {}): MachineSpec['smbios'] {
  const system: Record<string, string> = { ...smbios.system };
  for (const m of hostname.matchAll(PLACEHOLDER)) {
    const key = m[1] === 'serial' ? 'serial' : m[1] === 'vendor' ? 'manufacturer' : 'product';
    system[key] ??= TEST_DMI[key];
  }
  return Object.keys(system).length > 0 || smbios.system ? { ...smbios, system } : smbios;
}

/** The host name the installed system should have, its placeholders filled from `system` (SMBIOS type 1). */
export function expectedHostname(template: string, system: Readonly<Record<string, string>> = {}): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const key = name === 'serial' ? 'serial' : name === 'vendor' ? 'manufacturer' : 'product';
    return dmiWord(system[key] ?? '');
  });
}

/**
 * tcg, kvm, or auto: kvm when /dev/kvm opens and `probeKernel` (a Linux kernel, e.g.
 * installerKernel()) starts printing under KVM within 30 s; else tcg. A KVM that starts
 * QEMU but cannot run Linux (some nested setups) is not taken; without a kernel, auto is tcg.
 */
export async function resolveAccel(accel: 'tcg' | 'kvm' | 'auto', probeKernel?: string): Promise<'tcg' | 'kvm'> {
  if (accel !== 'auto') return accel;
  if (probeKernel === undefined) return 'tcg';
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
  } catch {
    return 'tcg';
  }
  // No root file system: the kernel panics, and with panic=-1 and -no-reboot QEMU exits.
  const vm = startMachine({ accel: 'kvm', memoryMiB: 256, kernel: probeKernel, append: 'console=ttyS0 panic=-1' });
  try {
    await vm.console.waitFor(/Linux version /, 30_000, 'the kernel banner');
    return 'kvm';
  } catch {
    return 'tcg';
  } finally {
    vm.kill();
    await vm.exited.catch(() => undefined);
  }
}

/** Reads manifest.json from an output folder (or the folder of an image). */
export function readManifest(dir: string): BuildManifest {
  const path = join(dir, 'manifest.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new BootforgeError('BF_FILE_NOT_FOUND', `no manifest.json beside the image: ${path}`, {
      hint: 'build the image with bootforge build, which writes manifest.json next to installer.img',
    });
  }
  try {
    return JSON.parse(text) as BuildManifest;
  } catch (e) {
    throw new BootforgeError('BF_IO', `${path} is not JSON: ${(e as Error).message}`);
  }
}

function sparseFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

const ms = (since: number) => Math.round(performance.now() - since);

/** Resolves when QEMU exits, or with null after `timeoutMs`. */
async function exitWithin(vm: RunningMachine, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
  try {
    return await Promise.race([vm.exited.catch(() => -1), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Terminal control sequences (firmware menus clear the screen): not for a message. */
// eslint-disable-next-line no-control-regex -- ESC is what it removes
const ESCAPES = /\x1b(?:\[[0-9;=?]*[A-Za-z]|[()][A-Za-z0-9])/g;

function lastLines(vm: RunningMachine, n = 20): string {
  return vm.console.output.replace(ESCAPES, '').replace(/\r/g, '').split('\n').slice(-n).join('\n');
}

export async function bootTest(options: BootTestOptions): Promise<BootTestResult> {
  const started = performance.now();
  const { profile } = options;
  const t: BootTestTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const accel = options.accel ?? 'tcg';
  const image = resolvePath(options.image);
  const workDir = resolvePath(options.workDir);
  mkdirSync(workDir, { recursive: true });
  const manifest = options.manifest ?? readManifest(dirname(image));
  const emit = (e: BootTestEvent) => options.onEvent?.(e);
  const logs = { install: join(workDir, 'install.log'), boot: join(workDir, 'boot.log') };

  const generation = manifest.generation;
  if (!generation) {
    throw new BootforgeError('BF_BOOT_TEST', `the manifest of ${image} names no generation`, {
      hint: 'the image was built by a bootforge that does not install generations: rebuild it',
    });
  }
  if (manifest.profile !== profile.name) {
    throw new BootforgeError('BF_USAGE', `the image was built from profile ${manifest.profile}, not ${profile.name}`);
  }

  const smbios = smbiosFor(profile.data.system.hostname, options.smbios);
  const hostname = expectedHostname(profile.data.system.hostname, smbios?.system);
  const firmware = findUefiFirmware();
  const vars = (name: string) => {
    const path = join(workDir, name);
    copyFileSync(firmware.varsTemplate, path);
    return path;
  };
  const target = join(workDir, 'target.img');
  const sshPort = options.ssh ? await freePort() : undefined;
  const machine = (
    serialLog: string,
    varsPath: string,
    disks: MachineSpec['disks'],
    oem: readonly string[],
    network = false,
  ) =>
    startMachine({
      ...(network && sshPort !== undefined ? { sshPort } : {}),
      accel,
      memoryMiB: options.memoryMiB ?? 1024,
      ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
      uefi: { varsPath },
      disks,
      ...(smbios ? { smbios } : {}),
      oemStrings: oem,
      serialLog,
    });
  const targetDisk = {
    path: target,
    interface: options.targetInterface ?? 'virtio',
    serial: 'bootforge-target',
  } as const;
  const fail = (step: string, log: string, message: string, hint?: string): never => {
    throw new BootTestError(step, `${step}: ${message}`, `${hint ? `${hint}\n` : ''}serial log: ${log}`, log);
  };
  /** A console error (timeout, QEMU gone) as a failure of `step`; other errors pass. */
  const rethrow = (step: string, log: string, e: unknown, vm: RunningMachine): never => {
    if (e instanceof BootTestError) throw e;
    if (e instanceof BootforgeError && (e.code === 'BF_QEMU_TIMEOUT' || e.code === 'BF_BOOT_TEST')) {
      const qemu = vm.process.stderrText().trim().split('\n').slice(-5).join('\n');
      const hint = [
        ...(qemu ? [`QEMU said: ${qemu}`] : []),
        e.hint ?? '',
        ...(e.hint?.includes(log) ? [] : [`serial log: ${log}`]),
      ];
      throw new BootTestError(step, `${step}: ${e.message}`, hint.join('\n').replace(ESCAPES, '').trim(), log);
    }
    throw e;
  };

  // Phase 1: the installer, from a read-only USB stick, onto a blank disk; it powers off.
  sparseFile(target, options.targetSize ?? 8 * 1024 ** 3);
  emit({ type: 'phase', phase: 'install', state: 'start' });
  const t1 = performance.now();
  let installedOn = '';
  let installToInstalledMs = 0;
  {
    const vm = machine(
      logs.install,
      vars('install-vars.fd'),
      [{ path: image, interface: 'usb', readonly: true, serial: 'bootforge-installer' }, targetDisk],
      options.oemStrings ?? [],
    );
    try {
      // Every installer line (installer-events.ts has their grammar); the confirmation
      // prompt (profiles that are not unattended) ends without a newline.
      const pattern =
        /(bootforge: [^\r\n]*|Kernel panic - not syncing[^\r\n]*)\r*\n|bootforge: erase \/dev\/([^\s?]+)\? /;
      const deadline = Date.now() + t.install;
      for (;;) {
        let m: RegExpExecArray;
        try {
          m = await vm.console.waitFor(
            pattern,
            Math.max(1, deadline - Date.now()),
            '"bootforge: installed ..." from the installer',
          );
        } catch (e) {
          rethrow('install', logs.install, e, vm);
          throw e;
        }
        const [, text = '', confirm] = m;
        if (confirm !== undefined) {
          // Answer as the person at the console would: type the disk's name.
          vm.console.send(`${confirm}\n`);
          emit({ type: 'progress', step: 0, steps: 0, message: `confirmed: erase /dev/${confirm}` });
          continue;
        }
        if (text.startsWith('Kernel panic')) {
          fail('install', logs.install, `the installer's kernel panicked: ${text}`, `last lines:\n${lastLines(vm)}`);
        }
        const line = parseInstallerLine(text);
        if (line?.kind === 'started') {
          emit({ type: 'mark', phase: 'install', message: 'installer started', ms: ms(t1) });
          continue;
        }
        if (line?.kind === 'step') {
          emit({ type: 'progress', step: line.step, steps: line.steps, message: line.message });
          continue;
        }
        if (line?.kind === 'progress') {
          const { step, steps, message, done, total } = line;
          emit({ type: 'step-progress', step, steps, message, done, total });
          continue;
        }
        if (line?.kind === 'warning') {
          emit({ type: 'warning', message: line.message });
          continue;
        }
        if (line?.kind === 'failed') {
          fail('install', logs.install, `the installer failed: ${line.message}`, `last lines:\n${lastLines(vm)}`);
        }
        if (line?.kind !== 'installed') continue;
        const { profile: name, generation: number, id, disk } = line;
        if (name !== profile.name || number !== 1 || id !== generation.id) {
          fail(
            'install',
            logs.install,
            `the installer installed ${name} generation ${number} (${id}); expected ${profile.name} generation 1 (${generation.id})`,
          );
        }
        installedOn = disk;
        break;
      }
      installToInstalledMs = ms(t1);
      emit({ type: 'mark', phase: 'install', message: `installed on ${installedOn}`, ms: installToInstalledMs });
      if ((await exitWithin(vm, t.installExit)) === null) {
        fail(
          'install',
          logs.install,
          `the installer did not power off within ${Math.round(t.installExit / 1000)} s after installing`,
          `last lines:\n${lastLines(vm)}`,
        );
      }
    } finally {
      vm.kill();
      await vm.exited.catch(() => undefined);
    }
  }
  const installMs = ms(t1);
  emit({ type: 'phase', phase: 'install', state: 'done', ms: installMs });

  // Phase 2: the installed disk alone, with fresh firmware variables (as if moved to another machine).
  emit({ type: 'phase', phase: 'boot', state: 'start' });
  const t2 = performance.now();
  const vm = machine(
    logs.boot,
    vars('boot-vars.fd'),
    [targetDisk],
    [TEST_SHELL_OEM_STRING, ...(options.oemStrings ?? [])],
    true,
  );
  let exited = false;
  void vm.exited.finally(() => (exited = true));
  const checks: StepOutcome[] = [];
  const tests: StepOutcome[] = [];
  let passed = false;
  try {
    let bootToGenerationMs: number;
    let bootToShellMs: number;
    const shell = new TestShell(vm.console, { commandTimeoutMs: t.command });
    try {
      const m = await vm.console.waitFor(
        /(?:bootforge: (?:generation (\d+) \(([0-9a-f]+)\) active|FAILED: ([^\r\n]*))|(Kernel panic - not syncing[^\r\n]*))\r*\n/,
        t.boot,
        `"bootforge: generation 1 (${generation.id}) active"`,
      );
      const [, number, id, failed, panic] = m;
      if (failed !== undefined)
        fail('boot', logs.boot, `the installed system failed: ${failed}`, `last lines:\n${lastLines(vm)}`);
      if (panic !== undefined)
        fail('boot', logs.boot, `the kernel panicked: ${panic}`, `last lines:\n${lastLines(vm)}`);
      if (number !== '1' || id !== generation.id) {
        fail('boot', logs.boot, `generation ${number} (${id}) is active; expected generation 1 (${generation.id})`);
      }
      bootToGenerationMs = ms(t2);
      emit({ type: 'mark', phase: 'boot', message: `generation 1 (${generation.id}) active`, ms: bootToGenerationMs });
      await shell.waitReady(t.shell);
      bootToShellMs = ms(t2);
      emit({ type: 'mark', phase: 'boot', message: 'test shell ready', ms: bootToShellMs });
    } catch (e) {
      rethrow('boot', logs.boot, e, vm);
      throw e;
    }
    emit({ type: 'phase', phase: 'boot', state: 'done', ms: bootToShellMs });

    /** Runs one step; a failure is recorded, not thrown, unless the shell cannot go on. */
    const step = async (
      kind: 'check' | 'test',
      name: string,
      command: string | undefined,
      fn: () => Promise<void>,
    ): Promise<void> => {
      const s = performance.now();
      let outcome: StepOutcome;
      try {
        await fn();
        outcome = { name, ok: true, ms: ms(s), ...(command !== undefined ? { command } : {}) };
      } catch (e) {
        const output = e instanceof TestShellError && e.output ? `\noutput:\n${e.output.slice(-2000)}` : '';
        const detail = `${(e as Error).message}${output}`;
        outcome = { name, ok: false, ms: ms(s), ...(command !== undefined ? { command } : {}), detail };
      }
      (kind === 'check' ? checks : tests).push(outcome);
      emit({ type: 'step', kind, outcome });
      if (!outcome.ok && (exited || shell.busy)) {
        fail(
          `${kind} ${name}`,
          logs.boot,
          exited ? 'the guest stopped' : 'a command timed out and the shell is still busy',
          outcome.detail,
        );
      }
    };
    const expect = (ok: boolean, message: string) => {
      if (!ok) throw new Error(message);
    };

    // Phase 3: the installed system is what the profile says.
    emit({ type: 'phase', phase: 'checks', state: 'start' });
    const t3 = performance.now();
    await step('check', 'hostname', 'cat /proc/sys/kernel/hostname', async () => {
      const actual = (await shell.succeed('cat /proc/sys/kernel/hostname')).trim();
      expect(actual === hostname, `the host name is ${JSON.stringify(actual)}; expected ${JSON.stringify(hostname)}`);
    });
    for (const user of profile.data.users) {
      const command = `id -u ${shQuote(user.name)} && id -Gn ${shQuote(user.name)}`;
      await step('check', `user ${user.name}`, command, async () => {
        const [uid = '', groups = ''] = (await shell.succeed(command)).trim().split('\n');
        if (user.uid !== undefined)
          expect(uid.trim() === String(user.uid), `${user.name} has uid ${uid.trim()}; expected ${user.uid}`);
        const have = groups.trim().split(/\s+/);
        const missing = user.groups.filter((g) => !have.includes(g));
        expect(missing.length === 0, `${user.name} is not in ${missing.join(', ')} (groups: ${groups.trim()})`);
      });
    }
    await step('check', 'kernel parameters', 'cat /proc/cmdline', async () => {
      const cmdline = (await shell.succeed('cat /proc/cmdline')).trim();
      const words = cmdline.split(/\s+/);
      const missing = profile.data.kernel.params.filter((p) => !words.includes(p));
      expect(missing.length === 0, `/proc/cmdline lacks ${missing.join(' ')}: ${cmdline}`);
    });
    await step('check', 'current system', 'readlink /run/current-system', async () => {
      const link = (await shell.succeed('readlink /run/current-system')).trim();
      expect(link === generation.path, `/run/current-system points to ${link}; expected ${generation.path}`);
    });
    const entries = 'ls -1 /boot/loader/entries/bootforge-gen-1*.conf';
    await step('check', 'boot entry', entries, async () => {
      await shell.succeed(entries);
    });
    if (profile.data.system.init === 'systemd') {
      // --wait: until start-up is over; then "running" (exit 0) or "degraded" with the failed units.
      const running = 'systemctl is-system-running --wait';
      await step('check', 'system running', running, async () => {
        const r = await shell.execute(running, 300_000);
        if (r.status !== 0) {
          const failedUnits = await shell.execute('systemctl --failed --no-legend --plain');
          throw new Error(`the system is ${r.output.trim()}; failed units:\n${failedUnits.output.trim()}`);
        }
      });
    }
    if (options.ssh && sshPort !== undefined) {
      const ssh = options.ssh;
      const user =
        profile.data.users.find((u) => u.name === ssh.user) ??
        profile.data.users.find((u) => u.sshAuthorizedKeys.length > 0);
      if (user) {
        const command = user.sudo ? 'sudo -n true && id -un' : 'id -un';
        await step('check', `ssh login ${user.name}`, command, async () => {
          const out = await sshRun(
            { port: sshPort, user: user.name, identity: ssh.identity, workDir, timeoutMs: 180_000 },
            command,
          );
          expect(out.trim() === user.name, `ssh ran as ${JSON.stringify(out.trim())}; expected ${user.name}`);
        });
      }
    }
    const checksMs = ms(t3);
    emit({ type: 'phase', phase: 'checks', state: 'done', ms: checksMs });

    // The profile's own tests, then the caller's script.
    emit({ type: 'phase', phase: 'tests', state: 'start' });
    const t4 = performance.now();
    for (const c of testCases(profile.data.tests)) {
      await step('test', c.name, c.succeed ?? c.fail, async () => {
        if (c.succeed === undefined && c.fail === undefined) throw new Error('the test has neither succeed nor fail');
        if (c.succeed !== undefined) await shell.succeed(c.succeed, c.timeoutMs);
        if (c.fail !== undefined) await shell.fail(c.fail, c.timeoutMs);
      });
    }
    if (options.script) {
      const script = options.script;
      await step('test', 'script', undefined, () => script(shell));
    }
    const testsMs = ms(t4);
    emit({ type: 'phase', phase: 'tests', state: 'done', ms: testsMs });

    const failed = [...checks.map((o) => ['check', o] as const), ...tests.map((o) => ['test', o] as const)].filter(
      ([, o]) => !o.ok,
    );
    const first = failed[0];
    if (first) {
      const [kind, o] = first;
      const more = failed.length > 1 ? ` (and ${failed.length - 1} more failed)` : '';
      throw new BootTestError(
        `${kind} ${o.name}`,
        `${kind} ${o.name} failed${more}: ${(o.detail ?? '').split('\n')[0]}`,
        [...failed.map(([k, f]) => `${k} ${f.name}: ${f.detail ?? ''}`), `serial log: ${logs.boot}`].join('\n'),
        logs.boot,
        checks,
        tests,
      );
    }

    // Phase 4: power off through the shell.
    emit({ type: 'phase', phase: 'poweroff', state: 'start' });
    const t5 = performance.now();
    let how: 'clean' | 'forced' = 'clean';
    await shell.start('poweroff');
    if ((await exitWithin(vm, t.poweroff / 2)) === null) {
      how = 'forced';
      await shell.start('poweroff -f');
      if ((await exitWithin(vm, t.poweroff / 2)) === null) {
        fail(
          'poweroff',
          logs.boot,
          `the system did not power off within ${Math.round(t.poweroff / 1000)} s (poweroff, then poweroff -f)`,
          `last lines:\n${lastLines(vm)}`,
        );
      }
    }
    const poweroffMs = ms(t5);
    emit({ type: 'phase', phase: 'poweroff', state: 'done', ms: poweroffMs });
    passed = true;
    return {
      generation,
      installedOn,
      hostname,
      accel,
      timings: {
        installToInstalledMs,
        installMs,
        bootToGenerationMs,
        bootToShellMs,
        checksMs,
        testsMs,
        poweroffMs,
        totalMs: ms(started),
      },
      checks,
      tests,
      logs,
      poweroff: how,
    };
  } catch (e) {
    if (e instanceof BootTestError && e.checks.length === 0 && e.tests.length === 0 && (checks.length || tests.length))
      throw new BootTestError(e.step, e.message, e.hint ?? '', e.log, checks, tests);
    throw e;
  } finally {
    vm.kill();
    await vm.exited.catch(() => undefined);
    if (passed && !options.keep) {
      for (const f of [target, join(workDir, 'install-vars.fd'), join(workDir, 'boot-vars.fd')])
        rmSync(f, { force: true });
    }
  }
}
