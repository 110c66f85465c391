import type { BuildEvent } from '../log/events.js';
import type { BootTestEvent, BootTestPhase } from './boot-test.js';
import { INSTALL_TASK, installerLineEvents } from './installer-events.js';

/** The live line of each phase while nothing more precise is known (the time so far is shown with it). */
const PHASE_LABEL: Readonly<Record<BootTestPhase, string>> = {
  install: 'installer: firmware, kernel',
  boot: 'installed disk: firmware, kernel, generation 1',
  checks: 'checks',
  tests: 'profile tests',
  poweroff: 'powering off',
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const taskOf = (phase: BootTestPhase) => (phase === 'install' ? INSTALL_TASK : `test:${phase}`);
const waiting = (phase: BootTestPhase, label = PHASE_LABEL[phase]): BuildEvent => ({
  type: 'progress',
  id: taskOf(phase),
  label,
  done: 0,
  total: 0,
  unit: 'items',
});

/**
 * A boot test's events as BuildEvents, so `bootforge test` shows them through the same
 * reporter as a build: each phase a step and a live task (the installer's own steps
 * advance it), marks and passing checks steps, a failing check a warning.
 */
export function bootTestBuildEvents(e: BootTestEvent): BuildEvent[] {
  switch (e.type) {
    case 'phase':
      return e.state === 'start'
        ? [{ type: 'step', stage: e.phase, message: 'started' }, waiting(e.phase)]
        : [{ type: 'step', stage: e.phase, message: `done in ${seconds(e.ms)}` }];
    case 'progress':
      if (e.steps === 0) return [{ type: 'step', stage: 'install', message: e.message }];
      return installerLineEvents({ kind: 'step', step: e.step, steps: e.steps, message: e.message });
    case 'step-progress': {
      const { step, steps, message, done, total } = e;
      return installerLineEvents({ kind: 'progress', step, steps, message, done, total });
    }
    case 'mark':
      // The step ends the phase's live line; it goes on until the phase is done.
      return [
        { type: 'step', stage: e.phase, message: `${e.message} after ${seconds(e.ms)}` },
        waiting(e.phase, `${e.phase}: ${e.message}`),
      ];
    case 'warning':
      return installerLineEvents({ kind: 'warning', message: e.message });
    case 'step': {
      const o = e.outcome;
      if (o.ok) return [{ type: 'step', stage: e.kind, message: `${o.name}: ok (${seconds(o.ms)})` }];
      const detail = (o.detail ?? '').split('\n')[0] ?? '';
      return [{ type: 'warning', message: `${e.kind} ${o.name} FAILED (${seconds(o.ms)}): ${detail}` }];
    }
  }
}
