import { isAbsolute, relative } from 'node:path';

/** How messages name a file: relative to the working directory when it lies below it. */
export function displayFile(file: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/**
 * A name from an input (a cpio entry, an ESP file, a package's path) made safe to print: control
 * characters, DEL, C1 controls and bidirectional overrides become escapes, so a hostile name can
 * neither move the cursor, recolour the terminal nor fake another line of output.
 */
export function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
