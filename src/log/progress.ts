import type { Reporter } from './events.js';

/** One long task's progress, as a stage reports it: advance as work is done, finish once. */
export interface ProgressTask {
  advance(amount: number): void;
  finish(): void;
}

/**
 * Starts a task: emits its first `progress` event now and its last (`done === total`,
 * exactly once) at the end. `total` may be a guess (`estimated`) or 0 (unknown). Every advance is
 * emitted; reporters decide how often to show one.
 */
export function startTask(
  reporter: Reporter,
  id: string,
  label: string,
  total: number,
  unit: 'bytes' | 'items' = 'bytes',
  /** The total is a guess: the count may pass it, and only finish() ends the task. */
  estimated = false,
): ProgressTask {
  let done = 0;
  // Set once the final event (done === total) is out: nothing is emitted after it, so
  // reporters see a task end once whatever the order of advance() and finish().
  let ended = false;
  const emit = (value: number, end: number) =>
    reporter.emit({ type: 'progress', id, label, done: value, total: end, unit });
  emit(0, total);
  return {
    advance(amount) {
      if (ended) return;
      done += amount;
      // At or past a guessed total the count is held: only finish says the task is done.
      if (total > 0 && (done > total || (estimated && done === total))) return;
      ended = total > 0 && done === total;
      emit(done, total);
    },
    finish() {
      if (ended) return;
      ended = true;
      const end = Math.max(total, done);
      emit(end, end);
    },
  };
}

/** Passes a stream through, advancing `task` by each chunk's length. */
export async function* tracked<T extends { length: number }>(
  input: AsyncIterable<T>,
  task: ProgressTask,
): AsyncIterable<T> {
  for await (const chunk of input) {
    task.advance(chunk.length);
    yield chunk;
  }
}
