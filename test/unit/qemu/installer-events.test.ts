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
