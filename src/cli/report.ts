import { readFileSync } from 'node:fs';
import { styleText } from 'node:util';
import { type BootforgeError, type SourceLoc } from '../errors/index.js';

export interface Style {
  readonly color: boolean;
}

/** Colour on a terminal only, and not when NO_COLOR is set to anything but '' (https://no-color.org) or TERM=dumb. */
export function useColor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
}

function paint(style: Style, format: Parameters<typeof styleText>[0], text: string): string {
  return style.color ? styleText(format, text) : text;
}

/** Hides the value at or after `start` (a secret must not reach logs), keeping a key before it. */
function redactValue(line: string, start: number): string {
  const key = /^[A-Za-z_$][\w$-]*:\s*/.exec(line.slice(start));
  const from = start + (key ? key[0].length : 0);
  return from >= line.length ? line : `${line.slice(0, from)}********`;
}

/** Two lines of context around the error, the line itself marked, the span underlined. */
export function codeFrame(loc: SourceLoc, style: Style): string {
  let lines: string[];
  try {
    lines = readFileSync(loc.file, 'utf8').split('\n');
  } catch {
    return '';
  }
  const first = Math.max(1, loc.line - 2);
  const last = Math.min(lines.length, loc.line + 1);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    let text = lines[n - 1] ?? '';
    if (n === loc.line && loc.redact) text = redactValue(text, loc.column - 1);
    const mark = n === loc.line ? '>' : ' ';
    out.push(`${mark} ${String(n).padStart(width)} | ${text}`.trimEnd());
    if (n === loc.line) {
      const len = loc.redact ? 8 : (loc.length ?? 1);
      out.push(
        `  ${' '.repeat(width)} | ${' '.repeat(loc.column - 1)}${paint(style, 'red', '^'.repeat(Math.max(1, len)))}`,
      );
    }
  }
  return out.join('\n');
}

export function formatError(error: BootforgeError, style: Style): string {
  const where = error.loc ? `${error.loc.file}:${error.loc.line}:${error.loc.column}: ` : '';
  const parts = [`${where}${paint(style, ['bold', 'red'], error.code)}: ${error.message}`];
  if (error.loc) {
    const frame = codeFrame(error.loc, style);
    if (frame) parts.push(frame);
  }
  if (error.hint) parts.push(`${paint(style, 'cyan', 'hint')}: ${error.hint}`);
  return parts.join('\n');
}

export function formatErrors(error: BootforgeError, style: Style): string {
  return [error, ...error.also].map((e) => formatError(e, style)).join('\n\n');
}
