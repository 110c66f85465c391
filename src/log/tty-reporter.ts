import type { BuildEvent, Reporter } from './events.js';
import { paint } from './paint.js';
import { amount, rate, type Clock, type Write } from './reporters.js';

export interface TtyOptions {
  /** The terminal's width now (it can change while a build runs). */
  readonly columns: () => number;
  readonly clock?: Clock;
  readonly color?: boolean;
}

interface Task {
  readonly label: string;
  readonly done: number;
  readonly total: number;
  readonly unit: 'bytes' | 'items';
  readonly started: number;
}

/** At most 10 redraws a second: a terminal over SSH keeps up, and the numbers stay readable. */
const REDRAW_MS = 100;
/** More live lines than this would push the steps off a small terminal. */
const MAX_LINES = 6;
const BAR = 20;

// Erase what the last draw left: back to its first line, then to the end of the screen.
const eraseLines = (n: number) => (n === 0 ? '' : `\r${n > 1 ? `\x1b[${n - 1}A` : ''}\x1b[J`);

const clock = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * A terminal: one live line per active task (downloads together on one), with a bar,
 * the amount, the rate and the time so far; redrawn at most every 100 ms, and erased
 * before a step, a warning or the command's own output is printed.
 */
export class TtyReporter implements Reporter {
  private readonly tasks = new Map<string, Task>();
  private readonly downloads = new Map<string, { bytes: number; total: number }>();
  /** Downloads counted when their last chunk came, so their 'downloaded' (if any) is not counted again. */
  private readonly counted = new Set<string>();
  private fetched = 0;
  private fetchedBytes = 0;
  private fetchStarted = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = 0;
  private readonly now: Clock;

  constructor(
    private readonly write: Write,
    private readonly options: TtyOptions,
  ) {
    this.now = options.clock ?? Date.now;
  }

  emit(event: BuildEvent): void {
    const now = this.now();
    switch (event.type) {
      case 'step':
        this.tasks.clear(); // a step ends the tasks before it (events.ts)
        this.print(`${this.paint('bold', event.stage)}: ${event.message}`);
        break;
      case 'warning':
        this.print(`${this.paint('yellow', 'warning')}: ${event.message}`);
        break;
      case 'download':
        if (event.total > 0 && event.bytes >= event.total) {
          // Complete: some fetches (repository indexes) send no 'downloaded' after it.
          if (this.downloads.delete(event.name) || !this.counted.has(event.name))
            this.fetchDone(event.name, event.total);
          break;
        }
        if (this.downloads.size === 0) this.fetchStarted = now;
        this.downloads.set(event.name, { bytes: event.bytes, total: event.total });
        break;
      case 'downloaded':
        this.downloads.delete(event.name);
        if (!this.counted.delete(event.name)) {
          this.fetched++;
          if (!event.cached) this.fetchedBytes += event.size;
        }
        break;
      case 'progress':
        if (event.total > 0 && event.done >= event.total) this.tasks.delete(event.id);
        else {
          const started = this.tasks.get(event.id)?.started ?? now;
          this.tasks.set(event.id, { ...event, started });
        }
        break;
    }
    if (now - this.lastDraw >= REDRAW_MS) this.draw(now);
  }

  close(): void {
    this.erase();
  }

  private fetchDone(name: string, size: number): void {
    this.counted.add(name);
    this.fetched++;
    this.fetchedBytes += size;
  }

  private paint(format: 'bold' | 'cyan' | 'yellow', text: string): string {
    return this.options.color ? paint(format, text) : text;
  }

  private print(line: string): void {
    this.write(`${eraseLines(this.drawn)}${line}\n`);
    this.drawn = 0;
  }

  private erase(): void {
    if (this.drawn > 0) this.write(eraseLines(this.drawn));
    this.drawn = 0;
  }

  private draw(now: number): void {
    this.lastDraw = now;
    const width = Math.max(20, this.options.columns() - 1);
    const rows: { label: string; bar: string; stats: string }[] = [];
    if (this.downloads.size > 0) {
      let bytes = this.fetchedBytes;
      let total = this.fetchedBytes;
      for (const d of this.downloads.values()) {
        bytes += d.bytes;
        total += d.total;
      }
      const label = `fetching (${this.fetched} done) ${[...this.downloads.keys()].join(' ')}`;
      rows.push(this.row(label, { done: bytes, total, unit: 'bytes', started: this.fetchStarted }, now));
    }
    for (const t of this.tasks.values()) rows.push(this.row(t.label, t, now));
    const shown = rows.slice(0, MAX_LINES);
    if (shown.length === 0 && this.drawn === 0) return;
    // Bars line up: every label gets the room the widest numbers leave.
    const fixed = Math.max(0, ...shown.map((r) => (r.bar ? r.bar.length + 1 : 0) + r.stats.length + 1));
    const room = width - fixed;
    const lines = shown.map((r) => {
      if (room < 8) return `${r.label} ${r.stats}`.slice(0, width);
      const name = r.label.length > room ? `${r.label.slice(0, room - 1)}…` : r.label.padEnd(room);
      return `${name} ${r.bar ? `${this.paint('cyan', r.bar)} ` : ''}${r.stats}`;
    });
    this.write(`${eraseLines(this.drawn)}${lines.join('\n')}`);
    this.drawn = lines.length;
  }

  /** `[#####---------]` and `25%  20.0 MiB / 80.0 MiB  9.5 MiB/s  0:02` of a task. */
  private row(label: string, t: Omit<Task, 'label'>, now: number): { label: string; bar: string; stats: string } {
    const ms = now - t.started;
    const known = t.total > 0;
    const fraction = known ? Math.min(1, t.done / t.total) : 0;
    const filled = Math.round(fraction * BAR);
    const bar = known ? `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}]` : '';
    const percent = known ? `${String(Math.floor(fraction * 100)).padStart(3)}%` : '';
    const speed = t.done > 0 ? rate(t.done, ms, t.unit) : '';
    const stats = [percent, amount(t), speed, clock(ms)].filter((s) => s !== '').join('  ');
    return { label, bar, stats };
  }
}
