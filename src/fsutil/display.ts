import { isAbsolute, relative } from 'node:path';

/** How messages name a file: relative to the working directory when it lies below it. */
export function displayFile(file: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
