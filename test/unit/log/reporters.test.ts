import { describe, expect, it } from 'vitest';
import { JsonReporter, PlainReporter, TtyReporter } from '../../../src/log/reporters.js';

function capture() {
  const out: string[] = [];
  return { out, write: (t: string) => void out.push(t) };
}

describe('reporters', () => {
  it('JSON: one parseable object a line, without per-chunk progress', () => {
    const c = capture();
    const r = new JsonReporter(c.write);
    r.emit({ type: 'step', stage: 'packages', message: 'bookworm verified' });
    r.emit({ type: 'download', name: 'x', bytes: 1, total: 2 });
    r.emit({ type: 'downloaded', name: 'x', size: 2, cached: false, ms: 5 });
    const lines = c.out
      .join('')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; time: string });
    expect(lines.map((l) => l.type)).toEqual(['step', 'downloaded']);
    expect(lines[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('plain: a line per step and per real download, none for cache hits or chunks', () => {
    const c = capture();
    const r = new PlainReporter(c.write);
    r.emit({ type: 'download', name: 'x', bytes: 1, total: 2 });
    r.emit({ type: 'downloaded', name: 'cached', size: 2, cached: true, ms: 0 });
    r.emit({ type: 'downloaded', name: 'x', size: 2048, cached: false, ms: 5 });
    r.emit({ type: 'warning', message: 'careful' });
    expect(c.out.join('')).toBe('bootforge: fetched x (2 KiB, 5 ms)\nbootforge: warning: careful\n');
  });

  it('terminal: redraws one line in place and clears it before other output', () => {
    const c = capture();
    const r = new TtyReporter(c.write, () => 60);
    r.emit({ type: 'download', name: 'kernel', bytes: 1024, total: 4096 });
    r.emit({ type: 'step', stage: 'packages', message: 'done' });
    const text = c.out.join('');
    expect(text.startsWith('\rfetching: 0 done, 1 KiB / 4 KiB kernel')).toBe(true);
    expect(text).toContain(`\r${' '.repeat(59)}\rpackages: done\n`);
    for (const line of text.split('\r')) expect(line.replace(/\n$/, '').length).toBeLessThanOrEqual(59);
  });
});
