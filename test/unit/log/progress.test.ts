import { describe, expect, it } from 'vitest';
import { RecordingReporter } from '../../../src/log/events.js';
import { startTask, tracked } from '../../../src/log/progress.js';

const finals = (r: RecordingReporter) =>
  r.events.filter((e) => e.type === 'progress' && e.total > 0 && e.done >= e.total).length;

describe('startTask', () => {
  it('emits a start, each advance, and one last event', async () => {
    const r = new RecordingReporter();
    const task = startTask(r, 'w', 'writing', 6);
    for await (const c of tracked(
      (async function* () {
        yield await Promise.resolve(Buffer.alloc(2));
        yield Buffer.alloc(4);
      })(),
      task,
    ))
      void c;
    task.finish();
    expect(r.events.map((e) => (e.type === 'progress' ? `${e.done}/${e.total}` : e.type))).toEqual([
      '0/6',
      '2/6',
      '6/6',
    ]);
    expect(finals(r)).toBe(1);
  });

  it('holds at an estimated total it passes, and ends at the real amount once', () => {
    const r = new RecordingReporter();
    const task = startTask(r, 'p', 'payload', 10, 'bytes', true);
    for (let i = 0; i < 15; i++) task.advance(1);
    task.finish();
    task.finish();
    expect(r.events.at(-1)).toMatchObject({ done: 15, total: 15 });
    expect(finals(r)).toBe(1);
    expect(r.events.filter((e) => e.type === 'progress').map((e) => (e.type === 'progress' ? e.done : 0))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15,
    ]);
  });

  it('ends an exact task when its count reaches the total', () => {
    const r = new RecordingReporter();
    const task = startTask(r, 'i', 'items', 2, 'items');
    task.advance(1);
    task.advance(1);
    task.finish();
    expect(finals(r)).toBe(1);
    expect(r.events.at(-1)).toMatchObject({ done: 2, total: 2 });
  });

  it('ends once whatever is called after an exact task reached its total', () => {
    const after: Record<string, (t: ReturnType<typeof startTask>) => void> = {
      finish: (t) => t.finish(),
      'advance(0), finish': (t) => (t.advance(0), t.finish()),
      'advance past the total, finish': (t) => (t.advance(3), t.finish()),
      'finish, advance, finish': (t) => (t.finish(), t.advance(1), t.finish()),
    };
    for (const [order, calls] of Object.entries(after)) {
      const r = new RecordingReporter();
      const task = startTask(r, 'f', 'flashing', 8);
      task.advance(5);
      task.advance(3);
      calls(task);
      expect(finals(r), order).toBe(1);
      expect(r.events.at(-1), order).toMatchObject({ done: 8, total: 8 });
    }
  });

  it('ends a task of unknown size at what was done', () => {
    const r = new RecordingReporter();
    const task = startTask(r, 'u', 'unknown', 0);
    task.advance(7);
    task.finish();
    expect(r.events.at(-1)).toMatchObject({ done: 7, total: 7 });
  });
});
