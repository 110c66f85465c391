import type { Reporter } from '../log/events.js';

/** Runs one labelled step of a command: reported as it starts, its duration kept in `timings` (ms). */
export type StepRunner = <T>(label: string, fn: () => Promise<T>) => Promise<T>;

export function timedSteps(reporter: Reporter, stage: string): { step: StepRunner; timings: Record<string, number> } {
  const timings: Record<string, number> = {};
  const step: StepRunner = async (label, fn) => {
    const t = performance.now();
    reporter.emit({ type: 'step', stage, message: label });
    const r = await fn();
    timings[label] = Math.round(performance.now() - t);
    return r;
  };
  return { step, timings };
}
