import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/log/events.js';
import { TtyReporter } from '../../../src/log/tty-reporter.js';

/** A fake terminal: every write kept apart, so a test counts redraws. */
function terminal(columns = 60) {
  const writes: string[] = [];
  let now = 0;
  return {
    writes,
    tick: (ms: number) => void (now += ms),
    reporter: (color = false) =>
      new TtyReporter((t) => void writes.push(t), { columns: () => columns, clock: () => now, color }),
  };
}

const progress = (id: string, done: number, total: number, unit: 'bytes' | 'items' = 'bytes'): BuildEvent => ({
  type: 'progress',
  id,
  label: `task ${id}`,
  done,
  total,
  unit,
});

// What is visible of a draw: control sequences removed.
// eslint-disable-next-line no-control-regex
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]|\r/g, '');
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/;

describe('TtyReporter', () => {
  it('redraws at most 10 times a second however many events come', () => {
    const t = terminal();
    const r = t.reporter();
    for (let i = 0; i < 1000; i++) {
      r.emit(progress('a', i, 1000));
      t.tick(2); // 500 events a second for 2 s
    }
    expect(t.writes.length).toBeGreaterThanOrEqual(19);
    expect(t.writes.length).toBeLessThanOrEqual(20);
  });

  it('draws one line per active task with a bar, percent, amount, rate and time, within the width', () => {
    const t = terminal(72);
    const r = t.reporter();
    r.emit(progress('a', 0, 8 * 1024 * 1024));
    t.tick(2000);
    r.emit(progress('b', 3, 9, 'items'));
    t.tick(100);
    r.emit(progress('a', 4 * 1024 * 1024, 8 * 1024 * 1024));
    const last = t.writes.at(-1) ?? '';
    const lines = visible(last).split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^task a +\[##########----------\] {2}50% {2}4 MiB \/ 8 MiB {2}1\.9 MiB\/s {2}0:02$/),
      expect.stringMatching(/^task b +\[#######-------------\] {2}33% {2}3\/9 {2}30\.0\/s {2}0:00$/),
    ]);
    expect(Math.max(...lines.map((l) => l.length))).toBe(71);
    expect(lines[0]?.indexOf('[')).toBe(lines[1]?.indexOf('[')); // the bars line up
    // The next draw first goes back up over both lines and erases them.
    t.tick(100);
    r.emit(progress('b', 4, 9, 'items'));
    expect(t.writes.at(-1)?.startsWith('\r\x1b[1A\x1b[J')).toBe(true);
  });

  it('cuts a long label to the width, not the numbers', () => {
    const t = terminal(50);
    const r = t.reporter();
    r.emit({ type: 'progress', id: 'x', label: 'y'.repeat(200), done: 1, total: 2, unit: 'items' });
    const line = visible(t.writes.at(-1) ?? '');
    expect(line.length).toBe(49);
    expect(line).toMatch(/… \[#{10}-{10}\] {2}50% {2}1\/2 {2}0:00$/);
  });

  it('erases the live lines before a step or warning and when closed', () => {
    const t = terminal();
    const r = t.reporter();
    r.emit(progress('a', 1, 10));
    r.emit({ type: 'step', stage: 'build', message: 'image' });
    expect(t.writes.at(-1)).toBe('\r\x1b[Jbuild: image\n');
    t.tick(100);
    r.emit(progress('a', 2, 10));
    r.emit({ type: 'warning', message: 'careful' });
    expect(t.writes.at(-1)).toBe('\r\x1b[Jwarning: careful\n'); // task a went on after the step
    r.emit(progress('c', 1, 10));
    t.tick(100);
    r.emit(progress('c', 2, 10));
    r.close();
    expect(t.writes.at(-1)).toBe('\r\x1b[1A\x1b[J'); // tasks a and c: two lines
  });

  it('drops a finished task from the display', () => {
    const t = terminal();
    const r = t.reporter();
    r.emit(progress('a', 1, 10));
    r.emit(progress('b', 1, 10));
    t.tick(100);
    r.emit(progress('a', 10, 10));
    expect(visible(t.writes.at(-1) ?? '')).toMatch(/^task b /);
  });

  it('shows downloads together on one line and forgets it when they are done', () => {
    const t = terminal(80);
    const r = t.reporter();
    r.emit({ type: 'download', name: 'linux-image', bytes: 1024, total: 4096 });
    expect(visible(t.writes.at(-1) ?? '')).toMatch(
      /^fetching \(0 done\) linux-image +\[#####-+\] {2}25% {2}1 KiB \/ 4 KiB/,
    );
    t.tick(100);
    r.emit({ type: 'downloaded', name: 'linux-image', size: 4096, cached: false, ms: 100 });
    expect(t.writes.at(-1)).toBe('\r\x1b[J');
    // A download whose last chunk is its only end (no 'downloaded') is done too.
    t.tick(100);
    r.emit({ type: 'download', name: 'InRelease', bytes: 10, total: 20 });
    t.tick(100);
    r.emit({ type: 'download', name: 'InRelease', bytes: 20, total: 20 });
    expect(t.writes.at(-1)).toBe('\r\x1b[J');
    t.tick(100);
    r.emit({ type: 'download', name: 'kernel', bytes: 1, total: 20 });
    expect(visible(t.writes.at(-1) ?? '')).toMatch(/^fetching \(2 done\) kernel /);
  });

  it('colours only when told to', () => {
    const plain = terminal();
    const r1 = plain.reporter(false);
    r1.emit(progress('a', 1, 10));
    r1.emit({ type: 'warning', message: 'w' });
    expect(plain.writes.join('')).not.toMatch(SGR);
    const colour = terminal();
    const r2 = colour.reporter(true);
    r2.emit(progress('a', 1, 10));
    r2.emit({ type: 'warning', message: 'w' });
    expect(colour.writes.join('')).toMatch(SGR);
  });
});
