import { formatSize } from '../schema/size.js';
import type { BuildEvent, Reporter } from './events.js';

type Write = (text: string) => void;

/** --json: one JSON object a line, with a timestamp, for CI logs and other programs. */
export class JsonReporter implements Reporter {
  constructor(private readonly write: Write) {}
  emit(event: BuildEvent): void {
    if (event.type === 'download' || event.type === 'progress') return; // per-chunk progress would flood a log
    this.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  }
  close(): void {}
}

/** Not a terminal: one plain line per finished step; no progress redraws. */
export class PlainReporter implements Reporter {
  constructor(private readonly write: Write) {}
  emit(event: BuildEvent): void {
    switch (event.type) {
      case 'step':
        this.write(`bootforge: ${event.stage}: ${event.message}\n`);
        break;
      case 'warning':
        this.write(`bootforge: warning: ${event.message}\n`);
        break;
      case 'downloaded':
        if (!event.cached) this.write(`bootforge: fetched ${event.name} (${formatSize(event.size)}, ${event.ms} ms)\n`);
        break;
      case 'download':
      case 'progress':
        break;
    }
  }
  close(): void {}
}

/** A terminal: a live line with the bytes downloaded so far, redrawn at most every 100 ms. */
export class TtyReporter implements Reporter {
  private readonly active = new Map<string, { bytes: number; total: number }>();
  private done = 0;
  private doneBytes = 0;
  private lastDraw = 0;
  private drawn = false;
  constructor(
    private readonly write: Write,
    private readonly columns: () => number,
  ) {}

  emit(event: BuildEvent): void {
    switch (event.type) {
      case 'step':
        this.clear();
        this.write(`${event.stage}: ${event.message}\n`);
        return;
      case 'warning':
        this.clear();
        this.write(`warning: ${event.message}\n`);
        return;
      case 'download':
        this.active.set(event.name, { bytes: event.bytes, total: event.total });
        break;
      case 'downloaded':
        this.active.delete(event.name);
        this.done++;
        this.doneBytes += event.size;
        break;
      case 'progress':
        return;
    }
    const now = Date.now();
    if (now - this.lastDraw >= 100 || this.active.size === 0) this.draw(now);
  }

  private draw(now: number): void {
    this.lastDraw = now;
    let bytes = this.doneBytes;
    let total = this.doneBytes;
    for (const a of this.active.values()) {
      bytes += a.bytes;
      total += a.total;
    }
    const names = [...this.active.keys()].join(' ');
    const line = `fetching: ${this.done} done, ${formatSize(bytes)} / ${formatSize(total)} ${names}`;
    this.write(`\r${line.slice(0, Math.max(10, this.columns() - 1)).padEnd(this.drawn ? this.columns() - 1 : 0)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.write(`\r${' '.repeat(Math.max(0, this.columns() - 1))}\r`);
    this.drawn = false;
  }

  close(): void {
    this.clear();
  }
}
