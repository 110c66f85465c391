import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { findUefiFirmware } from '../../src/qemu/firmware.js';
import { startMachine, type RunningMachine } from '../../src/qemu/machine.js';
import { TEST_SHELL_OEM_STRING } from '../../src/qemu/boot-test.js';
import { TestShell } from '../../src/qemu/test-shell.js';

/** What one boot of an installed disk came to. */
export type BootOutcome =
  | { readonly kind: 'active'; readonly generation: number; readonly id: string }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'panic'; readonly message: string };

/**
 * An installed bootforge disk booted again and again under OVMF, as one machine: the same
 * firmware variables every time, a second read-only disk with update bundles, QEMU run with
 * -no-reboot so that every guest reboot ends QEMU and the test sees the disk between boots.
 */
export class GenerationVm {
  private readonly vars: string;
  private vm: RunningMachine | undefined;
  shell: TestShell | undefined;
  boots = 0;
  /** Every line of the record: boot number, what booted, the entries on the ESP after it. */
  readonly record: string[] = [];

  constructor(
    readonly dir: string,
    readonly target: string,
    readonly bundlesDisk: string,
  ) {
    this.vars = join(dir, 'vars.fd');
    copyFileSync(findUefiFirmware().varsTemplate, this.vars);
  }

  get console() {
    if (!this.vm) throw new Error('not running');
    return this.vm.console;
  }

  /** Starts the machine and waits for the generation initrd's verdict. */
  async boot(timeoutMs = 240_000): Promise<BootOutcome> {
    this.boots += 1;
    const log = join(this.dir, `boot-${String(this.boots).padStart(2, '0')}.log`);
    this.vm = startMachine({
      accel: 'tcg',
      memoryMiB: 768,
      uefi: { varsPath: this.vars },
      disks: [
        { path: this.target, interface: 'virtio', serial: 'bootforge-target' },
        { path: this.bundlesDisk, interface: 'virtio', serial: 'bundles', readonly: true },
      ],
      oemStrings: [TEST_SHELL_OEM_STRING],
      serialLog: log,
    });
    this.shell = new TestShell(this.vm.console, { commandTimeoutMs: 180_000 });
    const m = await this.vm.console.waitFor(
      /bootforge: (?:generation (\d+) \(([0-9a-f]+)\) active|FAILED: ([^\r\n]*))\r*\n|(Kernel panic - not syncing[^\r\n]*)/,
      timeoutMs,
      `a generation starting (boot ${this.boots}, log ${log})`,
    );
    const [, n, id, failed, panic] = m;
    if (failed !== undefined) return { kind: 'failed', message: failed };
    if (panic !== undefined) return { kind: 'panic', message: panic };
    return { kind: 'active', generation: Number(n), id: id ?? '' };
  }

  /** Waits for boot-complete's verdict on generation N. */
  async health(n: number, timeoutMs = 180_000): Promise<'healthy' | 'unhealthy'> {
    const m = await this.console.waitFor(
      new RegExp(`bootforge: generation ${n} is (healthy|not healthy)`),
      timeoutMs,
      `the health verdict of generation ${n}`,
    );
    return m[1] === 'healthy' ? 'healthy' : 'unhealthy';
  }

  async ready(timeoutMs = 180_000): Promise<TestShell> {
    if (!this.shell) throw new Error('not running');
    await this.shell.waitReady(timeoutMs);
    await this.shell.succeed(
      'mkdir -p /run/bundles && (grep -q " /run/bundles " /proc/mounts || { modprobe vfat; mount -t vfat -o ro /dev/vdb /run/bundles; }) 2>&1',
    );
    return this.shell;
  }

  /** A clean reboot from inside; resolves when QEMU has exited. */
  async reboot(timeoutMs = 120_000): Promise<void> {
    await this.shell?.succeed('(sleep 1; reboot) </dev/null >/dev/null 2>&1 &');
    await this.exit(timeoutMs);
  }

  /** Waits for the guest to end QEMU (a reboot or poweroff under -no-reboot). */
  async exit(timeoutMs: number): Promise<number> {
    const vm = this.vm;
    if (!vm) throw new Error('not running');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QEMU did not exit within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      return await Promise.race([vm.exited.catch(() => -1), timeout]);
    } catch (e) {
      // A guest that did not end is ended here, not left to outlive the test.
      vm.kill();
      await vm.exited.catch(() => undefined);
      throw e;
    } finally {
      clearTimeout(timer);
      this.vm = undefined;
    }
  }

  /** Ends the machine if it still runs: every test file calls this in afterAll, pass or fail. */
  async stop(): Promise<void> {
    await this.cut();
  }

  /** Power cut: QEMU killed, whatever the guest had not written is gone. */
  async cut(): Promise<void> {
    const vm = this.vm;
    if (!vm) return;
    vm.kill();
    await vm.exited.catch(() => undefined);
    this.vm = undefined;
  }

  /** Entry file names on the target's ESP, read with mtools while the machine is off. */
  entries(): string[] {
    const table = JSON.parse(execFileSync('sfdisk', ['--json', this.target], { encoding: 'utf8' })) as {
      partitiontable: { sectorsize?: number; partitions: { start: number }[] };
    };
    const start = table.partitiontable.partitions[0]?.start ?? 0;
    const offset = start * (table.partitiontable.sectorsize ?? 512);
    const out = execFileSync('mdir', ['-b', '-i', `${this.target}@@${offset}`, '::/loader/entries'], {
      encoding: 'utf8',
      env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
    });
    return out
      .split('\n')
      .map((l) => l.trim().replace(/^.*\//, ''))
      .filter((l) => l.length > 0)
      .sort();
  }

  /** Adds a line to the record (and to record.txt in the work folder). */
  note(line: string): void {
    this.record.push(line);
    appendFileSync(join(this.dir, 'record.txt'), `${line}\n`);
    // Also in the test output: what CI shows when the work folder is gone.
    console.warn(line);
  }
}
