import { inspect } from 'node:util';

/**
 * SGR colour around text. Not util.styleText: since Node 20.19 it checks process.stdout,
 * and progress goes to stderr, which may be a terminal while stdout is a file.
 */
export function paint(format: 'bold' | 'cyan' | 'yellow', text: string): string {
  const [open, close] = inspect.colors[format] ?? [0, 0];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}
