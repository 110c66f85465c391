import { describe, expect, it } from 'vitest';
import { JsonReporter, PlainReporter, QuietReporter } from '../../../src/log/reporters.js';
import type { BuildEvent } from '../../../src/log/events.js';

function capture() {
  const out: string[] = [];
  return { out, write: (t: string) => void out.push(t) };
}

/** A clock the test moves. */
function fakeClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, tick: (ms: number) => void (now += ms) };
}

const progress = (done: number, total = 100, id = 'payload'): BuildEvent => ({
  type: 'progress',
  id,
  label: 'payload: tar + zstd',
  done,
  total,
  unit: 'bytes',
});

describe('JsonReporter', () => {
  it('writes one object a line, with the event and a time from the clock', () => {
    const c = capture();
    const clock = fakeClock();
    const r = new JsonReporter(c.write, clock.now);
    r.emit({ type: 'step', stage: 'packages', message: 'bookworm verified' });
    r.emit({ type: 'warning', message: 'careful' });
    r.emit({ type: 'downloaded', name: 'x', size: 2, cached: false, ms: 5 });
    const lines = c.out.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      time: new Date(clock.now()).toISOString(),
      type: 'step',
      stage: 'packages',
      message: 'bookworm verified',
    });
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['step', 'warning', 'downloaded']);
  });

  it('keeps progress to two events a second per task, plus the last one', () => {
    const c = capture();
    const clock = fakeClock();
    const r = new JsonReporter(c.write, clock.now);
    // 3 s of progress every 10 ms in two tasks, then both finish.
    for (let i = 0; i < 300; i++) {
      r.emit(progress(i / 10, 100, 'a'));
      r.emit(progress(i / 10, 100, 'b'));
      clock.tick(10);
    }
    r.emit(progress(100, 100, 'a'));
    r.emit(progress(100, 100, 'b'));
    const events = c.out.map((l) => JSON.parse(l) as { id: string; done: number; time: string });
    for (const id of ['a', 'b']) {
      const mine = events.filter((e) => e.id === id);
      expect(mine.length).toBe(3 * 2 + 1); // every 500 ms over 3 s, and the final one
      expect(mine.at(-1)?.done).toBe(100);
      const times = mine.slice(0, -1).map((e) => Date.parse(e.time));
      for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(500);
    }
  });

  it('throttles download chunks the same way and always passes the finished download', () => {
    const c = capture();
    const clock = fakeClock();
    const r = new JsonReporter(c.write, clock.now);
    for (let i = 0; i < 10; i++) {
      r.emit({ type: 'download', name: 'kernel', bytes: i, total: 100 });
      clock.tick(10);
    }
    r.emit({ type: 'downloaded', name: 'kernel', size: 100, cached: false, ms: 100 });
    expect(c.out.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['download', 'downloaded']);
  });
});

describe('PlainReporter', () => {
  it('prints a line per step, warning and real download, none for cache hits or chunks', () => {
    const c = capture();
    const r = new PlainReporter(c.write);
    r.emit({ type: 'download', name: 'x', bytes: 1, total: 2 });
    r.emit({ type: 'downloaded', name: 'cached', size: 2, cached: true, ms: 0 });
    r.emit({ type: 'downloaded', name: 'x', size: 2048, cached: false, ms: 5 });
    r.emit({ type: 'warning', message: 'careful' });
    r.emit({ type: 'step', stage: 'build', message: 'payload' });
    expect(c.out.join('')).toBe(
      'bootforge: fetched x (2 KiB, 5 ms)\nbootforge: warning: careful\nbootforge: build: payload\n',
    );
  });

  it('prints one line when a task finishes, with its size, time and rate, and nothing while it runs', () => {
    const c = capture();
    const clock = fakeClock();
    const r = new PlainReporter(c.write, clock.now);
    for (let i = 0; i <= 40; i++) {
      r.emit(progress(i * 1024 * 1024, 40 * 1024 * 1024));
      clock.tick(100);
    }
    expect(c.out.join('')).toBe('bootforge: payload: tar + zstd: 40 MiB / 40 MiB in 4.0 s (10 MiB/s)\n');
  });

  it('prints nothing for a task that a step ended or that took under a second', () => {
    const c = capture();
    const clock = fakeClock();
    const r = new PlainReporter(c.write, clock.now);
    r.emit(progress(10));
    clock.tick(5000);
    r.emit({ type: 'step', stage: 'test', message: 'boot: done' });
    r.emit(progress(100)); // the step ended the run above: this is a new one, of 0 s
    r.emit({ type: 'progress', id: 'n', label: 'unpacking 3 packages', done: 0, total: 3, unit: 'items' });
    clock.tick(1500);
    r.emit({ type: 'progress', id: 'n', label: 'unpacking 3 packages', done: 3, total: 3, unit: 'items' });
    expect(c.out.join('')).toBe('bootforge: test: boot: done\nbootforge: unpacking 3 packages: 3/3 in 1.5 s\n');
  });
});

describe('QuietReporter', () => {
  it('prints warnings only', () => {
    const c = capture();
    const r = new QuietReporter(c.write);
    r.emit({ type: 'step', stage: 'build', message: 'payload' });
    r.emit(progress(100));
    r.emit({ type: 'downloaded', name: 'x', size: 2048, cached: false, ms: 5 });
    r.emit({ type: 'warning', message: 'firmware missing' });
    r.close();
    expect(c.out.join('')).toBe('bootforge: warning: firmware missing\n');
  });
});
