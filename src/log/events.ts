/**
 * What long-running work tells the user. The CLI picks how to show it: a live
 * progress line on a terminal, plain lines in logs, NDJSON with --json, nothing with --quiet.
 */
export type BuildEvent =
  | { readonly type: 'step'; readonly stage: string; readonly message: string }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'download'; readonly name: string; readonly bytes: number; readonly total: number }
  | {
      readonly type: 'downloaded';
      readonly name: string;
      readonly size: number;
      readonly cached: boolean;
      readonly ms: number;
    }
  /**
   * A long task's advance (extraction, compression, image write, flashing, QEMU phases).
   * `id` names one task while it runs; `done`/`total` are in `unit`; total 0 = unknown.
   * The last event of a task has `done === total` or is followed by a `step`.
   */
  | {
      readonly type: 'progress';
      readonly id: string;
      readonly label: string;
      readonly done: number;
      readonly total: number;
      readonly unit: 'bytes' | 'items';
    };

export interface Reporter {
  emit(event: BuildEvent): void;
  /** Clears any live display; called before the command prints its result. */
  close(): void;
}

export const silentReporter: Reporter = { emit: () => undefined, close: () => undefined };

/** Collects events (tests, library callers that want them afterwards). */
export class RecordingReporter implements Reporter {
  readonly events: BuildEvent[] = [];
  emit(event: BuildEvent): void {
    this.events.push(event);
  }
  close(): void {}
}
