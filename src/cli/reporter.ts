import type { Command } from 'commander';
import type { Reporter } from '../log/events.js';
import { paint } from '../log/paint.js';
import { JsonReporter, PlainReporter, QuietReporter, type Clock } from '../log/reporters.js';
import { TtyReporter } from '../log/tty-reporter.js';
import { useColor } from './report.js';

/** The output flags every long-running command takes (see addOutputOptions). */
export interface OutputOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** Where progress goes: stderr by default; tests pass a fake terminal, an environment and a clock. */
export interface ReporterStreams {
  readonly stderr?: Pick<NodeJS.WriteStream, 'write'> & { readonly isTTY?: boolean; readonly columns?: number };
  readonly env?: NodeJS.ProcessEnv;
  readonly clock?: Clock;
}

/**
 * The one way a command shows progress, on stderr (its result goes to stdout):
 * --json: NDJSON events; --quiet: warnings only; a terminal: live progress lines;
 * anything else (a pipe, a log file, TERM=dumb): plain lines at step boundaries.
 * Colour only on a terminal and without NO_COLOR (https://no-color.org).
 */
export function reporterFor(options: OutputOptions, streams: ReporterStreams = {}): Reporter {
  const stream = streams.stderr ?? process.stderr;
  const env = streams.env ?? process.env;
  const write = (t: string) => void stream.write(t);
  const clock = streams.clock ?? Date.now;
  const color = useColor(stream, env);
  if (options.json) return new JsonReporter(write, clock);
  if (options.quiet) return new QuietReporter(write, color ? (t) => paint('yellow', t) : undefined);
  if (stream.isTTY === true && env.TERM !== 'dumb')
    return new TtyReporter(write, { columns: () => stream.columns || 80, clock, color });
  return new PlainReporter(write, clock);
}

/** --json and --quiet, worded the same on every command that runs long (build, test, flash, vm, ...). */
export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print the result as JSON on stdout; progress goes to stderr as JSON lines')
    .option('--quiet', 'print only the result, warnings and errors');
}
