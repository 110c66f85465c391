import { describe, expect, it } from 'vitest';
import { bootTestBuildEvents } from '../../../src/qemu/test-events.js';

describe('bootTestBuildEvents', () => {
  it('makes a phase a step with a live task of unknown size, ended by its done step', () => {
    expect(bootTestBuildEvents({ type: 'phase', phase: 'boot', state: 'start' })).toEqual([
      { type: 'step', stage: 'boot', message: 'started' },
      {
        type: 'progress',
        id: 'test:boot',
        label: 'installed disk: firmware, kernel, generation 1',
        done: 0,
        total: 0,
        unit: 'items',
      },
    ]);
    expect(bootTestBuildEvents({ type: 'phase', phase: 'boot', state: 'done', ms: 30_900 })).toEqual([
      { type: 'step', stage: 'boot', message: 'done in 30.9 s' },
    ]);
  });

  it('keeps a phase live after a mark, under the mark', () => {
    expect(bootTestBuildEvents({ type: 'mark', phase: 'install', message: 'installer started', ms: 29_000 })).toEqual([
      { type: 'step', stage: 'install', message: 'installer started after 29.0 s' },
      { type: 'progress', id: 'test:install', label: 'install: installer started', done: 0, total: 0, unit: 'items' },
    ]);
  });

  it('reports a passing check as a step and a failing one as a warning (shown by --quiet)', () => {
    expect(
      bootTestBuildEvents({ type: 'step', kind: 'check', outcome: { name: 'hostname', ok: true, ms: 200 } }),
    ).toEqual([{ type: 'step', stage: 'check', message: 'hostname: ok (0.2 s)' }]);
    expect(
      bootTestBuildEvents({
        type: 'step',
        kind: 'test',
        outcome: { name: 'sshd runs', ok: false, ms: 1500, detail: 'exit status 3\nmore' },
      }),
    ).toEqual([{ type: 'warning', message: 'test sshd runs FAILED (1.5 s): exit status 3' }]);
  });

  it('passes the confirmation answer on as a step without a count', () => {
    expect(bootTestBuildEvents({ type: 'progress', step: 0, steps: 0, message: 'confirmed: erase /dev/vda' })).toEqual([
      { type: 'step', stage: 'install', message: 'confirmed: erase /dev/vda' },
    ]);
  });
});
