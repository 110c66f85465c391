import { formatSize } from '../schema/size.js';
import type { BuildEvent, Reporter } from './events.js';

export type Write = (text: string) => void;
/** Milliseconds; injected so tests decide when time passes. */
export type Clock = () => number;

type ProgressEvent = Extract<BuildEvent, { type: 'progress' }>;

/** How much of a task is done, in its unit: "12.0 MiB / 80.0 MiB" or "3/9". */
export function amount(e: Pick<ProgressEvent, 'done' | 'total' | 'unit'>): string {
  if (e.unit === 'items') return e.total > 0 ? `${e.done}/${e.total}` : String(e.done);
  return e.total > 0 ? `${formatSize(e.done)} / ${formatSize(e.total)}` : formatSize(e.done);
}

/** Bytes a second as a size, or items a second. */
export function rate(done: number, ms: number, unit: ProgressEvent['unit']): string {
  if (ms <= 0) return '';
  const perSecond = (done * 1000) / ms;
  return unit === 'bytes' ? `${formatSize(Math.round(perSecond))}/s` : `${perSecond.toFixed(1)}/s`;
}

const isFinal = (e: ProgressEvent) => e.total > 0 && e.done >= e.total;

/**
 * --json: one JSON object a line, with a timestamp, for CI logs and other programs.
 * Progress and download events are kept to at most one every 500 ms per task, and the last one.
 */
export class JsonReporter implements Reporter {
  private readonly last = new Map<string, number>();
  constructor(
    private readonly write: Write,
    private readonly clock: Clock = Date.now,
  ) {}

  emit(event: BuildEvent): void {
    const now = this.clock();
    if (event.type === 'progress' || event.type === 'download') {
      const key = event.type === 'progress' ? `p:${event.id}` : `d:${event.name}`;
      const final = event.type === 'progress' ? isFinal(event) : event.total > 0 && event.bytes >= event.total;
      const previous = this.last.get(key);
      if (!final && previous !== undefined && now - previous < 500) return;
      if (final) this.last.delete(key);
      else this.last.set(key, now);
    }
    if (event.type === 'downloaded') this.last.delete(`d:${event.name}`);
    this.write(`${JSON.stringify({ time: new Date(now).toISOString(), ...event })}\n`);
  }
  close(): void {}
}

/**
 * Not a terminal (a log file, a pipe): one plain line per step, warning and real
 * download, and one when a task that ran a second or more finishes (its size, time and
 * rate); no redraws.
 */
export class PlainReporter implements Reporter {
  private readonly started = new Map<string, number>();
  constructor(
    private readonly write: Write,
    private readonly clock: Clock = Date.now,
  ) {}

  emit(event: BuildEvent): void {
    switch (event.type) {
      case 'step':
        // A step ends the tasks before it (events.ts): they print nothing more.
        this.started.clear();
        this.write(`bootforge: ${event.stage}: ${event.message}\n`);
        break;
      case 'warning':
        this.write(`bootforge: warning: ${event.message}\n`);
        break;
      case 'downloaded':
        if (!event.cached) this.write(`bootforge: fetched ${event.name} (${formatSize(event.size)}, ${event.ms} ms)\n`);
        break;
      case 'progress': {
        const now = this.clock();
        const start = this.started.get(event.id) ?? now;
        if (!isFinal(event)) {
          this.started.set(event.id, start);
          break;
        }
        this.started.delete(event.id);
        const ms = now - start;
        // A task that took less than a second is told by the steps around it.
        if (ms < 1000) break;
        const speed = event.unit === 'bytes' ? rate(event.done, ms, event.unit) : '';
        this.write(
          `bootforge: ${event.label}: ${amount(event)} in ${(ms / 1000).toFixed(1)} s${speed ? ` (${speed})` : ''}\n`,
        );
        break;
      }
      case 'download':
        break;
    }
  }
  close(): void {}
}

/** --quiet: warnings only (errors are the CLI's to print). */
export class QuietReporter implements Reporter {
  constructor(
    private readonly write: Write,
    private readonly paint: (text: string) => string = (t) => t,
  ) {}
  emit(event: BuildEvent): void {
    if (event.type === 'warning') this.write(`bootforge: ${this.paint('warning')}: ${event.message}\n`);
  }
  close(): void {}
}
