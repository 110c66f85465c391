import { describe, expect, it } from 'vitest';
import { reporterFor } from '../../../src/cli/reporter.js';
import { useColor } from '../../../src/cli/report.js';
import { JsonReporter, PlainReporter, QuietReporter } from '../../../src/log/reporters.js';
import { TtyReporter } from '../../../src/log/tty-reporter.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, isTTY, columns: 80, write: (t: string) => (writes.push(t), true) };
}

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/;

describe('reporterFor', () => {
  it('picks JSON, quiet, live or plain from the flags and the stream', () => {
    const env = {};
    expect(reporterFor({ json: true }, { stderr: stream(true), env })).toBeInstanceOf(JsonReporter);
    expect(reporterFor({ json: true, quiet: true }, { stderr: stream(false), env })).toBeInstanceOf(JsonReporter);
    expect(reporterFor({ quiet: true }, { stderr: stream(true), env })).toBeInstanceOf(QuietReporter);
    expect(reporterFor({}, { stderr: stream(true), env })).toBeInstanceOf(TtyReporter);
    expect(reporterFor({}, { stderr: stream(false), env })).toBeInstanceOf(PlainReporter);
    // A terminal that cannot move the cursor gets plain lines.
    expect(reporterFor({}, { stderr: stream(true), env: { TERM: 'dumb' } })).toBeInstanceOf(PlainReporter);
  });

  it('writes to the given stream with the given clock', () => {
    const s = stream(false);
    const r = reporterFor({ json: true }, { stderr: s, env: {}, clock: () => 0 });
    r.emit({ type: 'warning', message: 'w' });
    expect(s.writes).toEqual(['{"time":"1970-01-01T00:00:00.000Z","type":"warning","message":"w"}\n']);
  });

  it('colours a terminal unless NO_COLOR has a value (an empty one does not count)', () => {
    const warnOn = (env: NodeJS.ProcessEnv, tty = true) => {
      const s = stream(tty);
      reporterFor({ quiet: true }, { stderr: s, env }).emit({ type: 'warning', message: 'w' });
      return s.writes.join('');
    };
    expect(warnOn({})).toMatch(SGR);
    expect(warnOn({ NO_COLOR: '' })).toMatch(SGR);
    expect(warnOn({ NO_COLOR: '1' })).not.toMatch(SGR);
    expect(warnOn({ NO_COLOR: '0' })).not.toMatch(SGR);
    expect(warnOn({}, false)).not.toMatch(SGR);
    expect(useColor({ isTTY: true }, { NO_COLOR: 'yes' })).toBe(false);
    expect(useColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(useColor({ isTTY: true }, {})).toBe(true);
  });
});
