/**
 * Ctrl-C and SIGTERM as a request to stop cleanly: the first one aborts the work
 * (which removes its temporary files), a second one kills as usual, for when the
 * clean stop waits on a slow device.
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface Interrupt {
  readonly signal: AbortSignal;
  /** 128 + the signal's number (130 for SIGINT, 143 for SIGTERM) once one came; else undefined. */
  exitCode(): number | undefined;
  /** Gives the signals back to their default handling. */
  dispose(): void;
}

export function abortOnSignals(): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const dispose = () => {
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    received = signal;
    dispose();
    controller.abort(new Error(`interrupted by ${signal}`));
  }
  for (const s of SIGNALS) process.on(s, onSignal);
  return {
    signal: controller.signal,
    exitCode: () => (received === undefined ? undefined : 128 + constants.signals[received]),
    dispose,
  };
}
