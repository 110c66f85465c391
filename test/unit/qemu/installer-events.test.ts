import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/log/events.js';
import {
  INSTALL_TASK,
  installerLineEvents,
  parseInstallerLine,
  type InstallerLine,
} from '../../../src/qemu/installer-events.js';
import { bootTestBuildEvents } from '../../../src/qemu/test-events.js';

// The serial console of a real install (bootforge test profiles/minimal.yaml, TCG): firmware
// screen clears, the systemd-boot menu, the installer's lines with \r\n, the kernel's last words.
const sample = readFileSync(new URL('../../fixtures/console/install-minimal.log', import.meta.url), 'utf8');
const lines = sample.split('\n');
const MiB = 1024 * 1024;

describe('parseInstallerLine', () => {
  const parsed = lines.map(parseInstallerLine).filter((l): l is InstallerLine => l !== undefined);

  it('finds every installer line of a captured console, and only those', () => {
    expect(parsed).toHaveLength(lines.filter((l) => l.includes('bootforge: ')).length);
    expect(parsed).toHaveLength(24);
    expect(parseInstallerLine('[   83.492741] reboot: Power down\r')).toBeUndefined();
    expect(
      parseInstallerLine('BdsDxe: loading Boot0002 "UEFI QEMU QEMU USB HARDDRIVE bootforge-installer"'),
    ).toBeUndefined();
  });

  it('reads the start line behind the firmware and boot menu escapes', () => {
    expect(parsed[0]).toEqual({ kind: 'started', initrd: 'minimal-installer', role: 'installer' });
  });

  it('reads the nine numbered steps in order', () => {
    const steps = parsed.flatMap((l) => (l.kind === 'step' ? [l] : []));
    expect(steps.map((s) => `${s.step}/${s.steps}`)).toEqual(Array.from({ length: 9 }, (_, i) => `${i + 1}/9`));
    expect(steps[2]).toEqual({ kind: 'step', step: 3, steps: 9, message: 'verifying the payload' });
    expect(steps[4]?.message).toBe('partitioning /dev/vda (serial bootforge-target, 8.0 GiB, virtio)');
  });

  it('reads the installed line and keeps the rest as log lines', () => {
    expect(parsed.find((l) => l.kind === 'installed')).toEqual({
      kind: 'installed',
      profile: 'minimal',
      generation: 1,
      id: '1c8f5488b9b7015cc230668d1acf0a42',
      disk: '/dev/vda',
    });
    expect(parsed.at(-1)).toEqual({ kind: 'log', message: 'powering off' });
    expect(parsed.filter((l) => l.kind === 'failed' || l.kind === 'warning')).toEqual([]);
  });

  it('reads a progress line inside a step as bytes, not as a new step', () => {
    expect(parseInstallerLine('bootforge: [7/9] unpacking the system: 43% (50/117 MiB)\r\n')).toEqual({
      kind: 'progress',
      step: 7,
      steps: 9,
      message: 'unpacking the system',
      done: 50 * MiB,
      total: 117 * MiB,
    });
    // A step whose label only looks a bit like one stays a step.
    expect(
      parseInstallerLine('bootforge: [5/9] partitioning /dev/vda (x: 5% (1/2 MiB), 8.0 GiB, virtio)'),
    ).toMatchObject({
      kind: 'step',
      step: 5,
    });
    expect(parseInstallerLine('bootforge: [7/9] unpacking the system: 43% (50/117 GiB)')).toMatchObject({
      kind: 'step',
    });
  });

  it('reads failures and warnings', () => {
    expect(parseInstallerLine('bootforge: FAILED: no target disk: none matches\r\n')).toEqual({
      kind: 'failed',
      message: 'no target disk: none matches',
    });
    expect(parseInstallerLine('bootforge: warning: the clock is in 1970')).toEqual({
      kind: 'warning',
      message: 'the clock is in 1970',
    });
    // Another program's prefix is not the installer's.
    expect(parseInstallerLine('bootforge-probe: OK abc')).toBeUndefined();
  });
});

describe('a captured install with progress lines (bootforge test profiles/minimal.yaml, TCG)', () => {
  const progressSample = readFileSync(
    new URL('../../fixtures/console/install-minimal-progress.log', import.meta.url),
    'utf8',
  ).split('\n');
  const parsed = progressSample.map(parseInstallerLine).filter((l): l is InstallerLine => l !== undefined);

  it('reads each progress line inside its own step, done growing, and still nine steps', () => {
    const steps = parsed.flatMap((l) => (l.kind === 'step' ? [l.step] : []));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let step = 0;
    let done = -1;
    const seen: string[] = [];
    for (const l of parsed) {
      if (l.kind === 'step') [step, done] = [l.step, -1];
      if (l.kind !== 'progress') continue;
      expect(l.step).toBe(step);
      expect(l.done).toBeGreaterThanOrEqual(done);
      expect(l.done).toBeLessThanOrEqual(l.total);
      expect(l.total).toBe(120 * MiB);
      done = l.done;
      seen.push(`${l.step} ${l.message}`);
    }
    expect(seen[0]).toBe('3 verifying the payload');
    expect(seen.slice(1).every((s) => s === '7 unpacking the system')).toBe(true);
    expect(seen.length).toBe(20);
  });

  it('gives bootforge test one task for each long step, in bytes', () => {
    const events = parsed.flatMap((l) =>
      l.kind === 'progress' ? bootTestBuildEvents({ type: 'step-progress', ...l }) : [],
    );
    expect(new Set(events.map((e) => (e.type === 'progress' ? `${e.id} ${e.unit}` : e.type)))).toEqual(
      new Set(['install:verify bytes', 'install:unpack bytes']),
    );
  });
});

describe('the installer lines as BuildEvents', () => {
  it('makes each step a step and the advance of the install task', () => {
    expect(installerLineEvents({ kind: 'step', step: 3, steps: 9, message: 'verifying the payload' })).toEqual([
      { type: 'step', stage: 'install', message: '[3/9] verifying the payload' },
      {
        type: 'progress',
        id: INSTALL_TASK,
        label: 'installer: verifying the payload',
        done: 2,
        total: 9,
        unit: 'items',
      },
    ]);
    expect(installerLineEvents({ kind: 'log', message: 'plan: the disk is blank' })).toEqual([]);
  });

  it("makes a progress line the advance of its step's own task, in bytes, with a stable id", () => {
    const unpack = { kind: 'progress', step: 7, steps: 9, message: 'unpacking the system', total: 117 * MiB } as const;
    expect(installerLineEvents({ ...unpack, done: 50 * MiB })).toEqual([
      {
        type: 'progress',
        id: 'install:unpack',
        label: 'installer: unpacking the system',
        done: 50 * MiB,
        total: 117 * MiB,
        unit: 'bytes',
      },
    ]);
    const ids = (line: InstallerLine) => installerLineEvents(line).map((e) => (e.type === 'progress' ? e.id : e.type));
    expect(ids({ ...unpack, step: 3, message: 'verifying the payload', done: 0 })).toEqual(['install:verify']);
    expect(ids({ ...unpack, message: 'something else', done: 0 })).toEqual(['install:step-7']);
    // The same events through bootforge test's own event.
    expect(
      bootTestBuildEvents({
        type: 'step-progress',
        step: 7,
        steps: 9,
        message: 'unpacking the system',
        done: 5,
        total: 9,
      }),
    ).toEqual(installerLineEvents({ ...unpack, done: 5, total: 9 }));
  });

  it('gives bootforge test the same events for the console lines as the parser', () => {
    const fromConsole: BuildEvent[] = [];
    for (const line of lines) {
      const l = parseInstallerLine(line);
      if (l?.kind === 'step')
        fromConsole.push(
          ...bootTestBuildEvents({ type: 'progress', step: l.step, steps: l.steps, message: l.message }),
        );
    }
    expect(fromConsole.filter((e) => e.type === 'step')).toHaveLength(9);
    expect(fromConsole.at(-1)).toMatchObject({ type: 'progress', id: INSTALL_TASK, done: 8, total: 9 });
    expect(bootTestBuildEvents({ type: 'warning', message: 'w' })).toEqual([
      { type: 'warning', message: 'installer: w' },
    ]);
  });
});
